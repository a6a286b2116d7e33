"""The bank import in a real browser (Playwright driving Debian's Chromium against the live
server): an accountant uploads a camt.053 statement, sees the payment matched automatically
by its reference with the reason and the confidence, resolves a payment that carries no
reference and an unknown payer's name on the work list by hand, and then sees the invoice
paid, the client's balance at zero on the card and the payment on the client's Payments tab.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from babel.numbers import format_currency
from playwright.sync_api import expect

from core.db import tenant_scope
from plugins.bank_import.models import BankTransaction
from plugins.bank_import.statements import ParsedEntry
from plugins.bank_import.tests.conftest import COMPANY_IBAN
from plugins.bank_import.tests.statement_builder import build_camt053
from plugins.invoicing import references
from plugins.invoicing.models import Invoice

TODAY = dt.date.today()


@pytest.fixture
def tenant(make_tenant):
    """The tenant on the live server's host (the ``bank_account`` fixture uses it too)."""
    return make_tenant("Pangaimpordi OÜ", host="127.0.0.1")


def _entry(amount: str, bank_reference: str, **fields) -> ParsedEntry:
    return ParsedEntry(amount=Decimal(amount), credit=True, currency="EUR",
                       booking_date=TODAY, bank_reference=bank_reference, **fields)


def _payment_id(dbsession, tenant, bank_reference: str) -> int:
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        return dbsession.scalar(sa.select(BankTransaction.id).where(
            BankTransaction.bank_reference == bank_reference))


def _money(amount: str) -> str:
    """An amount as the English pages show it (``€0.00``)."""
    return format_currency(Decimal(amount), "EUR", locale="en")


