"""README's generated sections match the code they describe."""

from __future__ import annotations

from cashier_local import docs


def test_readme_transition_table_is_generated_from_the_code() -> None:
    readme = docs.README.read_text()
    assert "<!-- transitions:start -->" in readme
    assert docs.render(readme) == readme, "run `python -m cashier_local.docs`"
