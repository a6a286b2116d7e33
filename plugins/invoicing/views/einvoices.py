"""Sending a confirmed invoice as an e-invoice through a channel (I5)."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from core.web import flash
from plugins.invoicing.einvoices import send_einvoice
from plugins.invoicing.i18n import _
from plugins.invoicing.invoices import InvoiceError
from plugins.invoicing.permissions import INVOICE_SEND
from plugins.invoicing.views.invoices import require_invoice


@view_config(route_name="inv_invoice_einvoice", request_method="POST", permission=INVOICE_SEND)
def send_view(request: Request) -> HTTPSeeOther:
    """Send the invoice through the chosen e-invoice channel."""
    invoice = require_invoice(request)
    try:
        send_einvoice(request, invoice, request.POST.get("channel", ""))
    except InvoiceError as exc:
        flash(request, exc.message, kind="error")
    else:
        flash(request, _("Invoice ${number} was handed to the e-invoice channel.",
                         mapping={"number": invoice.number}))
    return HTTPSeeOther(request.route_url("inv_invoice", invoice_id=invoice.id))


def includeme(config: Any) -> None:
    """The e-invoice sending route."""
    config.add_route("inv_invoice_einvoice", "/invoices/{invoice_id:\\d{1,9}}/einvoice")
    config.scan(__name__)
