"""Offers (W3): the client card's offers tab and the offer page. A draft offer is edited
there (lines, notes, validity); then it is marked sent, accepted or rejected, and an
accepted offer becomes a draft invoice with one click.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from core.i18n import local_today
from core.paging import paginate
from core.web import flash
from plugins.crm_register.access import client_filter, require_client
from plugins.crm_register.models import Client
from plugins.crm_register.views.card import card_context
from plugins.invoicing import offers as svc
from plugins.invoicing.i18n import _
from plugins.invoicing.invoices import InvoiceError, vat_codes
from plugins.invoicing.models import Offer, OfferLine, Product
from plugins.invoicing.permissions import INVOICE_EDIT, INVOICE_VIEW, OFFER_EDIT
from plugins.invoicing.views.line_form import MAX_LINES, read_line

CARD_PAGE_SIZE = 20
MAX_VALID_DAYS = 366
"""How far past its date an offer may be valid."""
TAB = "inv.offers"
TEMPLATE = "plugins.invoicing:templates/offer.pt"

STATUS_LABELS = {
    "draft": _("draft"), "sent": _("sent"), "accepted": _("accepted"),
    "rejected": _("rejected"), "invoiced": _("invoiced"), "expired": _("expired"),
}
ACTIONS = {
    svc.SENT: _("The offer was marked sent."),
    svc.ACCEPTED: _("The offer was marked accepted."),
    svc.REJECTED: _("The offer was marked rejected."),
}


def require_offer(request: Request) -> Offer:
    """The offer of the route, if its client is visible to the user; else 404."""
    raw = request.matchdict.get("offer_id", "")
    offer = request.dbsession.scalar(
        sa.select(Offer).join(Client, Client.id == Offer.client_id)
        .where(Offer.id == int(raw), client_filter(request)))
    if offer is None:
        raise HTTPNotFound()
    return offer


def _message(request: Request, error: InvoiceError) -> str:
    return request.localizer.translate(error.message)


def _offer_url(request: Request, offer: Offer, **kw: Any) -> str:
    return request.route_url("inv_offer", offer_id=offer.id, **kw)


@view_config(route_name="inv_client_offers", request_method="GET",
             renderer="plugins.invoicing:templates/offers.pt", permission=INVOICE_VIEW)
def client_offers(request: Request) -> dict[str, Any]:
    """The card's offers tab: the 20 latest offers, older ones on further pages."""
    client = require_client(request)
    page = paginate(request.dbsession, request, svc.client_offers(client.id),
                    size=CARD_PAGE_SIZE)
    return {**card_context(request, client, TAB), "pager": page,
            "today": local_today(request), "display_status": svc.display_status,
            "status_labels": STATUS_LABELS, "series": svc.offer_series(request.dbsession),
            "offer_label": svc.offer_label,
            "can_edit_offers": request.has_permission(OFFER_EDIT)}


@view_config(route_name="inv_client_offers", request_method="POST", permission=OFFER_EDIT)
def create_offer(request: Request) -> HTTPSeeOther:
    """Start a draft offer for the client, dated today."""
    client = require_client(request)
    offer = svc.new_offer(request.dbsession, client, request.user, local_today(request))
    return HTTPSeeOther(_offer_url(request, offer))


def _offer_page(request: Request, offer: Offer, *, errors: dict[str, str] | None = None,
                form_error: str | None = None, values: dict[str, str] | None = None,
                ) -> dict[str, Any]:
    db = request.dbsession
    today = local_today(request)
    draft = offer.status == svc.DRAFT
    products = list(db.scalars(sa.select(Product).where(Product.active.is_(True))
                               .order_by(Product.name))) if draft else []
    can_edit = request.has_permission(OFFER_EDIT)
    return {
        **card_context(request, offer.client, TAB),
        "offer": offer, "label": svc.offer_label(svc.offer_series(db), offer.number),
        "status": svc.display_status(offer, today), "status_labels": STATUS_LABELS,
        "expired": svc.is_expired(offer, today),
        "products": products, "vat_codes": vat_codes(db) if draft else [],
        "errors": errors or {}, "form_error": form_error, "values": values or {},
        "can_edit_offers": can_edit,
        "can_invoice": can_edit and request.has_permission(INVOICE_EDIT),
    }


@view_config(route_name="inv_offer", request_method="GET", renderer=TEMPLATE,
             permission=INVOICE_VIEW)
def offer_view(request: Request) -> dict[str, Any]:
    """The offer: editable while a draft, with the actions of its status."""
    return _offer_page(request, require_offer(request))


@view_config(route_name="inv_offer", request_method="POST", renderer=TEMPLATE,
             permission=OFFER_EDIT)
