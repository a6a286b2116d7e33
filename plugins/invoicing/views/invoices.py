"""Invoices (I2, I4, I5, C10): the client's invoices tab, the invoice page (a draft is
edited there: header, lines; confirming freezes it), PDF, e-invoice XML, copy, credit and
sending by e-mail (the envelope of W1).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from core.i18n import local_today
from core.paging import paginate
from core.web import flash
from plugins.crm_register.access import client_filter, require_client
from plugins.crm_register.models import Client
from plugins.crm_register.views.card import card_context
from plugins.invoicing import references
from plugins.invoicing.document import KIND_CREDIT
from plugins.invoicing.einvoices import channels
from plugins.invoicing.i18n import _
from plugins.invoicing.invoices import (
    InvoiceError,
    add_line,
    after_credit_confirmed,
    confirm,
    copy_invoice,
    credit_invoice,
    credited_quantities,
    display_status,
    invoice_document,
    new_draft,
    recalculate,
    require_draft,
    settings_of,
    vat_codes,
)
from plugins.invoicing.models import Invoice, InvoiceLine, Product
from plugins.invoicing.permissions import (
    INVOICE_CONFIRM,
    INVOICE_EDIT,
    INVOICE_OVERRIDE,
    INVOICE_SEND,
    INVOICE_VIEW,
    ORDER_TAKE,
)
from plugins.invoicing.sending import (
    delivery_outcomes,
    email_invoice,
    pdf_filename,
    render_pdf_of,
    valid_email,
)
from plugins.invoicing.views.line_form import MAX_LINES, parse_decimal, read_line

CARD_PAGE_SIZE = 20

STATUS_LABELS = {
    "draft": _("draft"), "confirmed": _("confirmed"), "sent": _("sent"),
    "partly_paid": _("partly paid"), "paid": _("paid"), "overdue": _("overdue"),
    "credited": _("credited"),
}
KIND_LABELS = {"invoice": _("Invoice"), "prepayment": _("Prepayment invoice"),
               "credit": _("Credit invoice")}



def require_invoice(request: Request) -> Invoice:
    """The invoice of the route, if its client is visible to the user; else 404."""
    raw = request.matchdict.get("invoice_id", "")
    invoice = request.dbsession.scalar(
        sa.select(Invoice).join(Client, Client.id == Invoice.client_id)
        .where(Invoice.id == int(raw), client_filter(request)))
    if invoice is None:
        raise HTTPNotFound()
    return invoice


def _message(request: Request, error: InvoiceError) -> str:
    return request.localizer.translate(error.message)


@view_config(route_name="inv_invoices", renderer="plugins.invoicing:templates/invoices.pt",
             permission=INVOICE_VIEW)
def invoices(request: Request) -> dict[str, Any]:
    """Every visible invoice, newest first, filtered by status and kind, paged."""
    stmt = (sa.select(Invoice).join(Client, Client.id == Invoice.client_id)
            .where(client_filter(request))
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc()))
    status = request.GET.get("status", "")
    today = local_today(request)
    if status == "overdue":
        stmt = stmt.where(Invoice.status.in_(("confirmed", "sent", "partly_paid")),
                          Invoice.due_date < today)
    elif status in STATUS_LABELS:
        stmt = stmt.where(Invoice.status == status)
    kind = request.GET.get("kind", "")
    if kind in KIND_LABELS:
        stmt = stmt.where(Invoice.kind == kind)
    page = paginate(request.dbsession, request, stmt)
    return {"pager": page, "today": today, "status": status, "kind": kind,
            "status_labels": STATUS_LABELS, "kind_labels": KIND_LABELS,
            "display_status": display_status}


@view_config(route_name="inv_client_invoices", request_method="GET",
             renderer="plugins.invoicing:templates/client_invoices.pt", permission=INVOICE_VIEW)
def client_invoices(request: Request) -> dict[str, Any]:
    """The card's invoices tab (C10): the 20 latest, older ones on further pages."""
    client = require_client(request)
    stmt = (sa.select(Invoice).where(Invoice.client_id == client.id)
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc()))
    page = paginate(request.dbsession, request, stmt, size=CARD_PAGE_SIZE)
    return {**card_context(request, client, "inv.invoices"), "pager": page,
            "today": local_today(request), "display_status": display_status,
            "status_labels": STATUS_LABELS, "kind_labels": KIND_LABELS,
            "can_edit_invoices": request.has_permission(INVOICE_EDIT),
            "can_send": request.has_permission(INVOICE_SEND),
            "can_take_orders": request.has_permission(ORDER_TAKE),
            "invoice_email": client.invoice_email or client.email or ""}


