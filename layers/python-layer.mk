# The build recipe both layers share (template.yaml: BuildMethod makefile).
# sam build runs `make build-<LayerId>` in a scratch copy of the layer's
# ContentUri, with ARTIFACTS_DIR set; Lambda mounts the result at /opt.
#
# Why not SAM's python builder: it ships no bytecode, and /opt is read-only,
# so Python would compile every module of Powertools and pydantic from source
# on each cold start (~200 ms; docs/benchmarks.md). Here the wheels come for
# the runtime's platform exactly as SAM fetches them, and everything is
# compiled with unchecked-hash pycs: the layer never changes once built, so
# no source check is needed, and mtimes lost in the zip cannot invalidate them.
LAYER_PYTHON ?= python3.13
LAYER_SITE := $(ARTIFACTS_DIR)/python

# $(1): the package folder of ours that the layer carries.
define build-python-layer
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: run sam build"; exit 2; }
	$(LAYER_PYTHON) -m pip install --quiet --disable-pip-version-check --no-compile \
		--platform manylinux2014_aarch64 --implementation cp --python-version 3.13 \
		--only-binary=:all: --target "$(LAYER_SITE)" -r requirements.txt
	cp -R $(1) requirements.txt "$(LAYER_SITE)/"
	find "$(LAYER_SITE)" -name __pycache__ -type d -prune -exec rm -rf {} +
	$(LAYER_PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(LAYER_SITE)"
endef
