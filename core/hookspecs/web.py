"""Hooks that shape the web interface: the menu and the dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.hookspecs._marker import hookspec

if TYPE_CHECKING:
    from pyramid.request import Request

    from core.hookspecs.types import MenuItem, Widget


@hookspec
def menu_items(request: Request) -> list[MenuItem]:
    """Return the menu entries this plugin contributes.

    Broadcast: every enabled plugin's list is merged, filtered by each item's permission
    for the current user and sorted by ``order``. Items with ``section="admin"`` go to the
    administration menu.
    """


@hookspec
def dashboard_widgets(request: Request) -> list[Widget]:
    """Return the dashboard widgets this plugin contributes.

    Broadcast: widgets of every enabled plugin are shown on the front page, filtered by
    permission and sorted by ``order``; each is rendered from its template with the dict
    its ``data(request)`` returns, so the work happens only for widgets that are shown.
    """