@view_config(route_name="inv_client_invoices", request_method="POST",
             permission=INVOICE_EDIT)
def create_invoice(request: Request) -> HTTPSeeOther:
    """Start a draft invoice (or prepayment invoice) for the client."""
    client = require_client(request)
    kind = request.POST.get("kind", "invoice")
    if kind not in ("invoice", "prepayment"):
        kind = "invoice"
    invoice = new_draft(request.dbsession, client, request.user, kind=kind,
                        issue_date=local_today(request))
    return HTTPSeeOther(request.route_url("inv_invoice", invoice_id=invoice.id))


def _invoice_page(request: Request, invoice: Invoice, *, errors: dict[str, str] | None = None,
                  form_error: str | None = None, values: dict[str, str] | None = None,
                  ) -> dict[str, Any]:
    db = request.dbsession
    products = list(db.scalars(sa.select(Product).where(Product.active.is_(True))
                               .order_by(Product.name))) if invoice.status == "draft" else []
    return {
        **card_context(request, invoice.client, "inv.invoices"),
        "invoice": invoice, "doc": invoice_document(db, invoice),
        "status": display_status(invoice, local_today(request)),
        "status_labels": STATUS_LABELS, "kind_labels": KIND_LABELS,
        "products": products, "vat_codes": vat_codes(db),
        "errors": errors or {}, "form_error": form_error, "values": values or {},
        "can_edit_invoices": request.has_permission(INVOICE_EDIT),
        "can_confirm": request.has_permission(INVOICE_CONFIRM),
        "can_override": request.has_permission(INVOICE_OVERRIDE),
        "can_send": request.has_permission(INVOICE_SEND),
        "deliveries": delivery_outcomes(db, invoice),
        "einvoice_channels": list(channels(request).values())
        if invoice.status != "draft" else [],
        "display_reference": references.display,
    }


@view_config(route_name="inv_invoice", request_method="GET",
             renderer="plugins.invoicing:templates/invoice.pt", permission=INVOICE_VIEW)
def invoice_view(request: Request) -> dict[str, Any]:
    """The invoice: editable while a draft, read-only once confirmed."""
    return _invoice_page(request, require_invoice(request))


HEADER_KEYS = ("issue_date", "payment_term_days", "delivery_date", "reference_number",
               "buyer_reference", "invoice_email", "notes", "discount_percent", "language")


def _read_header(request: Request, invoice: Invoice) -> tuple[dict[str, Any], dict[str, str]]:
    post = request.POST
    t = request.localizer.translate
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in ("issue_date", "delivery_date"):
        raw = post.get(key, "").strip()
        if not raw:
            if key == "issue_date":
                errors[key] = t(_("Enter the invoice date."))
            values[key] = None
            continue
        try:
            values[key] = dt.date.fromisoformat(raw)
        except ValueError:
            errors[key] = t(_("Enter a date as YYYY-MM-DD."))
    raw_term = post.get("payment_term_days", "").strip()
    if raw_term.isdigit() and int(raw_term) <= 365:
        values["payment_term_days"] = int(raw_term)
    else:
        errors["payment_term_days"] = t(_("Enter a payment term of 0 to 365 days."))
    raw_ref = post.get("reference_number", "").strip()
    if raw_ref:
        try:
            values["reference_number"] = references.validate(raw_ref)
        except references.InvalidReference:
            errors["reference_number"] = t(_(
                "This is not a valid reference number (7-3-1 check digit or RF reference)."))
    else:
        values["reference_number"] = None
    raw_discount = post.get("discount_percent", "").strip() or "0"
    try:
        discount = parse_decimal(raw_discount, places=2)
        if not 0 <= discount <= 100:
            raise ValueError(raw_discount)
        values["discount_percent"] = discount
    except ValueError:
        errors["discount_percent"] = t(_("Enter a discount of 0 to 100 %."))
    email = post.get("invoice_email", "").strip()
    if email and not valid_email(email):
        errors["invoice_email"] = t(_("Enter one valid e-mail address."))
    values["invoice_email"] = email or None
    values["buyer_reference"] = post.get("buyer_reference", "").strip()[:100] or None
    values["notes"] = post.get("notes", "").strip()[:4000] or None
    language = post.get("language", invoice.language)
    values["language"] = language if language in ("et", "en") else invoice.language
    return values, errors


