"""Paging of query results for list pages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pyramid.request import Request
from sqlalchemy.orm import Session


@dataclass
class Page:
    """One page of results with what the ``pager`` macro needs."""

    items: list[Any]
    number: int
    size: int
    total: int
    request: Request

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, math.ceil(self.total / self.size))

    @property
    def has_previous(self) -> bool:
        """True when there is a page before this one."""
        return self.number > 1

    @property
    def has_next(self) -> bool:
        """True when there is a page after this one."""
        return self.number < self.pages

    def url(self, number: int) -> str:
        """This page's URL with ``page=number`` (other query parameters kept)."""
        params = {k: v for k, v in self.request.GET.items() if k != "page"}
        params["page"] = str(number)
        return self.request.current_route_url(_query=params)


MAX_PAGE = 1_000_000


def page_number(request: Request) -> int:
    """The ``page`` query parameter as a positive int (bad or absurd values mean page 1)."""
    raw = request.GET.get("page", "1")
    if not raw.isdigit() or len(raw) > 7:
        return 1
    number = int(raw)
    return number if 0 < number <= MAX_PAGE else 1


def paginate(dbsession: Session, request: Request, stmt: sa.Select, size: int = 50) -> Page:
    """Run ``stmt`` for the requested page; counts the full result once."""
    number = page_number(request)
    total = dbsession.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(dbsession.scalars(stmt.limit(size).offset((number - 1) * size)))
    return Page(items=items, number=number, size=size, total=total or 0, request=request)
