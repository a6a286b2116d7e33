"""Hooks of the JSON API under ``/api/v1``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.hookspecs._marker import hookspec

if TYPE_CHECKING:
    from pyramid.request import Request


@hookspec
def openapi_paths(request: Request) -> dict[str, Any]:
    """Return OpenAPI 3.1 path items (``{"/api/v1/things": {...}}``) for this plugin's API.

    Broadcast: the dicts of the enabled plugins are merged into ``/api/v1/openapi.json``.
    Component schemas may be given under the special key ``"components"``.
    """
