"""The four customer endpoints through their real handlers, against moto and the
default seed: each check allowed and refused, and other customers' ids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cashier_core.models import LedgerKind
from cashier_core.sessions import SESSION_CUSTOMER, hash_session_token
from cashier_core.statuses import Status
from cashier_local.events import api_event, authorizer_context
from tests.support.customer_api import CustomerApi
from tests.support.lambdas import invoke, load_function, reply, sample_event
from tests.support.lifecycle import Lifecycle

ALICE, BOB, CAROL, ERIN, MALLORY = "cus-alice", "cus-bob", "cus-carol", "cus-erin", "cus-mallory"
USD_DEPOSIT = {
    "account_id": "acc-alice-usd",
    "method_id": "card-sandbox",
    "amount": "25.00",
    "currency": "USD",
}


def error_code(body: dict) -> str:
    return body["error"]["code"]


# ------------------------------------------------------------ methods ---
def test_sample_methods_event_lists_alices_usd_methods_with_reasons(api: CustomerApi) -> None:
    status, body = reply(
        api.raw("GetCashierMethodsFunction", sample_event("get_cashier_methods.json"))
    )
    assert status == 200
    assert body["deposit_allowed"] is True
    assert [m["method_id"] for m in body["methods"]] == [
        "card-adyen",
        "card-sandbox",
        "card-stripe",
    ]
    sandbox = next(m for m in body["methods"] if m["method_id"] == "card-sandbox")
    assert sandbox == {
        "method_id": "card-sandbox", "provider": "sandbox", "display_name": "Card (sandbox)",
        "currency": "USD", "min_amount": "10.00", "max_amount": "5000.00", "redirects": True,
        "pays_out": True,
    }  # fmt: skip
    [excluded] = body["excluded"]
    assert (excluded["method_id"], excluded["reason"]) == ("wire-eur", "currency_unsupported")


def test_a_disabled_config_is_excluded_and_crm_force_enable_readmits_it(api: CustomerApi) -> None:
    _, alice = api.methods(ALICE, "acc-alice-eur", explain=True)
    assert {"method_id": "wire-eur", "reason": "method_disabled"}.items() <= alice["excluded"][
        0
    ].items()
    _, carol = api.methods(CAROL, "acc-carol-eur", explain=True)
    wire = next(m for m in carol["methods"] if m["method_id"] == "wire-eur")
    assert wire["redirects"] is False


def test_crm_force_disable_and_limit_overrides_apply(api: CustomerApi) -> None:
    _, carol = api.methods(CAROL, "acc-carol-eur", explain=True)
    assert {"method_id": "card-adyen", "reason": "disabled_by_crm"}.items() <= next(
        e for e in carol["excluded"] if e["method_id"] == "card-adyen"
    ).items()
    sandbox = next(m for m in carol["methods"] if m["method_id"] == "card-sandbox")
    assert (sandbox["min_amount"], sandbox["max_amount"]) == ("5.00", "50.00")


def test_country_rules_exclude_and_force_enable_cannot_override_them(api: CustomerApi) -> None:
    customers = api.aws.customers()
    carol = customers.get(CAROL)
    customers.put(carol.model_copy(update={"country": "RU"}))
    _, body = api.methods(CAROL, "acc-carol-eur", explain=True)
    reasons = {e["method_id"]: e["reason"] for e in body["excluded"]}
    assert reasons["card-stripe"] == "country_blocked"
    assert reasons["card-adyen"] == "country_not_allowed"
    assert reasons["wire-eur"] == "country_not_allowed"  # force-enabled, still out


def test_a_config_whose_module_is_not_loaded_never_shows(
    api: CustomerApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOADED_PROVIDERS", "sandbox,bank_wire")
    _, body = api.methods(ALICE, "acc-alice-usd", explain=True)
    assert [m["method_id"] for m in body["methods"]] == ["card-sandbox"]
    reasons = {e["method_id"]: e["reason"] for e in body["excluded"]}
    assert reasons == {
        "card-adyen": "module_not_loaded",
        "card-stripe": "module_not_loaded",
        "wire-eur": "currency_unsupported",
    }


def test_deposit_not_allowed_is_reported_not_failed(api: CustomerApi) -> None:
    status, body = api.methods(BOB, "acc-bob-usd")
    assert status == 200
    assert body["deposit_allowed"] is False
    assert body["methods"] == []


def test_another_customers_account_answers_exactly_like_a_missing_one(api: CustomerApi) -> None:
    foreign = api.methods(ALICE, "acc-mallory-usd")
    missing = api.methods(ALICE, "acc-does-not-exist")
    assert foreign == missing
    assert foreign[0] == 404
    assert error_code(foreign[1]) == "account_not_found"


def test_methods_without_explain_do_not_list_exclusions(api: CustomerApi) -> None:
    _, body = api.methods(ALICE, "acc-alice-usd")
    assert body.get("excluded") is None


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ([("account_id", "acc-alice-usd"), ("customer_id", "cus-mallory")], "unknown_field"),
        ([], "validation_error"),
        ([("account_id", "acc-alice-usd"), ("explain", "maybe")], "validation_error"),
        ([("account_id", "x" * 500)], "validation_error"),
    ],
)
def test_bad_method_queries_are_refused_with_a_code(
    api: CustomerApi, query: list, code: str
) -> None:
    status, body = api.call("GetCashierMethodsFunction", ALICE, query=query)
    assert 400 <= status < 500
    assert error_code(body) == code


def test_no_authorizer_context_is_401(api: CustomerApi) -> None:
    status, body = api.call(
        "GetCashierMethodsFunction", None, query=[("account_id", "acc-alice-usd")]
    )
    assert (status, error_code(body)) == (401, "unauthorized")


# ------------------------------------------------------------ deposit ---
def test_sample_deposit_event_creates_a_pending_sandbox_payment(api: CustomerApi) -> None:
    event = sample_event("create_cashier_deposit.json")
    status, body = reply(api.raw("CreateCashierDepositFunction", event))
    assert status == 201, body
    transaction = body["transaction"]
    assert (transaction["status"], transaction["status_name"]) == (1, "pending_payment")
    assert transaction["amount"] == "25.00"
    assert transaction["provider_reference"].startswith("sbx_")
    assert body["redirect_url"].startswith("http://127.0.0.1:3000/_sandbox/pay/sbx_")
    [stored] = api.transactions_of(ALICE)
    assert stored.status is Status.PENDING_PAYMENT
    assert [c.status for c in stored.history] == [Status.CREATED, Status.PENDING_PAYMENT]

    # The same key and body replays the first answer; nothing new is written.
    assert reply(api.raw("CreateCashierDepositFunction", event)) == (status, body)
    assert len(api.transactions_of(ALICE)) == 1


def test_the_same_key_with_another_body_is_refused(api: CustomerApi) -> None:
    assert api.deposit(ALICE, USD_DEPOSIT, key="reused-key-001")[0] == 201
    status, body = api.deposit(ALICE, {**USD_DEPOSIT, "amount": "26.00"}, key="reused-key-001")
    assert (status, error_code(body)) == (422, "idempotency_key_reused")
    assert len(api.transactions_of(ALICE)) == 1


def test_the_same_key_from_another_customer_is_another_request(api: CustomerApi) -> None:
    assert api.deposit(ALICE, USD_DEPOSIT, key="shared-key-0001")[0] == 201
    mallory = {**USD_DEPOSIT, "account_id": "acc-mallory-usd"}
    assert api.deposit(MALLORY, mallory, key="shared-key-0001")[0] == 201


def test_deposit_gate_comes_before_every_other_check(api: CustomerApi) -> None:
    status, body = api.deposit(
        BOB, {**USD_DEPOSIT, "account_id": "acc-mallory-usd", "method_id": "nope"}
    )
    assert (status, error_code(body)) == (403, "deposits_not_allowed")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"account_id": "acc-mallory-usd"}, 404, "account_not_found"),
        ({"account_id": "acc-nope"}, 404, "account_not_found"),
        ({"currency": "EUR"}, 422, "account_currency_mismatch"),
        ({"currency": "XYZ"}, 422, "currency_unknown"),
        ({"method_id": "wire-eur"}, 422, "method_not_available"),
        ({"method_id": "card-unknown"}, 422, "method_not_available"),
        ({"amount": "abc"}, 422, "amount_invalid_format"),
        ({"amount": 25.5}, 422, "amount_not_a_string"),
        ({"amount": "1e3"}, 422, "amount_exponent_not_allowed"),
        ({"amount": "NaN"}, 422, "amount_not_finite"),
        ({"amount": "-25.00"}, 422, "amount_negative"),
        ({"amount": "0"}, 422, "amount_zero"),
        ({"amount": "25.001"}, 422, "amount_too_precise"),
        ({"amount": "1" + "0" * 30}, 422, "amount_too_large"),
        ({"amount": "9.99"}, 422, "amount_below_minimum"),
        ({"amount": "5000.01"}, 422, "amount_above_maximum"),
        ({"customer_id": MALLORY}, 422, "unknown_field"),
        ({"status": 3}, 422, "unknown_field"),
        ({"provider_reference": "x"}, 422, "unknown_field"),
        ({"return_url": "javascript:alert(1)"}, 422, "return_url_invalid"),
        ({"return_url": "data:text/html,hi"}, 422, "return_url_invalid"),
        ({"return_url": "//evil.example/x"}, 422, "return_url_invalid"),
        ({"return_url": "http://alpha.example/x"}, 422, "return_url_invalid"),
        ({"return_url": "https://evil.example/x"}, 422, "return_url_invalid"),
        ({"return_url": "https://alpha.example.evil.example/"}, 422, "return_url_invalid"),
        ({"return_url": "https://user:pw@alpha.example/"}, 422, "return_url_invalid"),
        ({"return_url": "https://alpha.example@evil.example/"}, 422, "return_url_invalid"),
        ({"return_url": "https://127.0.0.1/return"}, 422, "return_url_invalid"),
        ({"return_url": "https://[::1]/return"}, 422, "return_url_invalid"),
        ({"return_url": "https://alpha.example:8443/"}, 422, "return_url_invalid"),
        ({"return_url": "https://alpha.example\\@evil.example/"}, 422, "return_url_invalid"),
        ({"return_url": "https://xn--lpha-1ta.example/"}, 422, "return_url_invalid"),
    ],
)
def test_each_refused_deposit_has_its_code_and_writes_nothing(
    api: CustomerApi, change: dict, status: int, code: str
) -> None:
    got_status, body = api.deposit(ALICE, {**USD_DEPOSIT, **change})
    assert (got_status, error_code(body)) == (status, code)
    assert api.transactions_of(ALICE) == []


@pytest.mark.parametrize("url", ["https://alpha.example/return", "https://pay.alpha.example/r?x=1"])
def test_return_urls_on_the_brands_hosts_are_accepted(api: CustomerApi, url: str) -> None:
    status, body = api.deposit(ALICE, {**USD_DEPOSIT, "return_url": url})
    assert status == 201, body


def test_crm_limits_replace_the_configs(api: CustomerApi) -> None:
    carol = {"account_id": "acc-carol-eur", "method_id": "card-sandbox", "currency": "EUR"}
    assert error_code(api.deposit(CAROL, {**carol, "amount": "50.01"})[1]) == "amount_above_maximum"
    assert api.deposit(CAROL, {**carol, "amount": "50.00"})[0] == 201


@pytest.mark.parametrize(
    ("raw_body", "status", "code"),
    [
        ("{not json", 400, "malformed_json"),
        ("[1, 2]", 422, "validation_error"),
        ("", 422, "validation_error"),
        ('{"account_id": "' + "x" * 20000 + '"}', 413, "body_too_large"),
    ],
)
def test_malformed_and_oversized_bodies_are_4xx(
    api: CustomerApi, raw_body: str, status: int, code: str
) -> None:
    got = api.deposit(ALICE, raw_body)
    assert (got[0], error_code(got[1])) == (status, code)
    assert api.transactions_of(ALICE) == []


@pytest.mark.parametrize("key", ["", "short", "has spaces in it", "x" * 129])
def test_a_missing_or_bad_idempotency_key_is_refused(api: CustomerApi, key: str) -> None:
    status, body = api.deposit(ALICE, USD_DEPOSIT, key=key)
    assert (status, error_code(body)) == (400, "idempotency_key_required")


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [("16.66", 502, "provider_unavailable"), ("14.03", 422, "provider_refused")],
)
def test_a_provider_failure_fails_the_transaction_and_replays(
    api: CustomerApi, amount: str, status: int, code: str
) -> None:
    first = api.deposit(ALICE, {**USD_DEPOSIT, "amount": amount}, key="provider-fail-01")
    assert (first[0], error_code(first[1])) == (status, code)
    assert first[1]["transaction"]["status_name"] == "failed"
    [stored] = api.transactions_of(ALICE)
    assert stored.status is Status.FAILED
    assert code in stored.history[-1].reason
    assert api.deposit(ALICE, {**USD_DEPOSIT, "amount": amount}, key="provider-fail-01") == first


def test_a_bank_wire_deposit_returns_instructions_and_no_redirect(api: CustomerApi) -> None:
    status, body = api.deposit(
        CAROL,
        {
            "account_id": "acc-carol-eur",
            "method_id": "wire-eur",
            "amount": "100.00",
            "currency": "EUR",
        },
    )
    assert status == 201, body
    assert body["redirect_url"] is None
    instructions = body["instructions"]
    assert instructions["reference"].startswith("BW-")
    assert (instructions["amount"], instructions["currency"]) == ("100.00", "EUR")
    assert instructions["iban"] == "DE89370400440532013000"


def test_a_deposit_left_in_created_by_a_crash_is_resumed_by_the_retry(api: CustomerApi) -> None:
    from cashier_core.clock import utc_now
    from cashier_core.models import new_transaction
    from cashier_core.request_ids import transaction_id_for_request
    from cashier_core.statuses import TransactionType

    crashed = new_transaction(
        transaction_id=transaction_id_for_request(TransactionType.DEPOSIT, ALICE, "crash-retry-0001"),
        transaction_type=TransactionType.DEPOSIT,
        customer_id=ALICE, account_id="acc-alice-usd", brand_id="brand-alpha",
        method_id="card-sandbox", provider="sandbox", amount=Decimal("25.00"), currency="USD",
        source="customer", reason="deposit requested", at=utc_now(),
    )  # fmt: skip
    api.aws.transactions().create(crashed)
    status, body = api.deposit(ALICE, USD_DEPOSIT, key="crash-retry-0001")
    assert status == 201
    assert body["transaction"]["transaction_id"] == crashed.transaction_id
    assert body["transaction"]["status_name"] == "pending_payment"
    assert len(api.transactions_of(ALICE)) == 1


# --------------------------------------------------------- withdrawal ---
def test_sample_withdrawal_event_holds_the_funds_for_backoffice(api: CustomerApi) -> None:
    event = sample_event("create_cashier_withdrawal.json")
    status, body = reply(api.raw("CreateCashierWithdrawalFunction", event))
    assert status == 201, body
    assert (body["transaction"]["status"], body["transaction"]["status_name"]) == (
        9,
        "manual_review",
    )
    assert api.aws.accounts().get("acc-alice-usd").balance == Decimal("70.00")
    kinds = [e.kind for e in api.aws.accounts().ledger("acc-alice-usd")]
    assert LedgerKind.WITHDRAWAL_HOLD in kinds
    assert "payout_details" not in body["transaction"]
    # Replayed, not held twice.
    assert reply(api.raw("CreateCashierWithdrawalFunction", event)) == (status, body)
    assert api.aws.accounts().get("acc-alice-usd").balance == Decimal("70.00")


@pytest.mark.parametrize(
    ("customer", "change", "status", "code"),
    [
        (ERIN, {"account_id": "acc-erin-usd"}, 403, "withdrawals_not_allowed"),
        (ALICE, {"account_id": "acc-mallory-usd"}, 404, "account_not_found"),
        (ALICE, {"account_id": "acc-nope"}, 404, "account_not_found"),
        (ALICE, {"currency": "EUR"}, 422, "account_currency_mismatch"),
        (ALICE, {"amount": "100.01"}, 422, "insufficient_funds"),
        (ALICE, {"amount": "1.001"}, 422, "amount_too_precise"),
        (ALICE, {"amount": 5}, 422, "amount_not_a_string"),
        (ALICE, {"method_id": "card-unknown"}, 422, "method_not_available"),
        (ALICE, {"customer_id": MALLORY}, 422, "unknown_field"),
        (ALICE, {"payout_details": {f"k{i}": "v" for i in range(21)}}, 422, "validation_error"),
    ],
)
def test_each_refused_withdrawal_has_its_code_and_holds_nothing(
    api: CustomerApi, customer: str, change: dict, status: int, code: str
) -> None:
    body = {"account_id": "acc-alice-usd", "amount": "30.00", "currency": "USD", **change}
    got_status, got = api.withdraw(customer, body)
    assert (got_status, error_code(got)) == (status, code)
    assert api.transactions_of(customer) == []
    api.aws.assert_balances_match_ledgers()
    assert api.aws.accounts().get("acc-alice-usd").balance == Decimal("100.00")


def test_the_whole_balance_can_be_withdrawn_but_not_a_cent_more(api: CustomerApi) -> None:
    body = {"account_id": "acc-alice-usd", "currency": "USD"}
    assert api.withdraw(ALICE, {**body, "amount": "60.00"})[0] == 201
    assert error_code(api.withdraw(ALICE, {**body, "amount": "40.01"})[1]) == "insufficient_funds"
    assert api.withdraw(ALICE, {**body, "amount": "40.00"})[0] == 201
    assert api.aws.accounts().get("acc-alice-usd").balance == Decimal("0.00")


# ------------------------------------------------------------ history ---
def test_sample_history_event_shows_only_alices_own_transactions(api: CustomerApi) -> None:
    api.deposit(ALICE, USD_DEPOSIT)
    api.deposit(MALLORY, {**USD_DEPOSIT, "account_id": "acc-mallory-usd"})
    status, body = reply(
        api.raw("GetCashierTransactionsFunction", sample_event("get_cashier_transactions.json"))
    )
    assert status == 200
    assert len(body["transactions"]) == 1
    assert body["transactions"][0]["account_id"] == "acc-alice-usd"
    assert body["next_cursor"] is None


def test_history_pages_filters_and_refuses_foreign_or_altered_cursors(api: CustomerApi) -> None:
    for _ in range(3):
        api.deposit(ALICE, USD_DEPOSIT)
    api.withdraw(ALICE, {"account_id": "acc-alice-usd", "amount": "1.00", "currency": "USD"})
    status, first = api.history(ALICE, limit="2")
    assert status == 200 and len(first["transactions"]) == 2 and first["next_cursor"]
    _, second = api.history(ALICE, limit="2", cursor=first["next_cursor"])
    ids = [t["transaction_id"] for t in first["transactions"] + second["transactions"]]
    assert len(set(ids)) == 4
    assert api.history(ALICE, type="withdrawal")[1]["transactions"][0]["type"] == "withdrawal"
    assert len(api.history(ALICE, status="1")[1]["transactions"]) == 3

    cursor = first["next_cursor"]
    altered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for who, bad in ((ALICE, altered), (MALLORY, cursor), (ALICE, "garbage")):
        got_status, body = api.history(who, limit="2", cursor=bad)
        assert (got_status, error_code(body)) == (400, "invalid_cursor")
    foreign = api.history(ALICE, account_id="acc-mallory-usd")
    assert foreign == api.history(ALICE, account_id="acc-no-such-account")
    assert (foreign[0], error_code(foreign[1])) == (404, "account_not_found")


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"status": "10"},
        {"created_from": "2026-01-01T00:00:00"},
        {"type": "loan"},
        {"customer_id": MALLORY},
    ],
)
def test_bad_history_queries_are_4xx(api: CustomerApi, query: dict) -> None:
    status, body = api.history(ALICE, **query)
    assert 400 <= status < 500
    assert error_code(body) in {"validation_error", "unknown_field", "invalid_page_size"}


# --------------------------------------------------------- authorizer ---
def test_sample_authorizer_event_allows_the_stage_with_the_sessions_identity(
    api: CustomerApi,
) -> None:
    response = invoke(
        load_function("SessionAuthorizerFunction"), sample_event("session_authorizer.json")
    )
    assert response["principalId"] == ALICE
    assert response["context"] == {"customer_id": ALICE, "brand_id": "brand-alpha"}
    [statement] = response["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/*/*"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "demo-alice-local-session-0001",
        "Basic demo-alice-local-session-0001",
        "Bearer not-a-session-token-at-all",
        "Bearer demo-alice-expired-session-0007",
        "Bearer demo-alice-admin-session-0008",
    ],
)
def test_anything_but_a_live_customer_session_is_unauthorized(
    api: CustomerApi, header: str | None
) -> None:
    event = sample_event("session_authorizer.json")
    event["authorizationToken"] = header
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke(load_function("SessionAuthorizerFunction"), event)


@pytest.mark.parametrize("method_arn", [None, "", "arn:aws:execute-api:eu-west-1:1:x/v1/GET/"])
def test_a_live_session_with_an_event_that_names_no_method_is_unauthorized(
    api: CustomerApi, method_arn: str | None
) -> None:
    event = sample_event("session_authorizer.json")
    event["methodArn"] = method_arn
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke(load_function("SessionAuthorizerFunction"), event)


@pytest.mark.parametrize(
    "damage",
    [
        {"brand_id": None},  # attribute missing
        {"expires_at": {"S": "2099-01-01T00:00:00"}},  # no zone: cannot be compared
        {"expires_at": {"N": "4070908800"}},  # epoch seconds, not our format
        {"customer_id": {"S": ""}},
        {"type": {"N": "1"}},
    ],
)
def test_a_session_row_the_authorizer_cannot_read_is_unauthorized(
    api: CustomerApi, damage: dict[str, Any]
) -> None:
    """Other services write the sessions table too: a row that is not exactly a
    session is refused, never half-read."""
    token = "another-service-wrote-this-row"
    item = {
        "token_hash": {"S": hash_session_token(token)},
        "customer_id": {"S": ALICE},
        "brand_id": {"S": "brand-alpha"},
        "type": {"S": SESSION_CUSTOMER},
        "expires_at": {"S": "2099-01-01T00:00:00.000000Z"},
    }
    api.aws.dynamodb.put_item(TableName=api.aws.tables.sessions, Item=item)
    event = sample_event("session_authorizer.json")
    event["authorizationToken"] = f"Bearer {token}"
    authorizer = load_function("SessionAuthorizerFunction")
    assert invoke(authorizer, event)["principalId"] == ALICE  # the intact row is a session
    damaged = {key: value for key, value in {**item, **damage}.items() if value is not None}
    api.aws.dynamodb.put_item(TableName=api.aws.tables.sessions, Item=damaged)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke(authorizer, event)


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("text/plain", b'{"account_id": "acc-alice-usd"}', 415, "unsupported_media_type"),
        (
            "application/x-www-form-urlencoded",
            b"account_id=acc-alice-usd",
            415,
            "unsupported_media_type",
        ),
        ("application/json", b"\xff\x01", 400, "malformed_json"),
        ("application/json; charset=utf-8", b"{bad", 400, "malformed_json"),
    ],
)
def test_a_body_that_is_not_utf8_json_is_refused_before_parsing(
    api: CustomerApi, content_type: str, body: bytes, status: int, code: str
) -> None:
    # Found by schemathesis: both used to end in a 500.
    event = api_event(
        method="POST",
        resource="/cashier/deposit",
        path="/cashier/deposit",
        headers=[("Content-Type", content_type), ("Idempotency-Key", "media-type-0001")],
        body=body,
        authorizer=authorizer_context(ALICE, "brand-alpha"),
    )
    got = reply(api.raw("CreateCashierDepositFunction", event))
    assert (got[0], error_code(got[1])) == (status, code)
    assert api.transactions_of(ALICE) == []


# ------------------------------------------------- SAM's generated events ---
def sam_generated_get(path: str, query: dict[str, str]) -> dict[str, Any]:
    """`sam local generate-event apigateway aws-proxy --method GET`: its GET carries
    a base64 body ({"test":"body"}) and no Content-Type, as a client may send."""
    generated = subprocess.run(  # noqa: S603 - the sam CLI from our own venv
        [str(Path(sys.executable).with_name("sam")), "local", "generate-event", "apigateway",
         "aws-proxy", "--method", "GET", "--path", path.lstrip("/"), "--resource", path,
         "--querystringparameters", json.dumps(query)],
        capture_output=True, text=True, check=True, timeout=120,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )  # fmt: skip
    event: dict[str, Any] = json.loads(generated.stdout)
    assert event["httpMethod"] == "GET"
    assert event["body"]
    return event


@pytest.mark.parametrize(
    ("function_id", "path"),
    [
        ("GetCashierTransactionsFunction", "/cashier/transactions"),
        ("GetCashierMethodsFunction", "/cashier/methods"),
    ],
)
def test_a_get_with_a_body_is_answered_after_the_session_check_and_its_body_ignored(
    api: CustomerApi, function_id: str, path: str
) -> None:
    event = sam_generated_get(path, {"account_id": "acc-alice-usd"})
    status, body = reply(api.raw(function_id, event))
    assert (status, error_code(body)) == (401, "unauthorized")  # no session: not a 415

    event["requestContext"]["authorizer"] = authorizer_context(ALICE, "brand-alpha")
    status, body = reply(api.raw(function_id, event))
    assert status == 200, body
    without_body = {**event, "body": None, "isBase64Encoded": False}
    assert reply(api.raw(function_id, without_body)) == (status, body)


def test_a_validation_message_names_the_query_parameter_once(api: CustomerApi) -> None:
    status, body = api.call("GetCashierMethodsFunction", ALICE, query=[])
    assert (status, error_code(body)) == (422, "validation_error")
    assert "query.account_id" in body["error"]["message"]
    assert "query.query" not in body["error"]["message"]


def test_a_currency_mismatch_is_answered_with_the_error_tables_message(api: CustomerApi) -> None:
    from cashier_core.errors import AccountCurrencyMismatch
    from cashier_local.docs import error_table

    deposit = api.deposit(ALICE, {**USD_DEPOSIT, "currency": "EUR"})
    withdrawal = api.withdraw(
        ALICE, {"account_id": "acc-alice-usd", "amount": "30.00", "currency": "EUR"}
    )
    for status, body in (deposit, withdrawal):
        assert status == 422
        assert body["error"] == {
            "code": "account_currency_mismatch",
            "message": AccountCurrencyMismatch.default_message,
        }
    row = f"| 422 | `account_currency_mismatch` | {AccountCurrencyMismatch.default_message} |"
    assert row in error_table()


def test_a_duplicate_webhook_is_acknowledged_as_usual_so_the_table_does_not_list_it(
    lifecycle: Lifecycle,
) -> None:
    from cashier_local.docs import error_table

    deposit = lifecycle.deposit()
    body = lifecycle.sandbox_body(deposit, "succeeded")
    first = lifecycle.sandbox_webhook(body)
    assert lifecycle.sandbox_webhook(body) == first
    assert first[0] == 200
    assert "duplicate_delivery" not in json.dumps(first[1])
    assert "duplicate_delivery" not in error_table()
