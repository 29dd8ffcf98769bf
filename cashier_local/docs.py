"""Generated parts of README.md, so the docs cannot drift from the code.

`python -m cashier_local.docs` rewrites them; a unit test fails when they are stale.
"""

from __future__ import annotations

import importlib
import re
import sys

from cashier_core.errors import CashierError
from cashier_core.signals import EFFECT_MEANINGS, ProviderEffect
from cashier_core.statuses import (
    ALLOWED_SOURCES,
    INITIAL_STATUS,
    OPERATOR_ONLY,
    REASON_MEANINGS,
    PublicReason,
    Status,
    TransactionType,
)
from cashier_local.template import REPO_ROOT

README = REPO_ROOT / "README.md"
_TRANSITIONS = re.compile(
    r"(<!-- transitions:start -->\n).*?(<!-- transitions:end -->)", flags=re.DOTALL
)
_REASONS = re.compile(r"(<!-- reasons:start -->\n).*?(<!-- reasons:end -->)", flags=re.DOTALL)
_ERRORS = re.compile(r"(<!-- errors:start -->\n).*?(<!-- errors:end -->)", flags=re.DOTALL)
_PROVIDER_EVENTS = re.compile(
    r"(<!-- provider-events:start -->\n).*?(<!-- provider-events:end -->)", flags=re.DOTALL
)
# The modules whose event tables the README shows (bank_wire has no webhook).
EVENT_MODULES = ("stripe", "adyen", "sandbox")


def _all_errors() -> list[type[CashierError]]:
    found: list[type[CashierError]] = []
    pending: list[type[CashierError]] = [CashierError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "code" in vars(cls) and cls is not CashierError and cls.sent_to_caller:
            found.append(cls)
    return found


def error_table() -> str:
    rows = sorted((cls.http_status, cls.code, cls.default_message) for cls in _all_errors())
    lines = ["| HTTP | code | meaning |", "|---|---|---|"]
    lines += [f"| {status} | `{code}` | {message} |" for status, code, message in rows]
    return "\n".join(lines) + "\n"


def transition_table() -> str:
    lines = []
    for transaction_type in TransactionType:
        table = ALLOWED_SOURCES[transaction_type]
        initial = INITIAL_STATUS[transaction_type]
        lines += [
            f"**{transaction_type.value.capitalize()}s** start in "
            f"`{int(initial)} {initial.api_name}`.",
            "",
            "| target | may be entered from |",
            "|---|---|",
        ]
        for target in Status:
            sources = table[target]
            entered_from = (
                ", ".join(
                    f"`{int(s)} {s.api_name}`"
                    + (
                        " (BackOffice only)"
                        if (s, target) in OPERATOR_ONLY[transaction_type]
                        else ""
                    )
                    for s in sorted(sources)
                )
                if sources
                else "—"
            )
            lines.append(f"| `{int(target)} {target.api_name}` | {entered_from} |")
        lines.append("")
    return "\n".join(lines)


def reason_table() -> str:
    lines = ["| code | what the customer is told |", "|---|---|"]
    lines += [f"| `{reason.value}` | {REASON_MEANINGS[reason]} |" for reason in PublicReason]
    return "\n".join(lines) + "\n"


def provider_event_tables() -> str:
    """Per module, every event it maps and its effect, from the module's own EVENTS."""
    lines = [
        "| effect | what it does to a deposit |",
        "|---|---|",
        *(f"| `{effect.value}` | {EFFECT_MEANINGS[effect]} |" for effect in ProviderEffect),
        "",
    ]
    for name in EVENT_MODULES:
        module = importlib.import_module(f"cashier_providers.{name}")
        lines += [f"**{name}**", "", "| event | when | effect | detail |", "|---|---|---|---|"]
        for rule in module.EVENTS:
            effect = f"`{rule.effect.value}`" if rule.effect else "acknowledged, nothing stored"
            lines.append(f"| `{rule.event}` | {rule.when or '—'} | {effect} | {rule.detail} |")
        lines += ["", "Any other event is acknowledged and not stored.", ""]
    return "\n".join(lines)


def render(readme: str) -> str:
    readme = _PROVIDER_EVENTS.sub(
        lambda m: m.group(1) + provider_event_tables() + m.group(2), readme
    )
    readme = _TRANSITIONS.sub(lambda m: m.group(1) + transition_table() + m.group(2), readme)
    readme = _REASONS.sub(lambda m: m.group(1) + reason_table() + m.group(2), readme)
    return _ERRORS.sub(lambda m: m.group(1) + error_table() + m.group(2), readme)


def main() -> int:
    current = README.read_text()
    README.write_text(render(current))
    return 0


if __name__ == "__main__":
    sys.exit(main())
