"""The front page: widgets from the ``dashboard_widgets`` hook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from pyramid.renderers import render
from pyramid.request import Request
from pyramid.view import view_config

from core.db import utcnow
from core.web import dashboard_widgets


@dataclass
class RenderedWidget:
    """A widget's title and rendered body."""

    name: str
    title: str
    size: str
    body: Markup


@view_config(route_name="home", renderer="core:templates/dashboard.pt",
             permission="core:dashboard:view")
def dashboard(request: Request) -> dict[str, Any]:
    """Render every widget the user may see."""
    rendered = []
    for widget in dashboard_widgets(request):
        body = render(widget.template, {"widget": widget, **widget.data(request)}, request)
        rendered.append(
            RenderedWidget(
                widget.name,
                request.translate(widget.title),
                widget.size,
                Markup(body),  # noqa: S704 - output of an auto-escaping Chameleon template
            )
        )
    return {"widgets": rendered, "now": utcnow()}
