"""The client card: the header (C1) and its tabs, contributed through ``client_card_tabs``;
plugins add facts to the header through ``client_card_facts``.

Every tab view returns ``card_context(request, client, "tab.name")`` merged with its own
data and renders a template that fills the ``tab`` slot of the ``card`` macro in
``templates/card.pt`` (available to templates as ``card``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pyramid.events import BeforeRender
from pyramid.interfaces import IRoutesMapper
from pyramid.renderers import get_renderer
from pyramid.request import Request
from pyramid.view import view_config

from core.hookspecs.types import CardFact, CardTab
from plugins.crm_register import labels
from plugins.crm_register.access import require_client
from plugins.crm_register.models import Client
from plugins.crm_register.permissions import CLIENT_CREDIT, CLIENT_EDIT, CLIENT_VIEW

CARD_TEMPLATE = "plugins.crm_register:templates/card.pt"
log = logging.getLogger(__name__)
FACT_KINDS = ("", "good", "danger")
"""The colours a header fact can have (``CardFact.kind``)."""


@dataclass(frozen=True)
class TabLink:
    """A card tab ready for the template."""

    name: str
    label: str
    url: str
    active: bool
    count: int | None


def card_tabs(request: Request, client: Client, active: str | None) -> list[TabLink]:
    """The tabs of ``client``'s card the user may open, in order."""
    tabs: list[CardTab] = []
    for batch in request.hooks.client_card_tabs(request=request, client=client):
        tabs.extend(batch or ())
    routes = request.registry.getUtility(IRoutesMapper)
    tabs = [t for t in tabs if not t.permission or request.has_permission(t.permission)]
    missing = [t for t in tabs if routes.get_route(t.route) is None]
    for tab in missing:
        log.error("Card tab %s names the unknown route %s; it is not shown", tab.name, tab.route)
    tabs = [t for t in tabs if t not in missing]
    tabs.sort(key=lambda t: (t.order, t.name))
    return [
        TabLink(
            name=t.name,
            label=request.translate(t.label),
            url=request.route_url(t.route, client_id=client.id),
            active=t.name == active,
            count=t.count(request, client) if t.count else None,
        )
        for t in tabs
    ]


@dataclass(frozen=True)
class FactView:
    """A plugin's fact for the card header, ready for the template."""

    name: str
    label: str
    value: str
    kind: str
    """``""``, ``"good"`` or ``"danger"``: the colour of the value."""


def card_facts(request: Request, client: Client) -> list[FactView]:
    """The facts plugins show in ``client``'s card header (``client_card_facts``) that the
    user may see, in order; a fact whose value is ``None`` is left out."""
    facts: list[CardFact] = []
    for batch in request.hooks.client_card_facts(request=request, client=client):
        facts.extend(batch or ())
    facts = [f for f in facts if not f.permission or request.has_permission(f.permission)]
    facts.sort(key=lambda f: (f.order, f.name))
    shown = []
    for fact in facts:
        value = fact.value(request, client)
        if value is None:
            continue
        kind = (fact.kind(request, client) if fact.kind else "") or ""
        if kind not in FACT_KINDS:
            log.error("Card fact %s has the unknown kind %r; shown plainly", fact.name, kind)
            kind = ""
        shown.append(FactView(name=fact.name, label=request.translate(fact.label),
                              value=str(value), kind=kind))
    return shown


def card_context(request: Request, client: Client, active: str | None) -> dict[str, Any]:
    """What the ``card`` macro needs: the client, its tabs, the plugins' header facts and
    the user's rights."""
    return {
        "client": client,
        "tabs": card_tabs(request, client, active),
        "facts": card_facts(request, client),
        "can_edit": request.has_permission(CLIENT_EDIT),
        "can_credit": request.has_permission(CLIENT_CREDIT),
    }


def _add_card_macro(event: BeforeRender) -> None:
    event["card"] = get_renderer(CARD_TEMPLATE).implementation()
    event["crm_labels"] = labels.ALL


@view_config(route_name="crm_client", renderer="plugins.crm_register:templates/overview.pt",
             permission=CLIENT_VIEW)
def client_overview(request: Request) -> dict[str, Any]:
    """The card's first page: the header, notes, groups, contacts and addresses at a glance."""
    client = require_client(request)
    return card_context(request, client, None)


def includeme(config: Any) -> None:
    """Card routes and the ``card`` renderer global."""
    config.add_route("crm_client", "/clients/{client_id:\\d{1,9}}")
    config.add_subscriber(_add_card_macro, BeforeRender)
    config.scan(__name__)
