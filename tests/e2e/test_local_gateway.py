"""The local gateway answers only requests addressed to itself (DNS-rebinding defence)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from cashier_local.stack import DEV_PRINCIPAL_EXAMPLE
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e


def port_of(stack: LocalStack) -> int:
    port = urlsplit(stack.http.base_url).port
    assert port is not None
    return port


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_the_stacks_own_loopback_address_and_port_are_served(stack: LocalStack, host: str) -> None:
    answer = stack.http.get("/_local/resources", headers={"Host": host.format(port=port_of(stack))})
    assert answer.status == 200
    assert answer.json()["api_url"] == stack.http.base_url


@pytest.mark.parametrize(
    "host",
    [
        "rebind.attacker.example:{port}",  # a DNS-rebinding page's own name
        "rebind.attacker.example",
        "127.0.0.1:{other}",  # another port: a tunnel or proxy in front of us
        "localhost",
        "127.0.0.1.nip.io:{port}",
        "[::1]:{port}",
        "",
    ],
)
@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/_local/resources", {}),
        ("/backoffice/withdrawals", {"X-Cashier-Dev-Principal": DEV_PRINCIPAL_EXAMPLE}),
        ("/cashier/transactions", {"Authorization": "Bearer demo-alice-local-session-0001"}),
    ],
)
def test_a_request_addressed_to_another_host_is_refused_before_any_route(
    stack: LocalStack, host: str, path: str, headers: dict[str, str]
) -> None:
    port = port_of(stack)
    answer = stack.http.get(
        path, headers={**headers, "Host": host.format(port=port, other=port + 1)}
    )
    assert answer.status == 403
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.code == "host_not_allowed"
    assert "session" not in answer.body.decode()
    assert f"127.0.0.1:{port}" in answer.json()["error"]["message"]
