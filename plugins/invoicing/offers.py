"""Offer (quote) services (W3): numbered offers with lines priced like invoice lines, the
status flow draft -> sent -> accepted / rejected -> invoiced, and an accepted offer made
into a draft invoice in one step.

Discounts follow the invoice rules (:func:`plugins.invoicing.invoices.apply_discount_rules`:
the client's product-group discount wins, else the line discount when the tenant allows
it); amounts use :mod:`plugins.invoicing.totals`. Like the invoice services these work on
the session's tenant, raise :class:`~plugins.invoicing.invoices.InvoiceError` for what
cannot be done and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.models import User
from plugins.crm_register.models import Client
from plugins.invoicing.i18n import _
from plugins.invoicing.invoices import (
    InvoiceError,
    LineInput,
    apply_discount_rules,
    new_draft,
    product_name,
    recalculate,
    settings_of,
    vat_rate_on,
)
from plugins.invoicing.models import InvoiceLine, Offer, OfferLine, Product, Series
from plugins.invoicing.totals import TaxedAmount, line_net, summarise

if TYPE_CHECKING:
    from plugins.invoicing.models import Invoice

ZERO = Decimal("0.00")
SERIES_CODE = "offer"
"""The code of the numbering series of offers (one per tenant, made when first needed)."""
SERIES_PREFIXES = ("P", "PK", "OFFER-")
"""Prefixes tried for a new offer series (the settings page refuses two series with one
prefix, so the offer series must not take the invoices' empty prefix)."""

DRAFT, SENT, ACCEPTED, REJECTED, INVOICED = "draft", "sent", "accepted", "rejected", "invoiced"
STATUSES = (DRAFT, SENT, ACCEPTED, REJECTED, INVOICED)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    DRAFT: (SENT,),
    SENT: (ACCEPTED, REJECTED),
    ACCEPTED: (),
    REJECTED: (),
    INVOICED: (),
}
"""The statuses a user may set from each status ("invoiced" only by
:func:`offer_to_invoice`)."""


def offer_series(dbsession: Session, *, lock: bool = False) -> Series | None:
    """The tenant's offer numbering series (locked ``FOR UPDATE`` with ``lock``), or None."""
    stmt = sa.select(Series).where(Series.code == SERIES_CODE)
    if lock:
        stmt = stmt.with_for_update()
    return dbsession.scalar(stmt)


def _create_series(dbsession: Session) -> None:
    """Add the offer series (a concurrent request may have added it: that one is kept)."""
    used = set(dbsession.scalars(sa.select(Series.prefix)))
    prefix = next((p for p in SERIES_PREFIXES if p not in used), "")
    try:
        with dbsession.begin_nested():
            dbsession.add(Series(code=SERIES_CODE, prefix=prefix))
    except IntegrityError:
        pass


def offer_label(series: Series | None, number: int) -> str:
    """The number of an offer as shown: the series prefix and the zero-padded number."""
    if series is None:
        return str(number)
    return f"{series.prefix}{number:0{series.digits}d}" if series.digits \
        else f"{series.prefix}{number}"


def new_offer(dbsession: Session, client: Client, user: User | None,
              issue_date: dt.date) -> Offer:
    """A new draft offer for ``client`` with the next number of the tenant's offer series
    (taken under a row lock, so concurrent offers get consecutive numbers), valid for the
    tenant's ``offer_valid_days`` from ``issue_date``."""
    settings = settings_of(dbsession)
    series = offer_series(dbsession, lock=True)
    if series is None:
        _create_series(dbsession)
        series = offer_series(dbsession, lock=True)
        assert series is not None
    series.last_number += 1
    offer = Offer(
        number=series.last_number, client=client, client_id=client.id, status=DRAFT,
        issue_date=issue_date,
        valid_until=issue_date + dt.timedelta(days=settings.offer_valid_days),
        created_by_id=user.id if user else None)
    dbsession.add(offer)
    dbsession.flush()
    return offer


def is_expired(offer: Offer, today: dt.date) -> bool:
    """True when the offer's validity ended before ``today``."""
    return offer.valid_until < today


def display_status(offer: Offer, today: dt.date) -> str:
    """The status to show: ``expired`` for a draft or sent offer past its validity."""
    if offer.status in (DRAFT, SENT) and is_expired(offer, today):
        return "expired"
    return offer.status


def require_offer_draft(offer: Offer) -> None:
    """Refuse to change an offer that is no longer a draft."""
    if offer.status != DRAFT:
        raise InvoiceError(_("Only a draft offer can be changed."))


def _apply_discount_rules(dbsession: Session, offer: Offer, line: OfferLine,
                          product: Product | None) -> None:
    """The invoice discount rules on an offer line.

    :func:`~plugins.invoicing.invoices.apply_discount_rules` reads only the document's
    ``client_id`` and sets the line's ``discount_percent`` and ``group_discount`` (columns
    offer and invoice lines share), so the offer and its line stand in for an invoice.
    """
    apply_discount_rules(dbsession, cast("Invoice", offer), cast(InvoiceLine, line), product)


def _price_lines(dbsession: Session, lines: Iterable[OfferLine], day: dt.date) -> None:
    """Number the lines, set their VAT rate valid on ``day`` and their net amounts."""
    for position, line in enumerate(lines, start=1):
        line.position = position
        rate = vat_rate_on(dbsession, line.vat_code, day)
        if rate is not None:
            line.vat_percent = rate.percent
            line.vat_category = rate.category
        line.net_amount = line_net(line.quantity, line.unit_price, line.discount_percent)


