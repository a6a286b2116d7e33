"""Hook implementations of the bank_import plugin."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from sqlalchemy.orm import Session

from core.models import Tenant
from core.sdk import CardFact, CardTab, MenuItem, Permission, StatementParser, hookimpl
from plugins.bank_import import permissions as perm
from plugins.bank_import.i18n import _

PLUGIN = "bank_import"


@hookimpl
def permissions() -> list[Permission]:
    """The bank_import permissions."""
    return list(perm.PERMISSIONS)


@hookimpl
def plugin_enabled(dbsession: Session, tenant: Tenant, plugin: str) -> None:
    """Give the tenant its matching settings and, from the invoicing settings, its account."""
    if plugin == PLUGIN:
        from plugins.bank_import.settings import create_defaults

        create_defaults(dbsession, tenant)


@hookimpl
def statement_parsers(request: Request) -> list[StatementParser]:
    """camt.053, camt.054, MT940 and the CSV exports of Swedbank, SEB and LHV."""
    from plugins.bank_import.parsers import builtin_parsers

    return builtin_parsers()


@hookimpl
def menu_items(request: Request) -> list[MenuItem]:
    """Bank statements, the payments work list and receivables; settings for admins."""
    return [
        MenuItem("bank.statements", _("Bank"), "bank_statements", perm.PAYMENT_VIEW, order=45),
        MenuItem("bank.receivables", _("Receivables"), "bank_receivables",
                 perm.RECEIVABLES_VIEW, order=46),
        MenuItem("bank.settings", _("Bank accounts"), "bank_settings", perm.SETTINGS_MANAGE,
                 order=85, section="admin"),
    ]


@hookimpl
def client_card_tabs(request: Request, client: Any) -> list[CardTab]:
    """The payments received tab of the client card (C11)."""
    return [CardTab("bank.payments", _("Payments"), "bank_client_payments", perm.PAYMENT_VIEW,
                    order=17)]


@hookimpl
def client_card_facts(request: Request, client: Any) -> list[CardFact]:
    """The client's balance (saldo) in the card header (C11)."""
    from plugins.bank_import.balances import balance_fact_kind, balance_fact_value

    return [CardFact("bank.balance", _("Balance"), balance_fact_value, perm.PAYMENT_VIEW,
                     order=10, kind=balance_fact_kind)]


@hookimpl
def demo_data(dbsession: Session, tenant: Tenant) -> None:
    """The demo tenant's bank account, the payments of its paid invoices and a statement
    with payments waiting on the work list."""
    from plugins.bank_import.demo import create_demo_data

    create_demo_data(dbsession, tenant)
