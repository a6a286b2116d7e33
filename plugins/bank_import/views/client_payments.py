"""The client card's Payments tab (C11): the client's balance, the payments received from
the client, and using the client's prepayment for its open invoices."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from core.paging import Page, page_number
from core.web import flash
from plugins.bank_import import allocations
from plugins.bank_import.balances import (
    PAYMENT_KIND_LABELS,
    client_payments,
    count_client_payments,
    request_balance,
)
from plugins.bank_import.i18n import _
from plugins.bank_import.permissions import PAYMENT_MATCH, PAYMENT_VIEW
from plugins.crm_register.access import require_client
from plugins.crm_register.models import Client
from plugins.crm_register.views.card import card_context
from plugins.invoicing.invoices import OPEN_STATUSES
from plugins.invoicing.models import Invoice

PAGE_SIZE = 50
MAX_OFFERS = 20
"""At most this many open invoices are offered for the prepayment (oldest due first)."""


@dataclass(frozen=True)
class PrepaymentOffer:
    """An open invoice the client's prepayment can be used for."""

    invoice_id: int
    number: str
    due_date: dt.date
    open_amount: Decimal
    usable: Decimal
    """How much of the prepayment would go to it."""


def _offers(request: Request, client: Client, prepayment: Decimal) -> list[PrepaymentOffer]:
    """The client's open invoices (not credit invoices), oldest due first."""
    if prepayment <= 0:
        return []
    invoices = request.dbsession.scalars(
        sa.select(Invoice)
        .where(Invoice.client_id == client.id, Invoice.status.in_(OPEN_STATUSES),
               Invoice.kind != "credit", Invoice.total > Invoice.paid_amount)
        .order_by(Invoice.due_date, Invoice.id).limit(MAX_OFFERS))
    offers = []
    for invoice in invoices:
        left = allocations.open_amount(invoice)
        if left > 0:
            offers.append(PrepaymentOffer(invoice.id, invoice.number or "", invoice.due_date,
                                          left, min(left, prepayment)))
    return offers


@view_config(route_name="bank_client_payments", request_method="GET",
             renderer="plugins.bank_import:templates/client_payments.pt",
             permission=PAYMENT_VIEW)
def client_payments_tab(request: Request) -> dict[str, Any]:
    """The Payments tab: balance summary, received payments (newest first, paged) and the
    client's open invoices the prepayment can be used for."""
    client = require_client(request)
    db = request.dbsession
    balance = request_balance(request, client)
    total = count_client_payments(db, client.id)
    number = min(page_number(request), max(1, math.ceil(total / PAGE_SIZE)))
    rows = client_payments(db, client.id, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    can_match = bool(request.has_permission(PAYMENT_MATCH))
    return {
        **card_context(request, client, "bank.payments"),
        "balance": balance,
        "pager": Page(items=rows, number=number, size=PAGE_SIZE, total=total,
                      request=request),
        "kind_labels": PAYMENT_KIND_LABELS,
        "can_match": can_match,
        "offers": _offers(request, client, balance.prepayment) if can_match else [],
    }


def _back(request: Request, client_id: int) -> HTTPSeeOther:
    return HTTPSeeOther(request.route_url("bank_client_payments", client_id=client_id))


@view_config(route_name="bank_client_apply_prepayment", request_method="POST",
             permission=PAYMENT_MATCH)
def apply_prepayment(request: Request) -> HTTPSeeOther:
    """Use the client's prepayment for one of its open invoices (``invoice_id`` in the
    form), as much as the invoice has open; refusals change nothing and say why."""
    client = require_client(request)
    db = request.dbsession
    # One prepayment use per client at a time (no-op on SQLite, which serialises writes).
    db.execute(sa.select(Client.id).where(Client.id == client.id).with_for_update())
    raw = request.POST.get("invoice_id", "").strip()
    invoice = None
    if raw.isdigit() and len(raw) <= 9:
        invoice = db.scalar(sa.select(Invoice).where(Invoice.id == int(raw)))
    if invoice is None or invoice.client_id != client.id:
        flash(request, _("Choose one of the client's open invoices."), kind="error")
        return _back(request, client.id)
    if invoice.kind == "credit" or allocations.open_amount(invoice) <= 0:
        flash(request, _("Invoice ${number} has nothing left to pay.",
                         mapping={"number": invoice.number or ""}), kind="error")
        return _back(request, client.id)
    if allocations.prepayment_balance(db, client.id) <= 0:
        flash(request, _("The client has no prepayment to use."), kind="error")
        return _back(request, client.id)
    savepoint = db.begin_nested()
    try:
        applied = allocations.apply_prepayment(db, client.id, invoice, user_id=request.user.id)
        savepoint.commit()
    except allocations.AllocationError as exc:
        savepoint.rollback()
        flash(request, exc.message, kind="error")
        return _back(request, client.id)
    if applied > 0:
        flash(request, _("${amount} of the prepayment was used for invoice ${number}.",
                         mapping={"amount": request.format_money(applied, invoice.currency),
                                  "number": invoice.number or ""}))
    else:
        flash(request, _("Nothing was used: there is no prepayment left."), kind="warning")
    return _back(request, client.id)


def includeme(config: Any) -> None:
    """The Payments tab routes."""
    payments = "/clients/{client_id:\\d{1,9}}/payments"
    config.add_route("bank_client_payments", payments)
    config.add_route("bank_client_apply_prepayment", payments + "/apply")
    config.scan(__name__)
