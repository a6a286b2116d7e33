"""The small value objects that hook implementations return."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyramid.request import Request

    from core.jobs import JobContext


@dataclass(frozen=True)
class MenuItem:
    """An entry of the main menu (``section="main"``) or the admin menu (``"admin"``).

    ``label`` is a translation string or plain text; ``route`` a route name; the item is
    shown only to users holding ``permission``. Lower ``order`` comes first.
    """

    name: str
    label: Any
    route: str
    permission: str | None
    order: int = 100
    section: str = "main"
    icon: str | None = None


@dataclass(frozen=True)
class Permission:
    """A permission named ``plugin:resource:action`` with a human label.

    ``default_roles`` receive it when the plugin is enabled for a tenant; an admin can
    change the grants afterwards. The ``admin`` role always holds every permission.
    """

    name: str
    label: Any
    default_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Widget:
    """A dashboard box rendered from ``template`` with the dict returned by ``data(request)``.

    ``size`` is ``"half"`` or ``"full"``; the widget is shown only with ``permission``.
    """

    name: str
    title: Any
    template: str
    data: Callable[[Request], dict[str, Any]]
    permission: str | None = None
    order: int = 100
    size: str = "half"


@dataclass(frozen=True)
class JobHandler:
    """Runs background jobs of ``kind``: ``run(context)`` may return a JSON-able result.

    Raise :class:`core.jobs.RetryLater` to try again after a delay; any other exception
    counts as a failed attempt (retried with backoff up to the job's ``max_attempts``).
    """

    kind: str
    run: Callable[[JobContext], dict[str, Any] | None]
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CardTab:
    """A sub-tab of the client card, opened at ``route`` with the ``client_id`` matchdict.

    The view of the route renders the card header (the client register's ``card`` macro)
    with the tab's content. ``count(request, client)``, when given, returns a number shown
    beside the label. Lower ``order`` comes first; hidden without ``permission``.
    """

    name: str
    label: Any
    route: str
    permission: str | None
    order: int = 100
    count: Callable[[Request, Any], int] | None = None


@dataclass(frozen=True)
class OrderStep:
    """A named step of the phone-order flow (W2).

    ``run(request, order)`` handles the step: it returns a dict to render ``template`` (a
    page the user acts on), or ``None`` when the step is done and the flow moves on to the
    next step. Steps with ``page=False`` run without a page, one after another (e.g.
    issuing the prepayment invoice).
    """

    name: str
    label: Any
    run: Callable[..., Any]
    template: str | None = None
    page: bool = True


@dataclass(frozen=True)
class EInvoiceChannel:
    """A way to deliver e-invoices (a file for an operator, an operator's API...).

    ``send(dbsession, invoice, ubl_xml, settings)`` delivers one confirmed invoice and
    returns a short text for the delivery record (e.g. the file name or the operator's id);
    it raises an exception when the invoice could not be handed over.
    """

    name: str
    label: Any
    send: Callable[..., str]


@dataclass(frozen=True)
class StatementParser:
    """Reads one bank statement format (camt.053, MT940, a bank's CSV export...).

    ``detect(data, filename)`` says quickly, from the first bytes and the name, whether the
    file is in this format; ``parse(data, filename)`` returns the statements in it (the
    bank_import plugin's ``plugins.bank_import.statements.ParsedStatement``) or raises its
    ``StatementError`` with a message for the user.
    """

    name: str
    label: Any
    detect: Callable[[bytes, str], bool]
    parse: Callable[[bytes, str], list[Any]]


@dataclass(frozen=True)
class CardFact:
    """A fact shown in the client card's header (C1), e.g. the client's balance.

    ``value(request, client)`` returns the text to show, or ``None`` to leave the fact
    out; ``kind`` is ``""``, ``"good"`` or ``"danger"`` for the colour. Shown only with
    ``permission``; lower ``order`` comes first.
    """

    name: str
    label: Any
    value: Callable[[Request, Any], str | None]
    permission: str | None
    order: int = 100
    kind: Callable[[Request, Any], str] | None = None