@view_config(route_name="inv_invoice", request_method="POST",
             renderer="plugins.invoicing:templates/invoice.pt", permission=INVOICE_EDIT)
def save_header(request: Request) -> Any:
    """Save the draft's header: dates, payment term, reference, discount, notes."""
    invoice = require_invoice(request)
    try:
        require_draft(invoice)
    except InvoiceError as exc:
        request.response.status_int = 400
        return _invoice_page(request, invoice, form_error=_message(request, exc))
    values, errors = _read_header(request, invoice)
    if values.get("discount_percent") and not settings_of(request.dbsession).invoice_discounts:
        errors["discount_percent"] = request.localizer.translate(
            _("Whole-invoice discounts are not used (see the invoicing settings)."))
    if errors:
        request.response.status_int = 400
        return _invoice_page(request, invoice, errors=errors,
                             values={k: request.POST.get(k, "") for k in HEADER_KEYS})
    for key, value in values.items():
        setattr(invoice, key, value)
    invoice.due_date = invoice.issue_date + dt.timedelta(days=invoice.payment_term_days)
    recalculate(request.dbsession, invoice)
    flash(request, _("The invoice was saved."))
    return HTTPSeeOther(request.route_url("inv_invoice", invoice_id=invoice.id))


@view_config(route_name="inv_invoice_lines", request_method="POST",
             renderer="plugins.invoicing:templates/invoice.pt", permission=INVOICE_EDIT)
def add_invoice_line(request: Request) -> Any:
    """Add a line: a product (its price, unit and VAT) or free text with a price."""
    invoice = require_invoice(request)
    line, errors = read_line(
        request, line_count=len(invoice.lines), allow_negative_price=True,
        too_many=_("An invoice can have at most ${n} lines.", mapping={"n": MAX_LINES}))
    if line is None:
        request.response.status_int = 400
        return _invoice_page(request, invoice, errors=errors,
                             values=dict(request.POST.items()))
    try:
        add_line(request.dbsession, invoice, line)
    except InvoiceError as exc:
        request.response.status_int = 400
        return _invoice_page(request, invoice, form_error=_message(request, exc))
    return HTTPSeeOther(request.route_url("inv_invoice", invoice_id=invoice.id,
                                          _anchor="lines"))


@view_config(route_name="inv_invoice_line_delete", request_method="POST",
             permission=INVOICE_EDIT)
def delete_invoice_line(request: Request) -> Any:
    """Remove a line of a draft."""
    invoice = require_invoice(request)
    line = request.dbsession.get(InvoiceLine, int(request.matchdict["line_id"]))
    if line is None or line.invoice_id != invoice.id:
        raise HTTPNotFound()
    try:
        require_draft(invoice)
    except InvoiceError as exc:
        flash(request, exc.message, kind="error")
        return HTTPSeeOther(request.route_url("inv_invoice", invoice_id=invoice.id))
    invoice.lines.remove(line)
    recalculate(request.dbsession, invoice)
    return HTTPSeeOther(request.route_url("inv_invoice", invoice_id=invoice.id,
                                          _anchor="lines"))


@view_config(route_name="inv_invoice_confirm", request_method="POST",
             renderer="plugins.invoicing:templates/invoice.pt", permission=INVOICE_CONFIRM)
