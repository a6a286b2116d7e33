"""Sending invoices: by e-mail through the core outbox (PDF attached, HTML body) and as
e-invoices through the ``einvoice_channels`` hook.

A message is written to the outbox in the caller's transaction, so nothing leaves before
the transaction commits and a rolled-back request sends nothing; the core worker delivers
it at most once. Every sending is recorded as a :class:`~plugins.invoicing.models.Delivery`.
"""

from __future__ import annotations

import re
from typing import Any

from pyramid.registry import Registry
from sqlalchemy.orm import Session

from core.db import utcnow
from core.i18n import localizer_for
from core.mail import Attachment, queue_mail
from plugins.invoicing.document import InvoiceDocument
from plugins.invoicing.i18n import _
from plugins.invoicing.invoices import InvoiceError, invoice_document
from plugins.invoicing.models import Delivery, Invoice

EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def valid_email(address: str) -> bool:
    """True for a plain e-mail address (one address, no display name)."""
    return bool(EMAIL.match(address.strip()))


def pdf_filename(doc: InvoiceDocument) -> str:
    """``arve-0042.pdf`` / ``invoice-0042.pdf`` by the invoice's language."""
    stem = "invoice" if doc.language == "en" else "arve"
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", doc.number or "draft")
    return f"{stem}-{safe}.pdf"


def render_pdf_of(registry: Registry, doc: InvoiceDocument) -> bytes:
    """The PDF of ``doc`` in the invoice's language."""
    from plugins.invoicing.pdf import render_pdf

    return render_pdf(doc, localizer_for(registry, doc.language).translate)


def email_invoice(dbsession: Session, registry: Registry, invoice: Invoice, to: str, *,
                  user_id: int | None, as_html: bool = False, subject: str | None = None,
                  ) -> Delivery:
    """Queue the confirmed ``invoice`` for e-mail to ``to``: the PDF attached (or the
    invoice as the HTML body with ``as_html``) with a short text in the client's language.
    Marks the invoice sent. Raises :class:`InvoiceError` for a draft or a bad address."""
    from plugins.invoicing.invoice_html import render_html, render_text

    if invoice.status == "draft":
        raise InvoiceError(_("Confirm the invoice before sending it."))
    if not valid_email(to):
        raise InvoiceError(_("${address} is not a valid e-mail address.",
                             mapping={"address": to[:100]}))
    doc = invoice_document(dbsession, invoice)
    translate = localizer_for(registry, doc.language).translate
    title = subject or translate(_("Invoice ${number} from ${seller}",
                                   mapping={"number": doc.number, "seller": doc.seller.name}))
    attachments = []
    if not as_html:
        attachments.append(Attachment(pdf_filename(doc), "application/pdf",
                                      render_pdf_of(registry, doc)))
    sender = registry.settings.get("mail.default_sender", "noreply@localhost")
    message = queue_mail(
        dbsession, to=[to.strip()], subject=title, body_text=render_text(doc, translate),
        body_html=render_html(doc, translate), sender=sender,
        reply_to=doc.seller.email or None, attachments=attachments)
    delivery = Delivery(invoice_id=invoice.id, channel="email", recipient=to.strip(),
                        mail_message_id=message.id, status="queued", created_by_id=user_id)
    dbsession.add(delivery)
    mark_sent(invoice)
    dbsession.flush()
    return delivery


def mark_sent(invoice: Invoice) -> None:
    """Record that the invoice went out (status ``sent`` unless payments moved it on)."""
    invoice.sent_at = invoice.sent_at or utcnow()
    if invoice.status == "confirmed":
        invoice.status = "sent"


def delivery_outcomes(dbsession: Session, invoice: Invoice) -> list[dict[str, Any]]:
    """The invoice's sendings with the outbox status of each e-mail, newest first."""
    from core.models import MailMessage

    rows = []
    for delivery in sorted(_deliveries(dbsession, invoice), key=lambda d: d.id, reverse=True):
        status = delivery.status
        error = delivery.detail
        if delivery.mail_message_id:
            message = dbsession.get(MailMessage, delivery.mail_message_id)
            if message is not None:
                status, error = message.status, message.last_error
        rows.append({"delivery": delivery, "status": status, "error": error})
    return rows


def _deliveries(dbsession: Session, invoice: Invoice) -> list[Delivery]:
    import sqlalchemy as sa

    return list(dbsession.scalars(sa.select(Delivery).where(Delivery.invoice_id == invoice.id)))
