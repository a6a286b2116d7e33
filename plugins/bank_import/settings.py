"""The tenant's bank accounts and matching threshold."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import tenant_scope
from core.models import Tenant
from plugins.bank_import.models import BankAccount, BankSettings
from plugins.invoicing.models import Settings as InvoicingSettings


def create_defaults(dbsession: Session, tenant: Tenant) -> None:
    """Matching settings, and the invoicing settings' IBAN as the first bank account."""
    with tenant_scope(dbsession, tenant.id):
        if dbsession.scalar(sa.select(BankSettings.id)) is None:
            dbsession.add(BankSettings())
        invoicing = dbsession.scalar(sa.select(InvoicingSettings))
        iban = invoicing.iban if invoicing is not None else None
        if iban and dbsession.scalar(sa.select(BankAccount.id)) is None:
            dbsession.add(BankAccount(iban=iban, currency="EUR",
                                      name=invoicing.bank_name or ""))
        dbsession.flush()


def settings_of(dbsession: Session) -> BankSettings:
    """The tenant's matching settings (created with the defaults when missing)."""
    settings = dbsession.scalar(sa.select(BankSettings))
    if settings is None:
        settings = BankSettings()
        dbsession.add(settings)
        dbsession.flush()
    return settings


def find_account(dbsession: Session, iban: str, currency: str, *,
                 lock: bool = False) -> BankAccount | None:
    """The tenant's active account with ``iban`` in ``currency``, if there is one; with
    ``lock`` its row is locked to the end of the transaction, so two imports into one
    account run one after the other (the second sees the first one's entries)."""
    stmt = sa.select(BankAccount).where(
        BankAccount.iban == iban, BankAccount.currency == currency, BankAccount.active)
    return dbsession.scalar(stmt.with_for_update() if lock else stmt)
