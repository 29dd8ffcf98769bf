"""The sandbox's hosted payment page in a real headless browser: Debian's Chromium
(/usr/bin/chromium, installed by `make test` through scripts/ensure-chromium.sh)
driven by Playwright for Python. Playwright's own browser download is never used.

Screenshots of the payment page and the result page go to CASHIER_SCREENSHOT_DIR
when it is set, else to the test's temporary directory.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.conftest import LocalStack
from tests.e2e.test_walkthroughs import balance, status_of

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("CASHIER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ALICE = "alice"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs it (scripts/ensure-chromium.sh), "
            "or: apt-get install -y chromium"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 820})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("CASHIER_SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def create_deposit(stack: LocalStack, amount: str) -> dict[str, Any]:
    answer = stack.http.post(
        "/cashier/deposit",
        token=stack.token(ALICE),
        headers={"Idempotency-Key": f"browser-{uuid.uuid4().hex}"},
        body={"account_id": "acc-alice-usd", "method_id": "card-sandbox", "amount": amount,
              "currency": "USD", "return_url": "https://alpha.example/cashier/return"},
    )  # fmt: skip
    assert answer.status == 201, answer.body
    created: dict[str, Any] = answer.json()
    return created


def fill_card(page: Page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Alice Example")


def test_a_person_pays_with_the_success_card_and_sees_the_credited_deposit(
    stack: LocalStack, page: Page, screenshots: Path
) -> None:
    before = balance(stack)
    created = create_deposit(stack, "1250.00")
    transaction_id = created["transaction"]["transaction_id"]

    page.goto(created["redirect_url"])
    expect(page.get_by_test_id("test-mode")).to_contain_text("TEST MODE")
    expect(page.get_by_test_id("brand")).to_have_text("Alpha Markets")
    expect(page.get_by_test_id("amount")).to_have_text("1,250.00 USD")
    expect(page.get_by_role("button", name="Pay 1,250.00 USD")).to_be_visible()
    expect(page.locator(".cards")).to_contain_text("4242 4242 4242 4242")
    fill_card(page, "4242 4242 4242 4242")
    page.screenshot(path=screenshots / "payment-page.png", full_page=True)

    page.get_by_role("button", name="Pay 1,250.00 USD").click()
    page.wait_for_url("**/_sandbox/return/**")
    # The page looks again each second until the credit has landed.
    expect(page.get_by_test_id("headline")).to_have_text("Payment successful")
    expect(page.get_by_test_id("status")).to_have_text("Status 3 credited")
    expect(page.locator("main")).to_contain_text("https://alpha.example/cashier/return")
    expect(page.get_by_role("link", name="Return to the merchant")).to_have_attribute(
        "href", "https://alpha.example/cashier/return"
    )
    page.screenshot(path=screenshots / "result-page.png", full_page=True)

    credited = status_of(stack, transaction_id, 3)
    assert credited["amount"] == "1250.00"
    assert balance(stack) == before + 1250


def test_the_3ds_card_shows_a_challenge_before_the_payment_succeeds(
    stack: LocalStack, page: Page, screenshots: Path
) -> None:
    created = create_deposit(stack, "30.00")
    page.goto(created["redirect_url"])
    fill_card(page, "4000002500003155")
    page.get_by_role("button", name="Pay 30.00 USD").click()
    expect(page.get_by_role("heading", name="3-D Secure authentication")).to_be_visible()
    expect(page.locator(".challenge")).to_contain_text("card ending in 3155")
    page.screenshot(path=screenshots / "3ds-challenge.png", full_page=True)
    assert status_of(stack, created["transaction"]["transaction_id"], 1)  # nothing sent yet

    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_test_id("headline")).to_have_text("Payment successful")
    status_of(stack, created["transaction"]["transaction_id"], 3)


def test_the_declined_card_fails_and_a_revisit_shows_the_status_not_the_form(
    stack: LocalStack, page: Page
) -> None:
    before = balance(stack)
    created = create_deposit(stack, "40.00")
    page.goto(created["redirect_url"])
    fill_card(page, "4000 0000 0000 0002")
    page.get_by_role("button", name="Pay 40.00 USD").click()
    expect(page.get_by_test_id("headline")).to_have_text("Payment failed")
    expect(page.get_by_test_id("status")).to_have_text("Status 5 failed")

    page.goto(created["redirect_url"])
    expect(page.get_by_test_id("headline")).to_have_text("Payment failed")
    expect(page.get_by_label("Card number")).to_have_count(0)
    status_of(stack, created["transaction"]["transaction_id"], 5)
    assert balance(stack) == before


def test_a_card_the_form_refuses_sends_nothing_and_says_why(stack: LocalStack, page: Page) -> None:
    created = create_deposit(stack, "15.00")
    page.goto(created["redirect_url"])
    fill_card(page, "4242 4242 4242 4241")  # fails the Luhn check
    page.get_by_role("button", name="Pay 15.00 USD").click()
    expect(page.get_by_role("alert")).to_have_text("Your card number is invalid.")
    expect(page.get_by_label("Card number")).to_have_value("4242 4242 4242 4241")
    status_of(stack, created["transaction"]["transaction_id"], 1)
