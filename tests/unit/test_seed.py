"""The seed format: its JSON Schema is generated from the models and names bad fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cashier_local.seed import DEFAULT_SEED, SCHEMA_PATH, SeedError, read_seed, seed_json_schema


def test_the_committed_schema_is_generated_from_the_models() -> None:
    assert json.loads(SCHEMA_PATH.read_text()) == seed_json_schema(), (
        "run `python -m cashier_local.seed`"
    )


def test_the_default_seed_demonstrates_what_the_issue_asks_for() -> None:
    seed = read_seed()
    assert len(seed.brands) == 2
    assert len({c.country for c in seed.customers}) >= 3
    assert any(not c.deposit_allowed for c in seed.customers)
    assert any(
        c.crm_overrides.disabled_methods or c.crm_overrides.enabled_methods for c in seed.customers
    )
    assert {a.currency for a in seed.accounts} >= {"USD", "EUR", "JPY"}
    assert {c.provider for c in seed.provider_configs} == {
        "sandbox",
        "stripe",
        "adyen",
        "bank_wire",
    }
    assert all("generate" in json.dumps(doc) for doc in seed.secrets.values()), (
        "no secret values in the repo"
    )


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda s: s["customers"][0].update(country="Germany"), "data.customers[0].country"),
        (lambda s: s["accounts"][0].update(balance="10.001"), "data.accounts[0]"),
        (
            lambda s: s["provider_configs"][0].update(settings={"api_secret": "x"}),
            "data.provider_configs[0]",
        ),
        (lambda s: s.update(unexpected=[]), "data"),
    ],
)
def test_a_bad_seed_names_the_bad_field(tmp_path: Path, change: object, where: str) -> None:
    seed = json.loads(DEFAULT_SEED.read_text())
    change(seed)  # type: ignore[operator]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    with pytest.raises(
        SeedError, match=r"seed\.json: " + where.replace("[", r"\[").replace("]", r"\]")
    ):
        read_seed(path)
