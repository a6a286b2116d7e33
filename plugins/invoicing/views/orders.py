"""Pages of the phone-order flow (W2): one URL per step, ``/orders/{order_id}/{step}``.

The engine is generic: it walks the tenant's steps (:func:`~plugins.invoicing.order_flow.
flow_steps`), renders a step's page while the step asks for one, and runs the steps without
a page one after another. A step that fails shows its message on the last page step and
changes nothing (its work runs in a savepoint).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from core.sdk import OrderStep
from plugins.crm_register.access import client_filter, require_client
from plugins.crm_register.models import Client
from plugins.crm_register.views.card import card_context
from plugins.invoicing import references
from plugins.invoicing.models import Invoice, Order
from plugins.invoicing.order_flow import StepError, flow_steps, products_of
from plugins.invoicing.permissions import ORDER_TAKE

DONE_TEMPLATE = "plugins.invoicing:templates/order_done.pt"


def require_order(request: Request) -> Order:
    """The order of the route if its client is visible to the user; else 404."""
    order = request.dbsession.scalar(
        sa.select(Order).join(Client, Client.id == Order.client_id)
        .where(Order.id == int(request.matchdict["order_id"]), client_filter(request)))
    if order is None:
        raise HTTPNotFound()
    return order


@view_config(route_name="inv_client_orders", request_method="POST", permission=ORDER_TAKE)
def start_order(request: Request) -> HTTPSeeOther:
    """Start a phone order for the client (the button on the card's invoices tab)."""
    client = require_client(request)
    steps = flow_steps(request)
    order = Order(client_id=client.id, client=client, step=steps[0].name, lines=[],
                  created_by_id=request.user.id)
    request.dbsession.add(order)
    request.dbsession.flush()
    return HTTPSeeOther(request.route_url("inv_order_step", order_id=order.id,
                                          step=steps[0].name))


@view_config(route_name="inv_order", permission=ORDER_TAKE)
def order_view(request: Request) -> HTTPSeeOther:
    """Go to the step the order is at (or its summary when it is done)."""
    order = require_order(request)
    return HTTPSeeOther(request.route_url("inv_order_step", order_id=order.id,
                                          step=order.step or "done"))


def _render(request: Request, order: Order, steps: list[OrderStep], step: OrderStep | None,
            data: dict[str, Any], error: Any = None, status: int = 200) -> Response:
    context = {
        **card_context(request, order.client, "inv.invoices"), **data,
        "order": order, "steps": [s for s in steps if s.page], "current": step,
        "error": request.localizer.translate(error) if error is not None else None,
        "picked": data.get("picked", products_of(request.dbsession, order)),
    }
    template = step.template if step is not None else DONE_TEMPLATE
    response = render_to_response(template, context, request=request)
    response.status_int = status
    return response


def _done(request: Request, order: Order, steps: list[OrderStep]) -> Response:
    invoice = request.dbsession.get(Invoice, order.invoice_id) if order.invoice_id else None
    return _render(request, order, steps, None, {
        "invoice": invoice,
        "reference": references.display(invoice.reference_number) if invoice else ""})


@view_config(route_name="inv_order_step", permission=ORDER_TAKE)
def order_step(request: Request) -> Response:
    """Show or handle one step; when it is done, go on to the next page step (running the
    steps without a page on the way)."""
    order = require_order(request)
    steps = flow_steps(request)
    name = request.matchdict["step"]
    if name == "done" or order.status != "open":
        if order.status == "open":
            raise HTTPNotFound()
        return _done(request, order, steps)
    names = [s.name for s in steps]
    if name not in names:
        raise HTTPNotFound()
    index = names.index(name)
    reached = names.index(order.step) if order.step in names else 0
    if index > reached:  # steps are taken in order: not past the one the order is at
        return HTTPSeeOther(request.route_url("inv_order_step", order_id=order.id,
                                              step=order.step))
    step = steps[index]
    savepoint = request.dbsession.begin_nested()
    try:
        data = step.run(request, order)
        if data is not None:
            savepoint.commit()
            return _render(request, order, steps, step, data)
        position = index + 1
        while position < len(steps) and not steps[position].page:
            steps[position].run(request, order)
            position += 1
        savepoint.commit()
    except StepError as exc:
        savepoint.rollback()
        request.dbsession.refresh(order)
        # Show the step's page again, as for a GET, with the message.
        request.method = "GET"
        data = step.run(request, order) or {}
        return _render(request, order, steps, step, data, error=exc.message, status=400)
    if position >= len(steps):
        order.step = ""
        request.dbsession.flush()
        return HTTPSeeOther(request.route_url("inv_order_step", order_id=order.id,
                                              step="done"))
    order.step = steps[position].name
    request.dbsession.flush()
    return HTTPSeeOther(request.route_url("inv_order_step", order_id=order.id,
                                          step=order.step))




def includeme(config: Any) -> None:
    """Order flow routes."""
    config.add_route("inv_client_orders", "/clients/{client_id:\\d{1,9}}/orders")
    config.add_route("inv_order", "/orders/{order_id:\\d{1,9}}")
    config.add_route("inv_order_step", "/orders/{order_id:\\d{1,9}}/{step:[a-z0-9_]{1,40}}")
    config.scan(__name__)
