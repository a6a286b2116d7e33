"""The Discounts tab of the client card (C5): the client's discount per product group.

Everyone who may see the client sees the discounts; changing them needs
``invoicing:discount:edit``. An empty box (or 0) means no discount on the group. The
discounts are ``Audited`` rows under the client, so every change shows in the client log.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from core.web import flash
from plugins.crm_register.access import require_client
from plugins.crm_register.models import Client
from plugins.crm_register.permissions import CLIENT_VIEW
from plugins.crm_register.views.card import card_context
from plugins.invoicing.i18n import _
from plugins.invoicing.invoices import settings_of
from plugins.invoicing.models import ClientDiscount, ProductGroup
from plugins.invoicing.permissions import DISCOUNT_EDIT
from plugins.invoicing.views.catalogue import decimal_text

TEMPLATE = "plugins.invoicing:templates/discounts.pt"
TAB = "inv.discounts"
HUNDREDTH = Decimal("0.01")


def field_name(group: ProductGroup) -> str:
    """The name of a group's input box."""
    return f"group-{group.id}"


def parse_percent(raw: str) -> Decimal | None:
    """A discount percent typed by a user (``12,5`` or ``12.5``); None when empty.

    Raises :class:`ValueError` with a translation string when it is not 0-100 with at most
    two decimals.
    """
    text = raw.strip().replace(" ", "").replace("\xa0", "").replace(",", ".").rstrip("%")
    if not text:
        return None
    if len(text) > 20:
        raise ValueError(_("Enter a percentage from 0 to 100."))
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("Enter a percentage from 0 to 100.")) from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise ValueError(_("Enter a percentage from 0 to 100."))
    if value.quantize(HUNDREDTH) != value:
        raise ValueError(_("Give the percentage with at most 2 decimals."))
    return value.quantize(HUNDREDTH)


def _groups(request: Request) -> list[ProductGroup]:
    return list(request.dbsession.scalars(
        sa.select(ProductGroup).order_by(ProductGroup.position, ProductGroup.name)))


def _current(request: Request, client: Client) -> dict[int, ClientDiscount]:
    return {d.group_id: d for d in request.dbsession.scalars(
        sa.select(ClientDiscount).where(ClientDiscount.client_id == client.id))}


def _page(request: Request, client: Client, values: dict[int, str] | None = None,
          errors: dict[int, str] | None = None) -> dict[str, Any]:
    current = _current(request, client)
    rows = []
    for group in _groups(request):
        discount = current.get(group.id)
        value = (values or {}).get(group.id)
        if value is None:
            value = decimal_text(request, discount.percent) if discount else ""
        rows.append({"group": group, "name": field_name(group), "value": value,
                     "percent": discount.percent if discount else None,
                     "error": (errors or {}).get(group.id)})
    return {
        **card_context(request, client, TAB), "rows": rows, "errors": bool(errors),
        "can_edit_discounts": request.has_permission(DISCOUNT_EDIT),
        "group_discounts_on": settings_of(request.dbsession).group_discounts,
    }


@view_config(route_name="inv_client_discounts", request_method="GET", renderer=TEMPLATE,
             permission=CLIENT_VIEW)
def client_discounts(request: Request) -> dict[str, Any]:
    """The client's discount per product group (a form for those who may change them)."""
    client = require_client(request)
    return _page(request, client)


@view_config(route_name="inv_client_discounts", request_method="POST", renderer=TEMPLATE,
             permission=DISCOUNT_EDIT)
def save_discounts(request: Request) -> Any:
    """Save every group's discount; nothing is saved when any box is wrong (400)."""
    client = require_client(request)
    groups = _groups(request)
    values: dict[int, str] = {}
    wanted: dict[int, Decimal | None] = {}
    errors: dict[int, str] = {}
    for group in groups:
        raw = request.POST.get(field_name(group), "")
        raw = raw if isinstance(raw, str) else ""
        values[group.id] = raw
        try:
            wanted[group.id] = parse_percent(raw)
        except ValueError as exc:
            errors[group.id] = request.translate(exc.args[0])
    if errors:
        request.response.status_int = 400
        return _page(request, client, values, errors)
    current = _current(request, client)
    changed = 0
    for group in groups:
        percent = wanted[group.id] or None  # 0 % is no discount
        row = current.get(group.id)
        if row is not None and percent is None:
            request.dbsession.delete(row)
            changed += 1
        elif row is None and percent is not None:
            request.dbsession.add(ClientDiscount(client_id=client.id, group_id=group.id,
                                                 percent=percent))
            changed += 1
        elif row is not None and row.percent != percent:
            row.percent = percent
            changed += 1
    request.dbsession.flush()
    if changed:
        flash(request, _("The discounts of ${name} were saved."), name=client.name)
    else:
        flash(request, _("The discounts did not change."), "info")
    return HTTPSeeOther(request.route_url("inv_client_discounts", client_id=client.id))


def includeme(config: Any) -> None:
    """Register the tab's route."""
    config.add_route("inv_client_discounts", "/clients/{client_id:\\d{1,9}}/discounts")
    config.scan(__name__)
