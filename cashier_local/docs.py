"""Generated parts of README.md, so the docs cannot drift from the code.

`python -m cashier_local.docs` rewrites them; a unit test fails when they are stale.
"""

from __future__ import annotations

import re
import sys

from cashier_core.statuses import ALLOWED_SOURCES, INITIAL_STATUS, Status, TransactionType
from cashier_local.template import REPO_ROOT

README = REPO_ROOT / "README.md"
_BLOCK = re.compile(r"(<!-- transitions:start -->\n).*?(<!-- transitions:end -->)", flags=re.DOTALL)


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
                ", ".join(f"`{int(s)} {s.api_name}`" for s in sorted(sources)) if sources else "—"
            )
            lines.append(f"| `{int(target)} {target.api_name}` | {entered_from} |")
        lines.append("")
    return "\n".join(lines)


def render(readme: str) -> str:
    return _BLOCK.sub(lambda m: m.group(1) + transition_table() + m.group(2), readme)


def main() -> int:
    current = README.read_text()
    README.write_text(render(current))
    return 0


if __name__ == "__main__":
    sys.exit(main())
