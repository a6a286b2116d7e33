"""Administration → Bank accounts: the company's accounts statements are accepted for, and
the confidence from which proposed matches are applied without a person.

Routes: ``/bank/settings`` (the page; POST saves the threshold), ``POST
/bank/settings/accounts`` (add an account) and ``POST
/bank/settings/accounts/{account_id}/toggle`` (stop or resume accepting an account).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from babel.numbers import list_currencies
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from core.forms import Field, Form, Invalid
from core.web import flash
from plugins.bank_import.i18n import _
from plugins.bank_import.models import BankAccount
from plugins.bank_import.permissions import SETTINGS_MANAGE
from plugins.bank_import.settings import settings_of
from plugins.crm_register.identifiers import iban

TEMPLATE = "plugins.bank_import:templates/settings.pt"


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in list_currencies():
        raise Invalid(_("Not a currency code (e.g. EUR)."))
    return code


def _threshold(value: int) -> int:
    if not 0 <= value <= 101:
        raise Invalid(_("Enter a number from 0 to 101 (101: never automatically)."))
    return value


ACCOUNT_FIELDS = (
    Field("iban", _("IBAN"), required=True, max_length=42, validator=iban),
    Field("currency", _("Currency"), required=True, max_length=3, validator=_currency),
    Field("name", _("Name (e.g. the bank)"), max_length=100),
)
THRESHOLD_FIELDS = (
    Field("auto_apply_threshold", _("Apply matches automatically from this confidence (%)"),
          type="integer", required=True, validator=_threshold,
          help=_("Reference number of an invoice with the exact amount: 100; invoice "
                 "numbers in the description: 90; known payer account: 80; payer name: 70.")),
)


def _page(request: Request, account_form: Form | None = None,
          threshold_form: Form | None = None) -> dict[str, Any]:
    settings = settings_of(request.dbsession)
    return {
        "accounts": list(request.dbsession.scalars(
            sa.select(BankAccount).order_by(BankAccount.iban, BankAccount.currency))),
        "account_form": account_form or Form(request, ACCOUNT_FIELDS, {"currency": "EUR"}),
        "threshold_form": threshold_form or Form(
            request, THRESHOLD_FIELDS,
            {"auto_apply_threshold": settings.auto_apply_threshold}),
    }


@view_config(route_name="bank_settings", renderer=TEMPLATE, permission=SETTINGS_MANAGE)
def settings_page(request: Request) -> Any:
    """The accounts and the threshold; POST saves the threshold."""
    if request.method != "POST":
        return _page(request)
    form = Form(request, THRESHOLD_FIELDS)
    if not form.validate():
        request.response.status_int = 400
        return _page(request, threshold_form=form)
    settings_of(request.dbsession).auto_apply_threshold = form.data["auto_apply_threshold"]
    flash(request, _("Saved."))
    return HTTPSeeOther(request.route_url("bank_settings"))


@view_config(route_name="bank_account_add", request_method="POST", renderer=TEMPLATE,
             permission=SETTINGS_MANAGE)
def add_account(request: Request) -> Any:
    """Add a bank account (an IBAN in one currency)."""
    form = Form(request, ACCOUNT_FIELDS)
    if form.validate():
        exists = request.dbsession.scalar(sa.select(BankAccount.id).where(
            BankAccount.iban == form.data["iban"],
            BankAccount.currency == form.data["currency"]))
        if exists:
            form.add_error("iban", _("This account is already there."))
    if form.errors:
        request.response.status_int = 400
        return _page(request, account_form=form)
    request.dbsession.add(BankAccount(iban=form.data["iban"], currency=form.data["currency"],
                                      name=form.data["name"] or ""))
    flash(request, _("Account ${iban} added.", mapping={"iban": form.data["iban"]}))
    return HTTPSeeOther(request.route_url("bank_settings"))


@view_config(route_name="bank_account_toggle", request_method="POST",
             permission=SETTINGS_MANAGE)
def toggle_account(request: Request) -> HTTPSeeOther:
    """Stop accepting statements of an account, or accept them again."""
    account = request.dbsession.get(BankAccount, int(request.matchdict["account_id"]))
    if account is None:
        raise HTTPNotFound()
    account.active = not account.active
    flash(request, _("Statements of ${iban} are accepted again.", mapping={"iban": account.iban})
          if account.active else
          _("Statements of ${iban} are no longer accepted.", mapping={"iban": account.iban}))
    return HTTPSeeOther(request.route_url("bank_settings"))


def includeme(config: Any) -> None:
    """Routes of the settings page."""
    config.add_route("bank_settings", "/bank/settings")
    config.add_route("bank_account_add", "/bank/settings/accounts")
    config.add_route("bank_account_toggle",
                     "/bank/settings/accounts/{account_id:\\d{1,9}}/toggle")
    config.scan(__name__)
