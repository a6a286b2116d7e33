"""Hooks of the client register (crm_register), for the plugins that extend the client card."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.hookspecs._marker import hookspec

if TYPE_CHECKING:
    from pyramid.request import Request

    from core.hookspecs.types import CardFact, CardTab


@hookspec
def client_card_tabs(request: Request, client: Any) -> list[CardTab]:
    """Return the client card sub-tabs this plugin contributes for ``client``.

    Broadcast: tabs of every enabled plugin are merged, filtered by permission and sorted
    by ``order``. ``client`` is a ``plugins.crm_register.models.Client``. The tab's route
    receives ``client_id`` and renders its content inside the card macro, so the card
    header (C1) stays in place while the tabs change.
    """


@hookspec
def client_card_facts(request: Request, client: Any) -> list[CardFact]:
    """Return facts this plugin shows in the header of ``client``'s card (C1).

    Broadcast: the facts of every enabled plugin are merged, filtered by permission and
    sorted by ``order``; bank_import shows the client's balance (saldo) this way.
    """