def test_upload_see_the_automatic_match_and_resolve_a_payment_by_hand(
        live_server, chromium_page, tenant, make_user, bank_account, make_client,
        make_invoice, dbsession, tmp_path):
    accountant = make_user(tenant, "accountant", locale="en", email="raamat@pank.test",
                           name="Reet Raamatupidaja")
    by_reference = make_client(tenant, "Viitega Maksja OÜ")
    anonymous = make_client(tenant, "Kivimäe Ehitus OÜ")
    bystander = make_client(tenant, "Kõrvaline AS")
    paid_by_reference = make_invoice(tenant, by_reference, "120.00")
    paid_by_hand = make_invoice(tenant, anonymous, "85.00")
    # An open invoice of the same amount at another client: the amount alone must never
    # decide whose invoice a payment without a reference pays.
    left_open = make_invoice(tenant, bystander, "85.00")
    statement = tmp_path / "statement.xml"
    statement.write_bytes(build_camt053(COMPANY_IBAN, [
        _entry("120.00", "BR-1", reference=paid_by_reference.reference,
               counterparty_name="VIITEGA MAKSJA OU", description="arve tasumine"),
        _entry("85.00", "BR-2", counterparty_name="Tundmatu Tasuja",
               description="tasumine"),
    ]))
    page = chromium_page

    live_server.log_in(page, accountant.email)

    # The "Bank" menu entry opens the statements page with the upload form.
    page.locator("#mainnav a", has_text=re.compile(r"^\s*Bank\s*$")).click()
    page.wait_for_url(live_server.url + "/bank")
    expect(page.locator("h1")).to_have_text("Bank statements")
    page.set_input_files("#f-file", str(statement))
    page.locator("#upload-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/bank/statements/\d+$"))

    # The flash message with the counts, and the entries with what happened to each.
    expect(page.locator(".flash-success")).to_have_text(
        "Entries in the file: 2; new: 2; imported before: 0. Matched automatically: 1; "
        "waiting for you: 1.")
    matched_id = _payment_id(dbsession, tenant, "BR-1")
    waiting_id = _payment_id(dbsession, tenant, "BR-2")
    matched_row = page.locator(f"#entries #entry-{matched_id}")
    expect(matched_row.locator("td.match a")).to_have_text(paid_by_reference.number)
    expect(matched_row.locator(".chip")).to_have_text("matched")
    expect(matched_row.locator(".reason")).to_contain_text(
        f"reference {references.display(paid_by_reference.reference)} "
        f"= invoice {paid_by_reference.number}")
    expect(matched_row.locator(".confidence")).to_have_text("100 %")
    waiting_row = page.locator(f"#entries #entry-{waiting_id}")
    expect(waiting_row.locator(".chip")).to_have_text("waiting")
    expect(waiting_row.locator("td.match a")).to_have_count(0)
    expect(waiting_row.locator(".reason")).to_have_count(0)

    # The work list holds only the payment nobody could match; "Resolve" opens it.
    page.goto(live_server.url + "/bank")
    expect(page.locator("#worklist-link .count")).to_have_text("1")
    page.locator("#worklist-link").click()
    page.wait_for_url(re.compile(r".*/bank/payments$"))
    expect(page.locator("#payments tbody tr")).to_have_count(1)
    row = page.locator(f"#payment-{waiting_id}")
    expect(row).to_contain_text("Tundmatu Tasuja")
    expect(row).to_contain_text(_money("85.00"))
    row.get_by_role("link", name="Resolve").click()
    page.wait_for_url(f"{live_server.url}/bank/payments/{waiting_id}")
    expect(page.locator("#payment-state")).to_have_text("waiting")
    expect(page.locator("#suggestion")).to_have_count(0)

    # Match it to the second client's invoice; an empty amount takes the open amount.
    form = page.locator("#match-form")
    form.locator("input[name=number_1]").fill(paid_by_hand.number)
    expect(form.locator("input[name=amount_1]")).to_have_value("")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/bank/payments/{waiting_id}")
    expect(page.locator(".flash-success")).to_have_text("The payment is matched.")
    expect(page.locator("#payment-state")).to_have_text("matched")
    expect(page.locator("#unallocated")).to_have_text(_money("0.00"))
    allocation = page.locator("#allocations tbody tr")
    expect(allocation).to_have_count(1)
    expect(allocation).to_contain_text("Kivimäe Ehitus OÜ")
    expect(allocation).to_contain_text(_money("85.00"))
    expect(allocation).to_contain_text("by hand")
    expect(page.locator("#match-form")).to_have_count(0)

    # The invoice, opened from the "Matched to" table, is paid.
    allocation.get_by_role("link", name=paid_by_hand.number, exact=True).click()
    page.wait_for_url(re.compile(rf".*/invoices/{paid_by_hand.id}$"))
    expect(page.locator("#invoice-title .chip")).to_have_text("paid")
    expect(page.locator("#invoice-title .chip")).to_have_class(re.compile(r"\bstatus-paid\b"))

    # The client's card shows the balance in its header: nothing is owed any more.
    page.goto(f"{live_server.url}/clients/{anonymous.id}")
    expect(page.locator("#client-header h1")).to_have_text("Kivimäe Ehitus OÜ")
    balance = page.locator("#client-header .fact").filter(
        has=page.locator("dt", has_text=re.compile(r"^Balance$")))
    expect(balance).to_have_count(1)
    expect(balance.locator("dd")).to_have_text(_money("0.00"))

    # The Payments tab lists the payment with the invoice number linking to the invoice.
    page.locator("nav.tabs a[href$='/payments']").click()
    page.wait_for_url(f"{live_server.url}/clients/{anonymous.id}/payments")
    expect(page.locator("#balance-balance")).to_have_text(_money("0.00"))
    payments = page.locator("#tab-content #payments tbody tr")
    expect(payments).to_have_count(1)
    expect(payments).to_contain_text(_money("85.00"))
    expect(payments).to_contain_text("Tundmatu Tasuja")
    invoice_link = payments.get_by_role("link", name=paid_by_hand.number, exact=True)
    expect(invoice_link).to_have_attribute(
        "href", re.compile(rf"/invoices/{paid_by_hand.id}$"))
    invoice_link.click()
    page.wait_for_url(re.compile(rf".*/invoices/{paid_by_hand.id}$"))
    expect(page.locator("#invoice-title")).to_contain_text(paid_by_hand.number)

    # In the database: both payments are matched and their invoices paid in full; the
    # other client's invoice of the same amount is still open.
    dbsession.rollback()
    dbsession.expire_all()
    with tenant_scope(dbsession, tenant.id):
        for issued in (paid_by_reference, paid_by_hand):
            invoice = dbsession.get(Invoice, issued.id)
            assert (invoice.status, invoice.paid_amount) == ("paid", invoice.total)
            assert invoice.paid_amount == issued.total
        untouched = dbsession.get(Invoice, left_open.id)
        assert (untouched.status, untouched.paid_amount) == ("confirmed", Decimal("0.00"))
        states = dict(dbsession.execute(
            sa.select(BankTransaction.bank_reference, BankTransaction.state)).all())
    assert states == {"BR-1": "matched", "BR-2": "matched"}
