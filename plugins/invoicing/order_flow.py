"""The phone-order flow (W2) as named, overridable steps.

"Client phones to order services and products": pick products and services on the client
card -> confirm -> a calendar of free times for the service -> pick one -> confirm invoice
and time -> an activity is booked and a prepayment invoice is e-mailed to the client as the
order confirmation.

The default steps are ``pick_lines``, ``pick_slot``, ``confirm``, ``issue_prepayment`` and
``send_confirmation``. Plugins change them through the hooks ``order_flow_steps`` (edit the
list), ``choose_service_slot`` (which free times to offer), ``build_prepayment_invoice``
(the invoice, wrappable) and ``invoice_issued`` (what happens with the confirmed invoice).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from pyramid.request import Request
from sqlalchemy.orm import Session

from core.db import utcnow
from core.i18n import tenant_zone
from core.models import User
from core.sdk import OrderStep
from plugins.crm_register.calendar import Slot, free_slots
from plugins.crm_register.models import Activity, ActivityType
from plugins.crm_register.numbering import next_number
from plugins.invoicing.i18n import _
from plugins.invoicing.invoices import (
    InvoiceError,
    LineInput,
    add_line,
    confirm,
    new_draft,
)
from plugins.invoicing.models import Invoice, Order, Product

SLOT_DAYS = 14
"""How far ahead free times are offered."""
MAX_SLOTS_SHOWN = 60
DEFAULT_SERVICE_MINUTES = 60
LEAD_MINUTES = 10
PERFORMER_ROLES = ("sales", "manager", "secretary", "admin")


class StepError(Exception):
    """A step cannot go on; ``message`` (a translation string) is shown on its page."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def products_of(dbsession: Session, order: Order) -> list[tuple[Product, Decimal]]:
    """The order's picked products with their quantities."""
    picked = []
    for line in order.lines or []:
        product = dbsession.get(Product, int(line["product_id"]))
        if product is not None:
            picked.append((product, Decimal(str(line["quantity"]))))
    return picked


def service_minutes(dbsession: Session, order: Order) -> int:
    """How long the order's services take: each service's minutes times its quantity
    (rounded up to whole times); 0 when the order has no service."""
    total = 0
    for product, quantity in products_of(dbsession, order):
        if product.is_service:
            total += (product.service_minutes or DEFAULT_SERVICE_MINUTES) * math.ceil(quantity)
    return total


def offered_slots(request: Request, order: Order, performer: User,
                  now: dt.datetime | None = None) -> list[Slot]:
    """The free times of ``performer`` for the order's services in the next
    :data:`SLOT_DAYS` days, as the ``choose_service_slot`` hook lets them through."""
    minutes = service_minutes(request.dbsession, order)
    if not minutes:
        return []
    tz = tenant_zone(request)
    # The first time offered is at least LEAD_MINUTES ahead, so that it is still in the
    # future while the user decides.
    start = ((now or utcnow()) + dt.timedelta(minutes=LEAD_MINUTES)).astimezone(tz)
    start = start.replace(second=0, microsecond=0) + dt.timedelta(minutes=30 - start.minute % 30)
    free = free_slots(request.dbsession, [performer.id], dt.timedelta(minutes=minutes), start,
                      start + dt.timedelta(days=SLOT_DAYS), tz=tz)
    chosen = request.hooks.choose_service_slot(request=request, order=order, slots=free)
    return list(chosen if chosen is not None else free)


# --- the default steps -------------------------------------------------------------------

def pick_lines(request: Request, order: Order) -> dict[str, Any] | None:
    """Step 1: quantities of active products and services (``qty-<product id>`` fields)."""
    db = request.dbsession
    products = list(db.scalars(sa.select(Product).where(Product.active.is_(True))
                               .order_by(Product.is_service.desc(), Product.name)))
    if request.method != "POST":
        current = {int(li["product_id"]): li["quantity"] for li in order.lines or []}
        return {"products": products, "quantities": current}
    lines = []
    wrong = []
    for product in products:
        raw = request.POST.get(f"qty-{product.id}", "").strip().replace(",", ".")
        if not raw:
            continue
        try:
            quantity = Decimal(raw)
        except InvalidOperation:
            wrong.append(product.name)
            continue
        if not quantity.is_finite() or quantity < 0 or quantity > 100000 \
                or quantity.as_tuple().exponent < -3:
            wrong.append(product.name)
        elif quantity > 0:
            lines.append({"product_id": product.id, "quantity": str(quantity)})
    if wrong:
        raise StepError(_("Check the quantity of: ${names}.",
                          mapping={"names": ", ".join(wrong)}))
    if not lines:
        raise StepError(_("Pick at least one product or service."))
    order.lines = lines
    return None


