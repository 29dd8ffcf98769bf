#!/usr/bin/env bash
# The headless-browser e2e test drives Debian's Chromium (/usr/bin/chromium) with
# Playwright; Playwright's own browser download cannot reach its servers here, so
# the browser comes from apt. CI runs as root on a fresh machine: install it there.
set -euo pipefail
CHROMIUM=${CASHIER_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "Chromium is missing ($CHROMIUM) and installing it needs root:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
	exit 1
fi
echo "installing Chromium from Debian's packages for the browser test (apt-get, about a minute)"
export DEBIAN_FRONTEND=noninteractive
# Other apt users on the machine: wait for dpkg's lock rather than fail.
apt-get -o DPkg::Lock::Timeout=300 update -qq
# A font, or a minimal Debian renders the page's text as empty boxes.
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
	chromium fonts-dejavu-core >/dev/null
test -x "$CHROMIUM" || { echo "apt-get installed chromium but $CHROMIUM is missing" >&2; exit 1; }
