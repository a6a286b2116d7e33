"""``/healthz``: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pyramid.request import Request
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config


@view_config(route_name="healthz", renderer="json", permission=NO_PERMISSION_REQUIRED,
             require_csrf=False)
def healthz(request: Request) -> dict[str, Any]:
    """Check the database with ``SELECT 1`` on a fresh connection from the pool."""
    try:
        with request.registry["db_engine"].connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        request.response.status_int = 503
        return {"status": "error", "database": "unreachable"}
    return {"status": "ok", "database": "ok"}