def pick_slot(request: Request, order: Order) -> dict[str, Any] | None:
    """Step 2: a free time of the performer for the services (skipped without services)."""
    db = request.dbsession
    performers = list(db.scalars(sa.select(User).where(
        User.active.is_(True), User.role.in_(PERFORMER_ROLES)).order_by(User.name)))
    raw = request.params.get("performer", "")
    performer = next((u for u in performers if str(u.id) == raw), None) \
        or next((u for u in performers if u.id == order.performer_id), None) \
        or request.user
    if not service_minutes(db, order):
        order.slot_start = order.slot_end = None
        return None
    if request.method == "POST" and "slot" in request.POST:
        wanted = request.POST.get("slot", "")
        try:
            start = dt.datetime.fromisoformat(wanted)
        except ValueError:
            start = None
        slot = None
        if start is not None and start.tzinfo is not None and start > utcnow():
            # Offer again as the page did, but from just before the chosen time: a time
            # shown a moment before a half hour passed is still valid if it is free.
            again = offered_slots(request, order, performer,
                                  now=start - dt.timedelta(minutes=LEAD_MINUTES + 1))
            slot = next((s for s in again if s.start == start), None)
        if slot is None:
            raise StepError(_("That time is no longer free; pick another one."))
        order.performer_id = performer.id
        order.slot_start, order.slot_end = slot.start, slot.end
        return None
    slots = offered_slots(request, order, performer)
    return {"slots": slots[:MAX_SLOTS_SHOWN], "performers": performers,
            "performer": performer, "minutes": service_minutes(db, order)}


def confirm_order(request: Request, order: Order) -> dict[str, Any] | None:
    """Step 3: the order, its amount and the time, to confirm."""
    if request.method == "POST" and request.POST.get("confirm") == "1":
        return None
    return {"picked": products_of(request.dbsession, order)}


def issue_prepayment(request: Request, order: Order) -> None:
    """Step 4 (no page): build the prepayment invoice (``build_prepayment_invoice``),
    confirm it and book the service in the performer's calendar."""
    db = request.dbsession
    invoice = request.hooks.build_prepayment_invoice(request=request, order=order)
    try:
        confirm(db, invoice, request.user)
    except InvoiceError as exc:
        raise StepError(exc.message) from exc
    order.invoice_id = invoice.id
    if order.slot_start is not None:
        kind = db.scalar(sa.select(ActivityType).where(ActivityType.code == "service")) \
            or db.scalar(sa.select(ActivityType).order_by(ActivityType.position).limit(1))
        names = ", ".join(p.name for p, _q in products_of(db, order) if p.is_service)
        activity = Activity(
            number=next_number(db, "activity"), name=names[:200] or "Tellimus",
            client_id=order.client_id, type_id=kind.id, status="planned",
            performer_id=order.performer_id, starts_at=order.slot_start,
            ends_at=order.slot_end,
            estimated_minutes=int((order.slot_end - order.slot_start).total_seconds() // 60),
            description=f"{invoice.number}", created_by_id=request.user.id)
        db.add(activity)
        db.flush()
        order.activity_id = activity.id


def send_confirmation(request: Request, order: Order) -> None:
    """Step 5 (no page): tell the plugins the invoice is issued (``invoice_issued``: the
    invoicing plugin e-mails the PDF) and close the order."""
    invoice = request.dbsession.get(Invoice, order.invoice_id) if order.invoice_id else None
    if invoice is not None:
        request.hooks.invoice_issued(request=request, invoice=invoice, reason="order")
    order.status = "confirmed"


def default_steps() -> list[OrderStep]:
    """The invoicing plugin's steps of the order flow, in order."""
    return [
        OrderStep("pick_lines", _("Products and services"), pick_lines,
                  "plugins.invoicing:templates/order_lines.pt"),
        OrderStep("pick_slot", _("Service time"), pick_slot,
                  "plugins.invoicing:templates/order_slot.pt"),
        OrderStep("confirm", _("Confirm"), confirm_order,
                  "plugins.invoicing:templates/order_confirm.pt"),
        OrderStep("issue_prepayment", _("Prepayment invoice"), issue_prepayment, page=False),
        OrderStep("send_confirmation", _("Order confirmation"), send_confirmation, page=False),
    ]


def flow_steps(request: Request) -> list[OrderStep]:
    """The steps for this request's tenant: the defaults as the plugins changed them."""
    steps = default_steps()
    request.hooks.order_flow_steps(request=request, steps=steps)
    return steps


def build_default_prepayment_invoice(request: Request, order: Order) -> Invoice:
    """A draft prepayment invoice with the order's lines (the default implementation of
    ``build_prepayment_invoice``)."""
    db = request.dbsession
    tz = tenant_zone(request)
    invoice = new_draft(db, order.client, request.user, kind="prepayment",
                        issue_date=utcnow().astimezone(tz).date())
    if order.slot_start is not None:
        invoice.delivery_date = order.slot_start.astimezone(tz).date()
    for product, quantity in products_of(db, order):
        add_line(db, invoice, LineInput(product_id=product.id, quantity=quantity))
    return invoice