def confirm_invoice(request: Request) -> Any:
    """Confirm the draft; a blocked client or the credit limit needs the override right and
    the box ticked. On refusal nothing changes and no number is used."""
    invoice = require_invoice(request)
    override = request.POST.get("override") == "1" and request.has_permission(INVOICE_OVERRIDE)
    savepoint = request.dbsession.begin_nested()
    try:
        used = confirm(request.dbsession, invoice, request.user, can_override=override)
        if invoice.kind == KIND_CREDIT:
            after_credit_confirmed(request.dbsession, invoice)
        savepoint.commit()
    except InvoiceError as exc:
        savepoint.rollback()
        request.response.status_int = 400
        request.dbsession.refresh(invoice)
        return _invoice_page(request, invoice, form_error=_message(request, exc))
    if used is not None:
        flash(request, _("Invoice ${number} was confirmed despite: ${reason}",
                         mapping={"number": invoice.number, "reason": used.reason}),
              kind="warning")
    else:
        flash(request, _("Invoice ${number} was confirmed.", mapping={"number": invoice.number}))
    return HTTPSeeOther(request.route_url("inv_invoice", invoice_id=invoice.id))


@view_config(route_name="inv_invoice_delete", request_method="POST", permission=INVOICE_EDIT)
def delete_draft(request: Request) -> Any:
    """Delete a draft (a confirmed invoice is never deleted; credit it instead)."""
    invoice = require_invoice(request)
    client_id = invoice.client_id
    if invoice.status != "draft":
        flash(request, _("A confirmed invoice cannot be deleted; credit it instead."),
              kind="error")
        return HTTPSeeOther(request.route_url("inv_invoice", invoice_id=invoice.id))
    request.dbsession.delete(invoice)
    flash(request, _("The draft was deleted."))
    return HTTPSeeOther(request.route_url("inv_client_invoices", client_id=client_id))


@view_config(route_name="inv_invoice_pdf", permission=INVOICE_VIEW)
def invoice_pdf(request: Request) -> Response:
    """The invoice as PDF in the client's language (a draft is marked by its missing
    number)."""
    invoice = require_invoice(request)
    doc = invoice_document(request.dbsession, invoice)
    return Response(body=render_pdf_of(request.registry, doc), content_type="application/pdf",
                    content_disposition=f'inline; filename="{pdf_filename(doc)}"')


@view_config(route_name="inv_invoice_ubl", permission=INVOICE_VIEW)
@view_config(route_name="inv_invoice_earve", permission=INVOICE_VIEW)
def invoice_xml(request: Request) -> Response:
    """A confirmed invoice as an e-invoice: ``ubl`` (EN 16931 / Peppol BIS 3) or ``earve``
    (the Estonian e-invoice standard 1.2)."""
    invoice = require_invoice(request)
    if invoice.status == "draft":
        raise HTTPNotFound()
    doc = invoice_document(request.dbsession, invoice)
    fmt = "ubl" if request.matched_route.name == "inv_invoice_ubl" else "earve"
    if fmt == "ubl":
        from plugins.invoicing.einvoice.ubl import to_ubl

        body = to_ubl(doc)
    else:
        from plugins.invoicing.einvoice.earve import to_earve

        body = to_earve(doc)
    name = f"{fmt}-{doc.number}.xml"
    return Response(body=body, content_type="application/xml",
                    content_disposition=f'attachment; filename="{name}"')


@view_config(route_name="inv_invoice_copy", request_method="POST", permission=INVOICE_EDIT)
def copy_view(request: Request) -> HTTPSeeOther:
    """Copy the invoice into a new draft for the same client."""
    invoice = require_invoice(request)
    draft = copy_invoice(request.dbsession, invoice, request.user)
    if invoice.number:
        flash(request, _("A new draft was made from invoice ${number}.",
                         mapping={"number": invoice.number}))
    else:
        flash(request, _("A new draft was made from the draft."))
    return HTTPSeeOther(request.route_url("inv_invoice", invoice_id=draft.id))


@view_config(route_name="inv_invoice_credit", request_method="GET",
             renderer="plugins.invoicing:templates/credit.pt", permission=INVOICE_EDIT)
def credit_form(request: Request) -> dict[str, Any]:
    """Choose what to credit: every line in full, or quantities per line."""
    invoice = require_invoice(request)
    return _credit_page(request, invoice, {})


