from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import REGION
from tests.support.aws import LocalAws, local_aws


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    """moto with the template's resources; after the test, every account's
    balance must equal the sum of its ledger entries."""
    with local_aws(monkeypatch, REGION) as local:
        yield local
        local.assert_balances_match_ledgers()
