"""Hooks of invoicing: e-invoice channels and the phone-order flow (W2) as overridable steps.

A company plugin changes the flow for its tenant by implementing these (with ``tryfirst``
or as a ``hookwrapper``) without copying the invoicing plugin's code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.hookspecs._marker import hookspec

if TYPE_CHECKING:
    from pyramid.request import Request

    from core.hookspecs.types import EInvoiceChannel, OrderStep


@hookspec
def einvoice_channels(request: Request) -> list[EInvoiceChannel]:
    """Return the e-invoice channels this plugin offers.

    Broadcast: the channels of every enabled plugin are offered on a confirmed invoice
    ("send as e-invoice"); the invoicing plugin brings ``file`` (an XML file for an
    operator).
    """


@hookspec
def order_flow_steps(request: Request, steps: list[OrderStep]) -> None:
    """Change the steps of the phone-order flow in place: insert, replace or remove.

    Broadcast, called with the invoicing plugin's default steps (pick lines, pick slot,
    confirm, issue prepayment invoice, send confirmation); implementations edit ``steps``.
    """


@hookspec(firstresult=True)
def choose_service_slot(request: Request, order: Any, slots: list[Any]) -> list[Any] | None:
    """Return the service times to offer for ``order`` out of the free ``slots``.

    First result wins. ``slots`` are the free ``plugins.crm_register.calendar.Slot`` s of
    the performer for the order's service duration; return a (filtered or re-ordered) list,
    or ``None`` to leave the choice to the next implementation.
    """


@hookspec(firstresult=True)
def build_prepayment_invoice(request: Request, order: Any) -> Any:
    """Build (and return) the draft prepayment invoice of ``order``.

    First result wins; a ``hookwrapper`` may change the invoice the default builds (e.g.
    add a deposit line) before it is confirmed.
    """


@hookspec
def invoice_issued(request: Request, invoice: Any, reason: str) -> None:
    """React to a confirmed invoice that should reach the client (``reason``: ``order``).

    Broadcast. The invoicing plugin e-mails the invoice PDF through the core outbox, so it
    leaves only after the transaction commits.
    """