def save_offer(request: Request) -> Any:
    """Save a draft offer's validity date and notes."""
    offer = require_offer(request)
    try:
        svc.require_offer_draft(offer)
    except InvoiceError as exc:
        request.response.status_int = 400
        return _offer_page(request, offer, form_error=_message(request, exc))
    t = request.localizer.translate
    errors: dict[str, str] = {}
    raw = request.POST.get("valid_until", "").strip()
    valid_until = None
    try:
        valid_until = dt.date.fromisoformat(raw)
    except ValueError:
        errors["valid_until"] = t(_("Enter a date as YYYY-MM-DD."))
    if valid_until is not None and not (
            offer.issue_date <= valid_until
            <= offer.issue_date + dt.timedelta(days=MAX_VALID_DAYS)):
        errors["valid_until"] = t(_(
            "The offer must be valid from its date for at most ${n} days.",
            mapping={"n": MAX_VALID_DAYS}))
    if errors or valid_until is None:
        request.response.status_int = 400
        return _offer_page(request, offer, errors=errors,
                           values={k: request.POST.get(k, "") for k in ("valid_until", "notes")})
    offer.valid_until = valid_until
    offer.notes = request.POST.get("notes", "").replace("\r\n", "\n").strip()[:4000] or None
    flash(request, _("The offer was saved."))
    return HTTPSeeOther(_offer_url(request, offer))


@view_config(route_name="inv_offer_lines", request_method="POST", renderer=TEMPLATE,
             permission=OFFER_EDIT)
def add_offer_line(request: Request) -> Any:
    """Add a line to a draft offer: a product (its price, unit and VAT) or free text with a
    price; the client's group discount replaces a line discount."""
    offer = require_offer(request)
    try:
        svc.require_offer_draft(offer)
    except InvoiceError as exc:
        request.response.status_int = 400
        return _offer_page(request, offer, form_error=_message(request, exc))
    line, errors = read_line(
        request, line_count=len(offer.lines), allow_negative_price=False,
        too_many=_("An offer can have at most ${n} lines.", mapping={"n": MAX_LINES}))
    if line is None:
        request.response.status_int = 400
        return _offer_page(request, offer, errors=errors, values=dict(request.POST.items()))
    try:
        svc.add_offer_line(request.dbsession, offer, line)
    except InvoiceError as exc:
        request.response.status_int = 400
        return _offer_page(request, offer, form_error=_message(request, exc))
    return HTTPSeeOther(_offer_url(request, offer, _anchor="lines"))


@view_config(route_name="inv_offer_line_delete", request_method="POST", permission=OFFER_EDIT)
def delete_line(request: Request) -> Any:
    """Remove a line of a draft offer."""
    offer = require_offer(request)
    line = request.dbsession.scalar(sa.select(OfferLine).where(
        OfferLine.id == int(request.matchdict["line_id"]), OfferLine.offer_id == offer.id))
    if line is None:
        raise HTTPNotFound()
    try:
        svc.remove_offer_line(request.dbsession, offer, line)
    except InvoiceError as exc:
        flash(request, exc.message, kind="error")
        return HTTPSeeOther(_offer_url(request, offer))
    return HTTPSeeOther(_offer_url(request, offer, _anchor="lines"))


@view_config(route_name="inv_offer_status", request_method="POST", renderer=TEMPLATE,
             permission=OFFER_EDIT)
def change_status(request: Request) -> Any:
    """Mark the offer sent, accepted or rejected (an expired offer cannot be accepted)."""
    offer = require_offer(request)
    status = request.POST.get("status", "")
    try:
        svc.set_status(request.dbsession, offer, status, local_today(request))
    except InvoiceError as exc:
        request.response.status_int = 400
        return _offer_page(request, offer, form_error=_message(request, exc))
    flash(request, ACTIONS[status])
    return HTTPSeeOther(_offer_url(request, offer))


@view_config(route_name="inv_offer_invoice", request_method="POST", renderer=TEMPLATE,
             permission=OFFER_EDIT)
def make_invoice(request: Request) -> Any:
    """W3: make a draft invoice of the offer in one step and open it. Needs the right to
    edit invoices as well as offers; on refusal nothing is created."""
    if not request.has_permission(INVOICE_EDIT):
        raise HTTPForbidden()
    offer = require_offer(request)
    savepoint = request.dbsession.begin_nested()
    try:
        invoice = svc.offer_to_invoice(request.dbsession, offer, request.user,
                                       today=local_today(request))
        savepoint.commit()
    except InvoiceError as exc:
        savepoint.rollback()
        request.response.status_int = 400
        request.dbsession.refresh(offer)
        return _offer_page(request, offer, form_error=_message(request, exc))
    flash(request, _("A draft invoice was made of offer ${number}; check and confirm it."),
          number=svc.offer_label(svc.offer_series(request.dbsession), offer.number))
    return HTTPSeeOther(request.route_url("inv_invoice", invoice_id=invoice.id))


def includeme(config: Any) -> None:
    """Offer routes."""
    offer = "/offers/{offer_id:\\d{1,9}}"
    config.add_route("inv_client_offers", "/clients/{client_id:\\d{1,9}}/offers")
    config.add_route("inv_offer", offer)
    config.add_route("inv_offer_lines", offer + "/lines")
    config.add_route("inv_offer_line_delete", offer + "/lines/{line_id:\\d{1,9}}/delete")
    config.add_route("inv_offer_status", offer + "/status")
    config.add_route("inv_offer_invoice", offer + "/invoice")
    config.scan(__name__)
