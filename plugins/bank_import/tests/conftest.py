"""Fixtures of the bank_import plugin's tests: clients, confirmed invoices, bank accounts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from core.db import make_engine, make_session_factory, tenant_scope
from core.models import User
from plugins.bank_import.models import BankAccount
from plugins.crm_register.models import Client
from plugins.crm_register.tests.conftest import make_client  # noqa: F401 - shared fixture
from plugins.invoicing.invoices import LineInput, add_line, confirm, new_draft
from plugins.invoicing.models import Invoice

COMPANY_IBAN = "EE382200221020145685"
"""The bank account of the test tenant, as in the statement fixtures."""


@dataclass(frozen=True)
class IssuedInvoice:
    """What a test needs to know of a confirmed invoice."""

    id: int
    number: str
    reference: str
    total: Decimal
    client_id: int
    due_date: dt.date


@pytest.fixture
def make_invoice(db_url: str) -> Iterator[Callable[..., IssuedInvoice]]:
    """Confirm an invoice of ``total`` euros (one VAT-exempt line) for ``client``:
    ``make_invoice(tenant, client, "120.00", issue_date=date, kind="invoice")``."""
    engine = make_engine(db_url)

    def factory(tenant: Any, client: Client, total: Decimal | str,
                issue_date: dt.date | None = None, kind: str = "invoice") -> IssuedInvoice:
        session = make_session_factory(engine)()
        with session, session.begin(), tenant_scope(session, tenant.id):
            user = session.scalar(sa.select(User).order_by(User.id).limit(1))
            if user is None:
                user = User(email="kirjed@example.test", name="Raamatupidaja", role="accountant")
                session.add(user)
                session.flush()
            fresh = session.get(Client, client.id)
            invoice = new_draft(session, fresh, user, kind=kind,
                                issue_date=issue_date or dt.date.today())
            add_line(session, invoice, LineInput(description="Teenus", unit_price=Decimal(total),
                                                 vat_code="exempt", unit_code="C62"))
            confirm(session, invoice, user, can_override=True)
            return IssuedInvoice(invoice.id, invoice.number or "", invoice.reference_number or "",
                                 invoice.total, invoice.client_id, invoice.due_date)

    yield factory
    engine.dispose()


def invoice_status(dbsession: Any, tenant: Any, invoice_id: int) -> tuple[str, Decimal]:
    """``(status, paid amount)`` of an invoice as committed (the session's view refreshed)."""
    dbsession.rollback()
    dbsession.expire_all()
    with tenant_scope(dbsession, tenant.id):
        invoice = dbsession.get(Invoice, invoice_id)
        return invoice.status, invoice.paid_amount


@pytest.fixture
def bank_account(db_url: str, tenant: Any) -> Iterator[BankAccount]:
    """The tenant's euro account ``COMPANY_IBAN`` (the account of the statement fixtures)."""
    engine = make_engine(db_url)
    session = make_session_factory(engine)()
    with session, session.begin(), tenant_scope(session, tenant.id):
        account = session.scalar(sa.select(BankAccount).where(BankAccount.iban == COMPANY_IBAN))
        if account is None:
            account = BankAccount(iban=COMPANY_IBAN, currency="EUR", name="Swedbank")
            session.add(account)
            session.flush()
        session.expunge(account)
    yield account
    engine.dispose()
