"""CASHIER_PARAMETERS sets template parameters for the local stack."""

from __future__ import annotations

import pytest

from cashier_local import template
from cashier_local.stack import parameter_overrides

DECLARED = template.load_template()["Parameters"]


def test_overrides_are_name_value_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASHIER_PARAMETERS", "DepositsPerCustomerPerMinute=100,RunbookUrl=a=b")
    assert parameter_overrides(DECLARED) == {
        "DepositsPerCustomerPerMinute": "100",
        "RunbookUrl": "a=b",
    }


def test_none_set_means_the_template_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASHIER_PARAMETERS", raising=False)
    assert parameter_overrides(DECLARED) == {}


def test_a_name_the_template_does_not_declare_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CASHIER_PARAMETERS", "DepositsPerMinute=100")
    with pytest.raises(SystemExit, match="no parameter DepositsPerMinute"):
        parameter_overrides(DECLARED)
