"""Demo data of bank_import: the company's account, the payments behind the demo invoices'
paid amounts, and a fresh statement (imported through the real import and matcher) with
payments matched automatically, a suggestion and an unknown payer waiting on the work list.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.models import Tenant, User
from plugins.bank_import.importing import import_statements
from plugins.bank_import.models import MATCHED, Allocation, BankAccount, BankTransaction, Statement
from plugins.bank_import.settings import create_defaults
from plugins.bank_import.statements import ParsedEntry, ParsedStatement
from plugins.crm_register.models import Client
from plugins.invoicing import references
from plugins.invoicing.invoices import OPEN_STATUSES
from plugins.invoicing.models import Invoice

DEMO_IBAN = "EE382200221020145685"
"""The demo company's account when the invoicing settings name none."""


def create_demo_data(dbsession: Session, tenant: Tenant) -> None:
    """The account, earlier payments of paid invoices and one statement to work on."""
    create_defaults(dbsession, tenant)
    account = dbsession.scalar(sa.select(BankAccount).order_by(BankAccount.id))
    if account is None:
        account = BankAccount(iban=DEMO_IBAN, currency="EUR", name="Swedbank")
        dbsession.add(account)
        dbsession.flush()
    user = dbsession.scalar(sa.select(User).where(User.role == "accountant").order_by(User.id)) \
        or dbsession.scalar(sa.select(User).order_by(User.id))
    _earlier_payments(dbsession, tenant, account, user)
    _todays_statement(dbsession, tenant, account, user)


def _earlier_payments(dbsession: Session, tenant: Tenant, account: BankAccount,
                      user: User | None) -> None:
    """One matched payment for each demo invoice the invoicing demo marked (partly) paid."""
    invoices = list(dbsession.scalars(
        sa.select(Invoice).where(Invoice.paid_amount > 0).order_by(Invoice.issue_date)))
    if not invoices:
        return
    statement = Statement(account_id=account.id, file_name="väljavõte-2026.xml",
                          file_format="camt.053.001.02", statement_ref="DEMO-EARLIER",
                          period_start=invoices[0].issue_date,
                          period_end=invoices[-1].issue_date + dt.timedelta(days=10),
                          entries_in_file=len(invoices), entries_new=len(invoices),
                          matched_auto=len(invoices), created_by_id=user.id if user else None)
    dbsession.add(statement)
    dbsession.flush()
    for number, invoice in enumerate(invoices, start=1):
        client = invoice.client
        reference = invoice.reference_number
        transaction = BankTransaction(
            account_id=account.id, statement_id=statement.id, entry_key=f"ref:DEMO{number:06d}",
            bank_reference=f"DEMO{number:06d}",
            booking_date=invoice.issue_date + dt.timedelta(days=7 + number % 9),
            amount=invoice.paid_amount, credit=True, currency="EUR",
            counterparty_name=client.name, counterparty_account=client.iban,
            reference=reference, description=f"Arve {invoice.number}", state=MATCHED,
            client_id=client.id, confidence=100,
            reason={"source": "ref_invoice", "outcome": "exact",
                    "params": {"ref": references.display(reference),
                               "number": invoice.number or ""}})
        dbsession.add(transaction)
        dbsession.flush()
        dbsession.add(Allocation(transaction_id=transaction.id, client_id=client.id,
                                 invoice_id=invoice.id, amount=invoice.paid_amount,
                                 automatic=True))
    dbsession.flush()


def _todays_statement(dbsession: Session, tenant: Tenant, account: BankAccount,
                      user: User | None) -> None:
    """Yesterday's statement through the real import: automatic matches and work."""
    rng = random.Random(5)  # noqa: S311 - demo data, not a secret
    open_invoices = list(dbsession.scalars(
        sa.select(Invoice).where(Invoice.status.in_(OPEN_STATUSES), Invoice.kind == "invoice")
        .order_by(Invoice.due_date)))
    yesterday = dt.date.today() - dt.timedelta(days=1)
    entries: list[ParsedEntry] = []

    def payment(amount: Decimal, client: Client, **fields: str) -> None:
        entries.append(ParsedEntry(
            amount=amount, credit=True, currency="EUR", booking_date=yesterday,
            value_date=yesterday, bank_reference=f"2026{rng.randrange(10**11):011d}",
            counterparty_name=client.name.upper(), counterparty_account=client.iban,
            **fields))

    if len(open_invoices) >= 1:
        first = open_invoices[0]
        payment(first.total - first.paid_amount, first.client, reference=first.reference_number)
    if len(open_invoices) >= 2:
        second = open_invoices[1]
        payment(((second.total - second.paid_amount) / 2).quantize(Decimal("0.01")),
                second.client, reference=second.reference_number, description="osamakse")
    if len(open_invoices) >= 3:
        third = open_invoices[2]
        payment(third.total - third.paid_amount, third.client,
                description=f"Tasumine arve nr {third.number} eest")
    if len(open_invoices) >= 4:
        fourth = open_invoices[3]
        payment(Decimal("100.00"), fourth.client, description="ettemaks")
    entries.append(ParsedEntry(
        amount=Decimal("250.00"), credit=True, currency="EUR", booking_date=yesterday,
        bank_reference=f"2026{rng.randrange(10**11):011d}", counterparty_name="JAAN TAMM",
        counterparty_account="EE471000001020145685", description="kursuse eest"))
    entries.append(ParsedEntry(
        amount=Decimal("1450.00"), credit=False, currency="EUR", booking_date=yesterday,
        bank_reference=f"2026{rng.randrange(10**11):011d}",
        counterparty_name="Kinnisvara Haldus AS", counterparty_account="EE532200221034567891",
        description="Üür november"))
    entries.append(ParsedEntry(
        amount=Decimal("3.20"), credit=False, currency="EUR", booking_date=yesterday,
        bank_reference=f"2026{rng.randrange(10**11):011d}", description="Teenustasu",
        fee=True))
    statement = ParsedStatement(format="camt.053.001.02", account_iban=account.iban,
                                currency=account.currency, statement_id="DEMO-TODAY",
                                period_start=yesterday, period_end=yesterday, entries=entries)
    import_statements(dbsession, [statement], "statement-demo.xml", tenant_id=tenant.id,
                      user_id=user.id if user else None)
