"""The receivables report (B2): per client the open amounts by days past due, the
prepayment held and the balance, optionally for one client group; as a page, CSV or XLSX."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from babel.numbers import get_decimal_symbol
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from core.i18n import local_today
from core.paging import Page, page_number
from plugins.bank_import.balances import (
    BUCKET_LABELS,
    BUCKETS,
    ReceivableRow,
    receivables,
    receivables_total,
)
from plugins.bank_import.i18n import _
from plugins.bank_import.permissions import RECEIVABLES_VIEW
from plugins.crm_register import exports
from plugins.crm_register.access import client_filter
from plugins.crm_register.models import ClientGroup
from plugins.crm_register.views.target_groups import CONTENT_TYPES, file_response

PAGE_SIZE = 200
FORMATS = ("csv", "xlsx")


def _groups(request: Request) -> list[ClientGroup]:
    return list(request.dbsession.scalars(
        sa.select(ClientGroup).order_by(ClientGroup.position, ClientGroup.name)))


def _chosen_group(request: Request, groups: Sequence[ClientGroup]) -> ClientGroup | None:
    """The group of the ``group`` query parameter, if it is one of the tenant's."""
    raw = request.GET.get("group", "").strip()
    if not raw.isdigit():
        return None
    return next((g for g in groups if g.id == int(raw)), None)


def export_headers(request: Request) -> list[str]:
    """The column titles of the exported report, in the user's language."""
    t = request.translate
    return [t(_("Client number")), t(_("Client")),
            *(t(BUCKET_LABELS[name]) for name in BUCKETS),
            t(_("Prepayment")), t(_("Balance"))]


def export_row(row: ReceivableRow) -> list[Any]:
    """One client's exported values: number, name, the ageing buckets, prepayment, balance
    (amounts as ``Decimal``)."""
    return [row.client_number, row.client_name, *(row.bucket(name) for name in BUCKETS),
            row.prepayment, row.balance]


def _export(request: Request, rows: Sequence[ReceivableRow], fmt: str,
            group: ClientGroup | None) -> Response:
    today = local_today(request)
    title = request.translate(_("Receivables"))
    headers = export_headers(request)
    values = [export_row(row) for row in rows]
    if fmt == "csv":
        content = exports.write_csv(headers, values,
                                    get_decimal_symbol(request.locale_name))
    else:
        content = exports.write_xlsx(headers, values, title)
    base = request.translate(_("receivables"))
    if group is not None:
        base += f"-{group.name}"
    return file_response(content, f"{base}-{today.isoformat()}.{fmt}", CONTENT_TYPES[fmt])


@view_config(route_name="bank_receivables", request_method="GET",
             renderer="plugins.bank_import:templates/receivables.pt",
             permission=RECEIVABLES_VIEW)
def receivables_report(request: Request) -> Any:
    """The receivables of the clients the user may see, optionally of one client group;
    ``?format=csv`` or ``?format=xlsx`` downloads the same rows."""
    groups = _groups(request)
    group = _chosen_group(request, groups)
    fmt = request.GET.get("format", "")
    if fmt and fmt not in FORMATS:
        raise HTTPNotFound()
    today = local_today(request)
    rows = receivables(request.dbsession, today, group.id if group else None,
                       visible=client_filter(request))
    if fmt:
        return _export(request, rows, fmt, group)
    number = min(page_number(request), max(1, math.ceil(len(rows) / PAGE_SIZE)))
    start = (number - 1) * PAGE_SIZE
    query = {"group": str(group.id)} if group else {}
    return {
        "groups": groups, "group": group, "today": today,
        "buckets": BUCKETS, "bucket_labels": BUCKET_LABELS,
        "pager": Page(items=rows[start:start + PAGE_SIZE], number=number, size=PAGE_SIZE,
                      total=len(rows), request=request),
        "totals": receivables_total(rows),
        "csv_url": request.route_url("bank_receivables", _query={**query, "format": "csv"}),
        "xlsx_url": request.route_url("bank_receivables", _query={**query, "format": "xlsx"}),
    }


def includeme(config: Any) -> None:
    """The receivables report route."""
    config.add_route("bank_receivables", "/bank/receivables")
    config.scan(__name__)
