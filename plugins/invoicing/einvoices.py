"""Sending e-invoices through the channels of the ``einvoice_channels`` hook.

The invoicing plugin brings the ``file`` channel: the invoice's EN 16931 UBL XML is written
to a folder (setting ``invoicing.einvoice_path``, default ``var/einvoices``; one folder per
tenant) for an e-invoice operator's connector to pick up. Operators' APIs come as plugins.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from pyramid.request import Request
from sqlalchemy.orm import Session

from core.sdk import EInvoiceChannel
from plugins.invoicing.i18n import _
from plugins.invoicing.invoices import InvoiceError, invoice_document
from plugins.invoicing.models import Delivery, Invoice
from plugins.invoicing.sending import mark_sent

DEFAULT_PATH = "var/einvoices"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"


def write_file(dbsession: Session, invoice: Invoice, xml: bytes,
               settings: dict[str, Any]) -> str:
    """Write ``xml`` atomically as ``<folder>/<tenant>/<number>.xml``; return the path."""
    folder = Path(settings.get("invoicing.einvoice_path") or DEFAULT_PATH) / str(
        invoice.tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{_safe(invoice.number or str(invoice.id))}.xml"
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(xml)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return str(target)


def file_channel() -> EInvoiceChannel:
    """The ``file`` channel (an XML file for an operator)."""
    return EInvoiceChannel("file", _("XML file for the e-invoice operator"), write_file)


def channels(request: Request) -> dict[str, EInvoiceChannel]:
    """The e-invoice channels of the tenant's plugins, by name."""
    found: dict[str, EInvoiceChannel] = {}
    for batch in request.hooks.einvoice_channels(request=request):
        for channel in batch or ():
            found.setdefault(channel.name, channel)
    return found


def send_einvoice(request: Request, invoice: Invoice, channel_name: str) -> Delivery:
    """Hand a confirmed invoice's UBL XML to the channel and record the delivery. Raises
    :class:`InvoiceError` for a draft or an unknown channel; a channel failure is recorded
    as a failed delivery and raised as :class:`InvoiceError`."""
    from plugins.invoicing.einvoice.ubl import to_ubl

    if invoice.status == "draft":
        raise InvoiceError(_("Confirm the invoice before sending it."))
    channel = channels(request).get(channel_name)
    if channel is None:
        raise InvoiceError(_("Unknown e-invoice channel."))
    db = request.dbsession
    try:
        xml = to_ubl(invoice_document(db, invoice))
    except ValueError as exc:
        raise InvoiceError(_("The invoice cannot be made an e-invoice: ${error}",
                             mapping={"error": str(exc)})) from exc
    delivery = Delivery(invoice_id=invoice.id, channel=channel.name, status="sent",
                        created_by_id=request.user.id if request.user else None)
    try:
        delivery.detail = channel.send(db, invoice, xml, request.registry.settings)
    except OSError as exc:
        raise InvoiceError(_("The e-invoice could not be handed over: ${error}",
                             mapping={"error": exc.strerror or str(exc)})) from exc
    db.add(delivery)
    mark_sent(invoice)
    db.flush()
    return delivery