def recalculate_offer(dbsession: Session, offer: Offer) -> None:
    """Recompute the offer's line amounts, VAT rates (valid on its date) and totals, as
    :func:`~plugins.invoicing.invoices.recalculate` does for an invoice."""
    _price_lines(dbsession, offer.lines, offer.issue_date)
    summary = summarise(
        (TaxedAmount(li.net_amount, li.vat_category, li.vat_percent) for li in offer.lines),
        offer.discount_percent or ZERO)
    offer.total_net, offer.total_vat, offer.total = (
        summary.total_net, summary.total_vat, summary.total)


def add_offer_line(dbsession: Session, offer: Offer, line: LineInput) -> OfferLine:
    """Append a line to a draft offer: product defaults (name in the client's language),
    the invoice discount rules, totals recomputed."""
    require_offer_draft(offer)
    product = dbsession.scalar(sa.select(Product).where(Product.id == line.product_id)) \
        if line.product_id else None
    if line.product_id and product is None:
        raise InvoiceError(_("Choose a product from the list."))
    language = offer.client.language or "et"
    row = OfferLine(
        position=len(offer.lines) + 1,
        product_id=product.id if product else None,
        description=line.description or (product_name(product, language) if product else ""),
        quantity=line.quantity,
        unit_code=line.unit_code or (product.unit_code if product else "H87"),
        unit_price=line.unit_price if line.unit_price is not None
        else (product.price if product else ZERO),
        vat_code=line.vat_code or (product.vat_code if product else "standard"),
        discount_percent=line.discount_percent,
    )
    offer.lines.append(row)
    _apply_discount_rules(dbsession, offer, row, product)
    recalculate_offer(dbsession, offer)
    return row


def remove_offer_line(dbsession: Session, offer: Offer, line: OfferLine) -> None:
    """Remove a line of a draft offer and recompute the totals."""
    require_offer_draft(offer)
    offer.lines.remove(line)
    recalculate_offer(dbsession, offer)


def set_status(dbsession: Session, offer: Offer, status: str, today: dt.date) -> None:
    """Move the offer to ``status`` along :data:`TRANSITIONS`. Raises
    :class:`InvoiceError` for any other move, for sending an offer without lines and for
    accepting an offer whose validity ended before ``today``."""
    if status not in (SENT, ACCEPTED, REJECTED):
        raise InvoiceError(_("Choose what happened to the offer."))
    if status not in TRANSITIONS.get(offer.status, ()):
        raise InvoiceError(_("Only a draft offer can be marked sent.") if status == SENT
                           else _("Only a sent offer can be accepted or rejected."))
    if status == SENT and not offer.lines:
        raise InvoiceError(_("An offer without lines cannot be sent."))
    if status == ACCEPTED and is_expired(offer, today):
        raise InvoiceError(_("The offer expired on ${date} and cannot be accepted.",
                             mapping={"date": offer.valid_until.isoformat()}))
    offer.status = status
    dbsession.flush()


def offer_to_invoice(dbsession: Session, offer: Offer, user: User | None, *,
                     today: dt.date | None = None) -> Invoice:
    """Make a draft invoice (dated ``today``) of an accepted or sent offer (W3).

    The invoice gets the offer's lines with the prices and discounts as offered and the
    VAT rates valid on the invoice date; the offer becomes ``invoiced`` and links to it.
    A sent offer must still be valid (making the invoice accepts it); an accepted offer
    was checked when it was accepted. Raises :class:`InvoiceError` (nothing created) for
    an offer already invoiced, a draft or rejected offer, an expired sent offer or one
    without lines. The offer row is locked first, so two requests cannot both convert it.
    """
    today = today or dt.date.today()
    dbsession.refresh(offer, with_for_update=True)
    if offer.invoice_id is not None or offer.status == INVOICED:
        raise InvoiceError(_("Offer ${number} has already been made into an invoice.",
                             mapping={"number": offer_label(offer_series(dbsession),
                                                            offer.number)}))
    if offer.status not in (SENT, ACCEPTED):
        raise InvoiceError(_("Only a sent or accepted offer can be made into an invoice."))
    if offer.status == SENT and is_expired(offer, today):
        raise InvoiceError(_("The offer expired on ${date} and cannot be accepted.",
                             mapping={"date": offer.valid_until.isoformat()}))
    if not offer.lines:
        raise InvoiceError(_("An offer without lines cannot be made into an invoice."))
    invoice = new_draft(dbsession, offer.client, user, issue_date=today)
    invoice.discount_percent = offer.discount_percent
    for line in offer.lines:
        invoice.lines.append(InvoiceLine(
            position=line.position, product_id=line.product_id, description=line.description,
            quantity=line.quantity, unit_code=line.unit_code, unit_price=line.unit_price,
            discount_percent=line.discount_percent, group_discount=line.group_discount,
            vat_code=line.vat_code))
    recalculate(dbsession, invoice)
    offer.invoice_id = invoice.id
    offer.status = INVOICED
    dbsession.flush()
    return invoice


def client_offers(client_id: int) -> sa.Select[tuple[Offer]]:
    """The client's offers, newest first."""
    return (sa.select(Offer).where(Offer.client_id == client_id)
            .order_by(Offer.issue_date.desc(), Offer.id.desc()))
