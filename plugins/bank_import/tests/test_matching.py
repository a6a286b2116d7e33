"""Matching incoming payments to invoices (B1): every rule, every split, confidence and the
readable reason, the threshold, and what is never matched."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.audit import history
from core.db import tenant_scope
from plugins.bank_import.allocations import Part, allocate, apply_prepayment, prepayment_balance
from plugins.bank_import.importing import import_statements
from plugins.bank_import.matching import reason_text
from plugins.bank_import.models import BankSettings, BankTransaction
from plugins.bank_import.statements import ParsedEntry, ParsedStatement
from plugins.bank_import.tests.conftest import COMPANY_IBAN, invoice_status
from plugins.invoicing import references
from plugins.invoicing.models import Invoice
from plugins.invoicing.models import Settings as InvoicingSettings

TODAY = dt.date.today()
PAYER_IBAN = "EE471000001020145685"
OTHER_IBAN = "EE382200221020145685"


class English:
    """Translates a reason like the English UI would (messages are English)."""

    @staticmethod
    def translate(message):
        return message.interpolate()


def payment(amount, *, reference=None, description="", name="MAKSJA OÜ", account=None,
            credit=True, fee=False, bank_reference=None, day=TODAY):
    return ParsedEntry(amount=Decimal(amount), credit=credit, currency="EUR", booking_date=day,
                       reference=reference, description=description, counterparty_name=name,
                       counterparty_account=account, fee=fee, bank_reference=bank_reference)


def run_import(dbsession, tenant, *entries, name="test.xml"):
    statement = ParsedStatement(format="camt.053.001.02", account_iban=COMPANY_IBAN,
                                currency="EUR", entries=list(entries))
    with tenant_scope(dbsession, tenant.id):
        result = import_statements(dbsession, [statement], name, tenant_id=tenant.id,
                                   user_id=None)
        dbsession.commit()
    return result


def transactions(dbsession, tenant):
    dbsession.rollback()
    dbsession.expire_all()
    with tenant_scope(dbsession, tenant.id):
        return list(dbsession.scalars(sa.select(BankTransaction).order_by(BankTransaction.id)))



def set_threshold(dbsession, tenant, value):
    with tenant_scope(dbsession, tenant.id):
        dbsession.scalar(sa.select(BankSettings)).auto_apply_threshold = value
        dbsession.commit()


def test_reference_of_an_invoice_pays_it_with_a_readable_reason(
        dbsession, tenant, bank_account, make_client, make_invoice):
    client = make_client(tenant, "Puidukoja OÜ")
    invoice = make_invoice(tenant, client, "120.00")
    other = make_invoice(tenant, client, "80.00")

    result = run_import(dbsession, tenant, payment("120.00", reference=invoice.reference))

    assert (result.entries_new, result.matching.applied) == (1, 1)
    assert invoice_status(dbsession, tenant, invoice.id) == ("paid", Decimal("120.00"))
    assert invoice_status(dbsession, tenant, other.id)[0] == "confirmed"
    [t] = transactions(dbsession, tenant)
    assert (t.state, t.confidence, t.client_id) == ("matched", 100, client.id)
    assert reason_text(English, t.reason) == (
        f"reference {references.display(invoice.reference)} = invoice {invoice.number}")


def test_rf_form_of_the_reference_is_recognised(dbsession, tenant, bank_account, make_client,
                                                make_invoice):
    client = make_client(tenant, "Välismaa AB")
    invoice = make_invoice(tenant, client, "55.50")
    rf = references.rf_from_estonian(invoice.reference)

    run_import(dbsession, tenant, payment("55.50", reference=rf))

    assert invoice_status(dbsession, tenant, invoice.id) == ("paid", Decimal("55.50"))


def test_partial_payments_add_up_in_one_file_and_across_files(
        dbsession, tenant, bank_account, make_client, make_invoice):
    client = make_client(tenant, "Osamaksja OÜ")
    invoice = make_invoice(tenant, client, "300.00")

    run_import(dbsession, tenant,
               payment("100.00", reference=invoice.reference, bank_reference="A1"),
               payment("50.00", reference=invoice.reference, bank_reference="A2"))
    assert invoice_status(dbsession, tenant, invoice.id) == ("partly_paid", Decimal("150.00"))
    first = transactions(dbsession, tenant)[0]
    assert "partial payment, 200.00 of invoice" in reason_text(English, first.reason)

    run_import(dbsession, tenant, payment("150.00", reference=invoice.reference,
                                          bank_reference="A3"), name="next.xml")
    assert invoice_status(dbsession, tenant, invoice.id) == ("paid", Decimal("300.00"))
    assert [t.state for t in transactions(dbsession, tenant)] == ["matched"] * 3


def test_overpayment_becomes_prepayment_offered_for_the_next_invoice(
        dbsession, tenant, bank_account, make_client, make_invoice):
    client = make_client(tenant, "Ülemaksja OÜ")
    invoice = make_invoice(tenant, client, "100.00")

    run_import(dbsession, tenant, payment("130.00", reference=invoice.reference))

    assert invoice_status(dbsession, tenant, invoice.id) == ("paid", Decimal("100.00"))
    [t] = transactions(dbsession, tenant)
    assert t.state == "matched"
    assert "30.00 more than invoice" in reason_text(English, t.reason)
    with tenant_scope(dbsession, tenant.id):
        assert prepayment_balance(dbsession, client.id) == Decimal("30.00")

    dbsession.rollback()
    following = make_invoice(tenant, client, "50.00")
    with tenant_scope(dbsession, tenant.id):
        applied = apply_prepayment(dbsession, client.id, dbsession.get(Invoice, following.id),
                                   user_id=None)
        dbsession.commit()
    assert applied == Decimal("30.00")
    assert invoice_status(dbsession, tenant, following.id) == ("partly_paid", Decimal("30.00"))
    with tenant_scope(dbsession, tenant.id):
        assert prepayment_balance(dbsession, client.id) == Decimal("0.00")


def test_one_payment_for_several_invoices_named_in_the_description(
        dbsession, tenant, bank_account, make_client, make_invoice):
    client = make_client(tenant, "Mitmearve AS")
    first = make_invoice(tenant, client, "40.00")
    second = make_invoice(tenant, client, "60.00")
    untouched = make_invoice(tenant, client, "100.00")

    run_import(dbsession, tenant, payment(
        "100.00", description=f"Arved nr {first.number}, {second.number}. Aitäh!"))

    assert invoice_status(dbsession, tenant, first.id)[0] == "paid"
    assert invoice_status(dbsession, tenant, second.id)[0] == "paid"
    assert invoice_status(dbsession, tenant, untouched.id)[0] == "confirmed"
    [t] = transactions(dbsession, tenant)
    assert t.confidence == 90
    assert reason_text(English, t.reason) == (
        f"invoice number {first.number}, {second.number} in the description; "
        f"amount = invoices {first.number}, {second.number} together")


def test_client_reference_pays_the_combination_of_open_invoices(
        dbsession, tenant, bank_account, make_client, make_invoice):
    with tenant_scope(dbsession, tenant.id):
        dbsession.scalar(sa.select(InvoicingSettings)).reference_mode = "client"
        dbsession.commit()
    client = make_client(tenant, "Püsiklient OÜ")
    old = make_invoice(tenant, client, "25.00", issue_date=TODAY - dt.timedelta(days=40))
    middle = make_invoice(tenant, client, "70.00", issue_date=TODAY - dt.timedelta(days=20))
    new = make_invoice(tenant, client, "30.00")
    assert old.reference == middle.reference == new.reference

    run_import(dbsession, tenant, payment("55.00", reference=old.reference))

    # 25 + 30 is the only combination of 55: the oldest and the newest.
    assert invoice_status(dbsession, tenant, old.id)[0] == "paid"
    assert invoice_status(dbsession, tenant, new.id)[0] == "paid"
    assert invoice_status(dbsession, tenant, middle.id)[0] == "confirmed"
    [t] = transactions(dbsession, tenant)
    assert reason_text(English, t.reason).startswith(
        f"reference {references.display(old.reference)} = client Püsiklient OÜ; amount = "
        f"invoices")


def test_known_payer_account_is_a_suggestion_below_the_threshold(
        dbsession, tenant, bank_account, make_client, make_invoice):
    client = make_client(tenant, "Kontoga OÜ", iban=PAYER_IBAN)
    invoice = make_invoice(tenant, client, "99.90")

    run_import(dbsession, tenant, payment("99.90", account=PAYER_IBAN, bank_reference="K1"))
    [t] = transactions(dbsession, tenant)
    assert (t.state, t.confidence) == ("open", 80)
    assert t.suggestion == [{"client_id": client.id, "invoice_id": invoice.id,
                             "amount": "99.90"}]
    assert reason_text(English, t.reason) == (
        f"payer account {PAYER_IBAN} is client Kontoga OÜ's; amount = invoice {invoice.number}")
    assert invoice_status(dbsession, tenant, invoice.id)[0] == "confirmed"

    set_threshold(dbsession, tenant, 80)
    second = make_invoice(tenant, client, "10.00")
    run_import(dbsession, tenant, payment("10.00", account=PAYER_IBAN, bank_reference="K2"))
    assert invoice_status(dbsession, tenant, second.id)[0] == "paid"


def test_an_account_that_paid_for_several_clients_is_not_enough_alone(
        dbsession, tenant, bank_account, make_client, make_invoice):
    set_threshold(dbsession, tenant, 0)  # even "apply everything" must not guess
    father = make_client(tenant, "Jaan Tamm")
    daughter = make_client(tenant, "Mari Tamm")
    father_invoice = make_invoice(tenant, father, "20.00")
    daughter_invoice = make_invoice(tenant, daughter, "20.00")
    # Earlier payments from one family account, matched by hand to each client.
    set_threshold(dbsession, tenant, 101)
    run_import(dbsession, tenant,
               payment("5.00", account=PAYER_IBAN, name="JAAN TAMM", bank_reference="F1"),
               payment("5.00", account=PAYER_IBAN, name="JAAN TAMM", bank_reference="F2"))
    with tenant_scope(dbsession, tenant.id):
        first, second = dbsession.scalars(sa.select(BankTransaction).order_by(BankTransaction.id))
        allocate(dbsession, first, [Part(father.id, None, Decimal("5.00"))], user_id=None)
        allocate(dbsession, second, [Part(daughter.id, None, Decimal("5.00"))], user_id=None)
        dbsession.commit()
    set_threshold(dbsession, tenant, 0)

    run_import(dbsession, tenant, payment("20.00", account=PAYER_IBAN, name="TAMM PERE",
                                          bank_reference="F3"))
    latest = transactions(dbsession, tenant)[-1]
    assert latest.state == "open"
    assert latest.suggestion is None
    assert reason_text(English, latest.reason) == (
        f"payer account {PAYER_IBAN} has paid for several clients: Jaan Tamm, Mari Tamm; "
        "choose the client")
    assert invoice_status(dbsession, tenant, father_invoice.id)[0] == "confirmed"
    assert invoice_status(dbsession, tenant, daughter_invoice.id)[0] == "confirmed"

    # With the name of one of them, the account and the name together point to her.
    run_import(dbsession, tenant, payment("20.00", account=PAYER_IBAN, name="MARI TAMM",
                                          bank_reference="F4"))
    latest = transactions(dbsession, tenant)[-1]
    assert latest.client_id == daughter.id
    assert latest.reason["source"] == "iban_name"
    assert invoice_status(dbsession, tenant, daughter_invoice.id)[0] == "paid"


def test_payer_name_alone_finds_the_client_with_legal_form_first(
        dbsession, tenant, bank_account, make_client, make_invoice):
    client = make_client(tenant, "Nimetark OÜ")
    invoice = make_invoice(tenant, client, "12.00")

    run_import(dbsession, tenant, payment("12.00", name="OU NIMETARK"))

    [t] = transactions(dbsession, tenant)
    assert (t.state, t.confidence, t.client_id) == ("open", 70, client.id)
    assert t.suggestion[0]["invoice_id"] == invoice.id


def test_outgoing_payments_and_fees_are_recorded_never_matched(
        dbsession, tenant, bank_account, make_client, make_invoice):
    set_threshold(dbsession, tenant, 0)
    client = make_client(tenant, "Tagastus OÜ")
    invoice = make_invoice(tenant, client, "45.00")

    run_import(dbsession, tenant,
               payment("45.00", reference=invoice.reference, credit=False, bank_reference="O1"),
               payment("45.00", reference=invoice.reference, fee=True, bank_reference="O2"),
               payment("1.00", description="ei tea mis", name="TUNDMATU", bank_reference="O3"))

    assert [t.state for t in transactions(dbsession, tenant)] == ["outgoing", "fee", "open"]
    assert all(not t.allocations for t in transactions(dbsession, tenant))
    assert invoice_status(dbsession, tenant, invoice.id)[0] == "confirmed"


def test_reference_of_a_paid_invoice_waits_as_a_prepayment_suggestion(
        dbsession, tenant, bank_account, make_client, make_invoice):
    client = make_client(tenant, "Kahekordne OÜ")
    invoice = make_invoice(tenant, client, "70.00")
    run_import(dbsession, tenant, payment("70.00", reference=invoice.reference,
                                          bank_reference="D1"))

    run_import(dbsession, tenant, payment("70.00", reference=invoice.reference,
                                          bank_reference="D2"))

    second = transactions(dbsession, tenant)[-1]
    assert (second.state, second.confidence) == ("open", 60)
    assert second.suggestion == [{"client_id": client.id, "invoice_id": None, "amount": "70.00"}]
    assert "is already paid" in reason_text(English, second.reason)
    assert invoice_status(dbsession, tenant, invoice.id) == ("paid", Decimal("70.00"))


@pytest.mark.parametrize("threshold, applied", [(95, 1), (101, 0)])
def test_threshold_decides_what_is_applied(dbsession, tenant, bank_account, make_client,
                                           make_invoice, threshold, applied):
    set_threshold(dbsession, tenant, threshold)
    client = make_client(tenant, "Lävend OÜ")
    exact = make_invoice(tenant, client, "10.00")
    partial = make_invoice(tenant, client, "50.00")

    result = run_import(dbsession, tenant,
                        payment("10.00", reference=exact.reference, bank_reference="T1"),
                        payment("20.00", description=f"arve {partial.number}",
                                bank_reference="T2"))

    assert result.matching.applied == applied
    assert invoice_status(dbsession, tenant, exact.id)[0] == ("paid" if applied else "confirmed")
    assert invoice_status(dbsession, tenant, partial.id)[0] == "confirmed"  # 80 < threshold


def test_a_short_reference_named_in_the_text_is_read_as_the_reference(
        dbsession, tenant, bank_account, make_client, make_invoice):
    client = make_client(tenant, "Lühiviide OÜ")
    invoice = make_invoice(tenant, client, "18.00")
    assert len(invoice.reference) < 6  # a young series: the first invoices' references

    run_import(dbsession, tenant, payment(
        "18.00", description=f"Viitenumber {references.display(invoice.reference)}, aitäh"))

    assert invoice_status(dbsession, tenant, invoice.id) == ("paid", Decimal("18.00"))
    [t] = transactions(dbsession, tenant)
    assert t.reason["source"] == "ref_invoice"


def test_automatic_matches_are_in_the_audit_log(dbsession, tenant, bank_account, make_client,
                                                make_invoice):
    client = make_client(tenant, "Auditeeritud OÜ")
    invoice = make_invoice(tenant, client, "64.00")

    run_import(dbsession, tenant, payment("64.00", reference=invoice.reference))

    [t] = transactions(dbsession, tenant)
    with tenant_scope(dbsession, tenant.id):
        entries = history(dbsession, "bank_transaction", t.id, with_children=True)
        [allocation] = [e for e in entries if e.entity == "bank_allocation"]
        invoice_entries = history(dbsession, "inv_invoice", invoice.id)
    assert allocation.action == "insert"
    assert [e.changes["state"] for e in entries if e.entity == "bank_transaction"] == [
        ["open", "matched"]]
    assert allocation.changes["amount"] == [None, "64.00"]
    assert allocation.changes["invoice_id"] == [None, invoice.id]
    assert allocation.changes["automatic"] == [None, True]
    assert invoice_entries[0].changes == {"paid_amount": ["0.00", "64.00"],
                                          "status": ["confirmed", "paid"]}