def _credit_page(request: Request, invoice: Invoice, errors: dict[str, str]) -> dict[str, Any]:
    taken = credited_quantities(request.dbsession, invoice)
    rows = [(line, line.quantity - taken.get(line.id, Decimal(0))) for line in invoice.lines]
    return {**card_context(request, invoice.client, "inv.invoices"), "invoice": invoice,
            "rows": rows, "errors": errors, "values": dict(request.POST.items())}


@view_config(route_name="inv_invoice_credit", request_method="POST",
             renderer="plugins.invoicing:templates/credit.pt", permission=INVOICE_EDIT)
def credit_view(request: Request) -> Any:
    """Make a draft credit invoice of the whole invoice or of the chosen quantities."""
    invoice = require_invoice(request)
    quantities: dict[int, Decimal] | None = None
    errors: dict[str, str] = {}
    if request.POST.get("mode") == "lines":
        quantities = {}
        for line in invoice.lines:
            raw = request.POST.get(f"qty-{line.id}", "").strip()
            if not raw:
                continue
            try:
                quantities[line.id] = parse_decimal(raw, places=3)
            except ValueError:
                errors[f"qty-{line.id}"] = request.localizer.translate(_("Enter a number."))
    if not errors:
        try:
            draft = credit_invoice(request.dbsession, invoice, request.user, quantities)
        except InvoiceError as exc:
            errors["form"] = _message(request, exc)
        else:
            flash(request, _("A draft credit invoice of ${number} was made; check and confirm it.",
                             mapping={"number": invoice.number}))
            return HTTPSeeOther(request.route_url("inv_invoice", invoice_id=draft.id))
    request.response.status_int = 400
    return _credit_page(request, invoice, errors)


@view_config(route_name="inv_invoice_send", request_method="POST",
             renderer="plugins.invoicing:templates/invoice.pt", permission=INVOICE_SEND)
def send_view(request: Request) -> Any:
    """E-mail the invoice (W1: the envelope sends it again) to the given address; with
    "remember" the address becomes the client's invoice address."""
    invoice = require_invoice(request)
    to = request.POST.get("email", "").strip()
    back = request.POST.get("back", "")
    try:
        email_invoice(request.dbsession, request.registry, invoice, to,
                      user_id=request.user.id, as_html=request.POST.get("as") == "html")
    except InvoiceError as exc:
        if back == "card":
            flash(request, exc.message, kind="error")
            return HTTPSeeOther(request.route_url("inv_client_invoices",
                                                  client_id=invoice.client_id))
        request.response.status_int = 400
        return _invoice_page(request, invoice, form_error=_message(request, exc))
    if request.POST.get("remember") == "1" and to != (invoice.client.invoice_email or ""):
        invoice.client.invoice_email = to
    invoice.invoice_email = to
    flash(request, _("Invoice ${number} is on its way to ${address}.",
                     mapping={"number": invoice.number, "address": to}))
    if back == "card":
        return HTTPSeeOther(request.route_url("inv_client_invoices", client_id=invoice.client_id))
    return HTTPSeeOther(request.route_url("inv_invoice", invoice_id=invoice.id))


def includeme(config: Any) -> None:
    """Invoice routes."""
    invoice = "/invoices/{invoice_id:\\d{1,9}}"
    config.add_route("inv_invoices", "/invoices")
    config.add_route("inv_client_invoices", "/clients/{client_id:\\d{1,9}}/invoices")
    config.add_route("inv_invoice", invoice)
    config.add_route("inv_invoice_lines", invoice + "/lines")
    config.add_route("inv_invoice_line_delete", invoice + "/lines/{line_id:\\d{1,9}}/delete")
    config.add_route("inv_invoice_confirm", invoice + "/confirm")
    config.add_route("inv_invoice_delete", invoice + "/delete")
    config.add_route("inv_invoice_pdf", invoice + "/pdf")
    config.add_route("inv_invoice_ubl", invoice + "/ubl.xml")
    config.add_route("inv_invoice_earve", invoice + "/earve.xml")
    config.add_route("inv_invoice_copy", invoice + "/copy")
    config.add_route("inv_invoice_credit", invoice + "/credit")
    config.add_route("inv_invoice_send", invoice + "/send")
    config.scan(__name__)
