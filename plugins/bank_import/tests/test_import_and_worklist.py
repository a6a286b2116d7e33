"""The accountant's day through the web pages (B1, B2): upload statements (all or nothing,
never twice), refusals with one clear message, then the work list: accept, split, assign as
prepayment, set aside, undo; every decision in the audit log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import tenant_scope
from core.models import AuditEntry
from plugins.bank_import.models import Allocation, BankTransaction, Statement
from plugins.bank_import.statements import ParsedEntry
from plugins.bank_import.tests.conftest import COMPANY_IBAN, invoice_status
from plugins.bank_import.tests.statement_builder import build_camt053

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = dt.date.today()
PAYER_IBAN = "EE471000001020145685"


def entry(amount, ref, **fields):
    return ParsedEntry(amount=Decimal(amount), credit=fields.pop("credit", True),
                       currency="EUR", booking_date=fields.pop("day", TODAY),
                       bank_reference=ref, **fields)


@pytest.fixture
def accountant(tenant, make_user):
    return make_user(tenant, "accountant", locale="en")


def upload(b, name, data, status=303):
    return b.post("/bank/import", {"csrf_token": b.csrf_token},
                      upload_files=[("file", name, data)], status=status)


def counts(dbsession, tenant):
    dbsession.rollback()
    dbsession.expire_all()
    with tenant_scope(dbsession, tenant.id):
        return (dbsession.scalar(sa.select(sa.func.count()).select_from(Statement)),
                dbsession.scalar(sa.select(sa.func.count()).select_from(BankTransaction)))



def test_upload_matches_and_a_second_upload_adds_nothing(
        browser, tenant, accountant, bank_account, make_client, make_invoice, dbsession):
    client = make_client(tenant, "Puidukoja OÜ")
    invoice = make_invoice(tenant, client, "240.00")
    data = build_camt053(COMPANY_IBAN, [
        entry("240.00", "B-1", reference=invoice.reference, counterparty_name="PUIDUKOJA OU"),
        entry("19.99", "B-2", counterparty_name="Tundmatu Maksja", description="annetus"),
        entry("500.00", "B-3", credit=False, counterparty_name="Üürileandja AS"),
    ])
    b = browser(tenant, accountant)

    page = upload(b, "statement.xml", data).follow()

    assert "Entries in the file: 3; new: 3; imported before: 0. Matched automatically: 1; " \
           "waiting for you: 1." in page.text
    row = page.html.find(id=f"entry-{_id_of(dbsession, tenant, 'B-1')}")
    assert invoice.number in row.text
    assert f"= invoice {invoice.number}" in row.text
    assert invoice_status(dbsession, tenant, invoice.id) == ("paid", Decimal("240.00"))

    again = upload(b, "statement.xml", data).follow()
    assert "Entries in the file: 3; new: 0; imported before: 3." in again.text
    assert counts(dbsession, tenant) == (2, 3)
    assert invoice_status(dbsession, tenant, invoice.id) == ("paid", Decimal("240.00"))


def test_overlapping_statements_add_each_entry_once_even_without_bank_references(
        browser, tenant, accountant, bank_account, dbsession):
    monday = entry("10.00", None, counterparty_name="A", description="x",
                   day=TODAY - dt.timedelta(days=1))
    twin = entry("10.00", None, counterparty_name="A", description="x",
                 day=TODAY - dt.timedelta(days=1))
    tuesday = entry("20.00", None, counterparty_name="B", description="y")
    b = browser(tenant, accountant)

    upload(b, "mon.xml", build_camt053(COMPANY_IBAN, [monday, twin]))
    upload(b, "mon-tue.xml", build_camt053(COMPANY_IBAN, [monday, twin, tuesday]))

    # The two identical Monday payments are two payments, each stored once.
    assert counts(dbsession, tenant) == (2, 3)


@pytest.mark.parametrize("name, message", [
    ("not_a_statement.xml", "The file is not a bank statement this program can read"),
    ("truncated_camt053.xml", "not well-formed XML"),
    ("bomb.xml", "refused for safety"),
    ("unknown_currency_camt053.xml", "XYZ"),
])
def test_bad_files_are_refused_with_one_message_and_nothing_imported(
        browser, tenant, accountant, bank_account, dbsession, name, message):
    b = browser(tenant, accountant)

    page = upload(b, name, (FIXTURES / name).read_bytes(), status=400)

    assert message in page.html.find(id="import-error").text
    assert counts(dbsession, tenant) == (0, 0)


def test_statement_of_another_account_is_refused_and_nothing_imported(
        browser, tenant, accountant, bank_account, dbsession):
    b = browser(tenant, accountant)
    other = build_camt053("EE471000001020145685", [entry("1.00", "X-1")])
    dollars = build_camt053(COMPANY_IBAN, [entry("1.00", "X-2")], currency="USD")

    first = upload(b, "other.xml", other, status=400)
    second = upload(b, "usd.xml", dollars, status=400)

    assert "EE471000001020145685 in EUR, which is not a bank account of this company" \
        in first.html.find(id="import-error").text
    assert f"{COMPANY_IBAN} in USD" in second.html.find(id="import-error").text
    assert counts(dbsession, tenant) == (0, 0)
    assert b.post("/bank/import", {"csrf_token": b.csrf_token}, status=400) \
        .html.find(id="import-error").text == "Choose a statement file to upload."


def test_a_file_with_one_bad_statement_imports_none_of_it(browser, tenant, accountant, bank_account,
                                                dbsession):
    b = browser(tenant, accountant)
    statement = build_camt053(COMPANY_IBAN, [entry("1.00", "M-1"), entry("2.00", "M-2")])
    # The second statement of the same file is for an unknown account: the first one,
    # although valid, must not be stored either.
    other = build_camt053("EE471000001020145685", [entry("3.00", "M-3")])
    head, _, _ = statement.partition(b"</BkToCstmrStmt>")
    stmt_of_other = other.split(b"<Stmt>", 1)[1].split(b"</Stmt>", 1)[0]
    combined = head + b"<Stmt>" + stmt_of_other + b"</Stmt></BkToCstmrStmt></Document>"

    page = upload(b, "two.xml", combined, status=400)

    assert "EE471000001020145685 in EUR, which is not a bank account" in page.text
    assert counts(dbsession, tenant) == (0, 0)


def _id_of(dbsession, tenant, bank_reference):
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        return dbsession.scalar(sa.select(BankTransaction.id).where(
            BankTransaction.bank_reference == bank_reference))


def _imported(b, *entries):
    upload(b, "s.xml", build_camt053(COMPANY_IBAN, list(entries)))


def test_accept_a_suggestion_then_undo_it(browser, tenant, accountant, bank_account,
                                          make_client, make_invoice, dbsession):
    client = make_client(tenant, "Kontoga OÜ", iban=PAYER_IBAN)
    invoice = make_invoice(tenant, client, "75.00")
    b = browser(tenant, accountant)
    _imported(b, entry("75.00", "S-1", counterparty_account=PAYER_IBAN,
                       counterparty_name="KONTOGA OU"))
    payment_id = _id_of(dbsession, tenant, "S-1")

    worklist = b.get("/bank/payments")
    row = worklist.html.find(id=f"payment-{payment_id}")
    assert "80 %" in row.text and invoice.number in row.text
    page = b.get(f"/bank/payments/{payment_id}")
    page = b.post(f"/bank/payments/{payment_id}/accept", {"csrf_token": b.csrf_token},
                      status=303).follow()

    assert "The suggestion is applied." in page.text
    assert page.html.find(id="payment-state").text == "matched"
    assert invoice_status(dbsession, tenant, invoice.id) == ("paid", Decimal("75.00"))
    assert f"payment-{payment_id}" not in b.get("/bank/payments").text

    page = b.post(f"/bank/payments/{payment_id}/undo", {"csrf_token": b.csrf_token},
                      status=303).follow()
    assert page.html.find(id="payment-state").text == "waiting"
    assert invoice_status(dbsession, tenant, invoice.id) == ("confirmed", Decimal("0.00"))
    history = page.html.find(id="history").text
    assert "75.00 allocated" in history
    assert "75.00 taken back" in history
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        actions = dbsession.execute(
            sa.select(AuditEntry.action, AuditEntry.user_id)
            .where(AuditEntry.entity == "bank_allocation")).all()
    assert sorted(a for a, _ in actions) == ["delete", "insert"]
    assert {u for _, u in actions} == {accountant.id}


def test_split_over_two_invoices_with_the_rest_as_prepayment(
        browser, tenant, accountant, bank_account, make_client, make_invoice, dbsession):
    client = make_client(tenant, "Jagaja OÜ")
    first = make_invoice(tenant, client, "30.00")
    second = make_invoice(tenant, client, "50.00")
    b = browser(tenant, accountant)
    _imported(b, entry("100.00", "P-1", counterparty_name="Keegi"))
    payment_id = _id_of(dbsession, tenant, "P-1")
    b.get(f"/bank/payments/{payment_id}")

    page = b.post(f"/bank/payments/{payment_id}/match", {
        "csrf_token": b.csrf_token, "number_1": first.number, "amount_1": "",
        "number_2": second.number, "amount_2": "40,00", "rest_as_prepayment": "1"},
        status=303).follow()

    assert "The payment is matched." in page.text
    assert invoice_status(dbsession, tenant, first.id) == ("paid", Decimal("30.00"))
    assert invoice_status(dbsession, tenant, second.id) == ("partly_paid", Decimal("40.00"))
    with tenant_scope(dbsession, tenant.id):
        parts = sorted((a.invoice_id or 0, a.amount) for a in dbsession.scalars(
            sa.select(Allocation)))
    assert parts == [(0, Decimal("30.00")), (first.id, Decimal("30.00")),
                     (second.id, Decimal("40.00"))]


def test_refused_decisions_change_nothing(browser, tenant, accountant, bank_account,
                                          make_client, make_invoice, dbsession):
    client = make_client(tenant, "Piiritu OÜ")
    invoice = make_invoice(tenant, client, "30.00")
    b = browser(tenant, accountant)
    _imported(b, entry("100.00", "R-1"))
    payment_id = _id_of(dbsession, tenant, "R-1")
    b.get(f"/bank/payments/{payment_id}")

    too_much = b.post(f"/bank/payments/{payment_id}/match", {
        "csrf_token": b.csrf_token, "number_1": invoice.number, "amount_1": "60"},
        status=303).follow()
    unknown = b.post(f"/bank/payments/{payment_id}/match", {
        "csrf_token": b.csrf_token, "number_1": "NOPE-1", "amount_1": "1"}, status=303).follow()
    nobody = b.post(f"/bank/payments/{payment_id}/prepayment", {
        "csrf_token": b.csrf_token, "client": "Nobody at all"}, status=303).follow()

    assert f"Invoice {invoice.number} has 30.00 open; it cannot take 60.00." in too_much.text
    assert "There is no confirmed invoice numbered \"NOPE-1\"." in unknown.text
    assert "Choose a client from the list, or enter a client number." in nobody.text
    assert invoice_status(dbsession, tenant, invoice.id) == ("confirmed", Decimal("0.00"))
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(Allocation)) == 0
        assert dbsession.get(BankTransaction, payment_id).state == "open"


def test_prepayment_by_client_number_and_setting_aside(browser, tenant, accountant,
                                                       bank_account, make_client, dbsession):
    client = make_client(tenant, "Ettemaksja OÜ")
    b = browser(tenant, accountant)
    _imported(b, entry("60.00", "E-1"), entry("5000.00", "E-2", counterparty_name="PANK"))
    prepaid, loan = _id_of(dbsession, tenant, "E-1"), _id_of(dbsession, tenant, "E-2")
    b.get(f"/bank/payments/{prepaid}")

    page = b.post(f"/bank/payments/{prepaid}/prepayment", {
        "csrf_token": b.csrf_token, "client": f"Ettemaksja OÜ (nr {client.number})"},
        status=303).follow()
    assert "The payment is kept as the prepayment of Ettemaksja OÜ." in page.text
    page = b.post(f"/bank/payments/{loan}/not-sales", {
        "csrf_token": b.csrf_token, "note": "laen"}, status=303).follow()
    assert page.html.find(id="payment-state").text == "not a sales payment"
    assert "laen" in page.html.find(id="payment-facts").text
    assert "No payments here." in b.get("/bank/payments").text

    b.post(f"/bank/payments/{loan}/undo", {"csrf_token": b.csrf_token}, status=303)
    assert f"payment-{loan}" in b.get("/bank/payments").text


def test_matching_again_after_the_invoice_is_issued(browser, tenant, accountant, bank_account,
                                                    make_client, make_invoice, dbsession):
    client = make_client(tenant, "Hiline Arve OÜ")
    b = browser(tenant, accountant)
    _imported(b, entry("44.00", "L-1", description="tellimus 7"))
    invoice = make_invoice(tenant, client, "44.00")
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        dbsession.get(BankTransaction, _id_of(dbsession, tenant, "L-1")).description = \
            f"arve {invoice.number}"
        dbsession.commit()

    page = b.post("/bank/payments/rematch", {"csrf_token": b.csrf_token},
                      status=303).follow()

    assert "Waiting payments: 1; matched automatically now: 1." in page.text
    assert invoice_status(dbsession, tenant, invoice.id)[0] == "paid"


def test_secretary_sees_payments_but_cannot_decide_or_import(
        browser, tenant, make_user, bank_account, dbsession):
    secretary = make_user(tenant, "secretary", locale="en")
    b = browser(tenant, secretary)
    page = b.get("/bank")
    assert page.html.find(id="upload") is None
    b.post("/bank/import", {"csrf_token": b.csrf_token},
               upload_files=[("file", "s.xml", b"<x/>")], status=403)
    b.post("/bank/payments/rematch", {"csrf_token": b.csrf_token}, status=403)


def test_another_tenants_payment_is_not_found(browser, tenant, make_tenant, make_user,
                                              accountant, bank_account, dbsession):
    b = browser(tenant, accountant)
    _imported(b, entry("1.00", "T-1"))
    payment_id = _id_of(dbsession, tenant, "T-1")
    other = make_tenant("Teine OÜ", host="teine.test")
    intruder = browser(other, make_user(other, "accountant", locale="en"))

    intruder.get(f"/bank/payments/{payment_id}", status=404)
    intruder.post(f"/bank/payments/{payment_id}/undo",
                      {"csrf_token": intruder.csrf_token}, status=404)
