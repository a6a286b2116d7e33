"""Bank statement import (B1): the upload page with the imports so far, and one import's
entries with what happened to each (matched automatically and why, waiting, outgoing).

Routes: ``/bank`` (list and upload form), ``POST /bank/import`` (the upload) and
``/bank/statements/{statement_id}``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy.orm import joinedload, selectinload

from core.paging import paginate
from core.web import flash
from plugins.bank_import.i18n import _
from plugins.bank_import.importing import MAX_FILE_BYTES, import_file
from plugins.bank_import.labels import STATE_LABELS
from plugins.bank_import.matching import reason_text
from plugins.bank_import.models import (
    OPEN,
    Allocation,
    BankAccount,
    BankTransaction,
    Statement,
)
from plugins.bank_import.permissions import PAYMENT_VIEW, STATEMENT_IMPORT
from plugins.bank_import.statements import StatementError

LIST_TEMPLATE = "plugins.bank_import:templates/statements.pt"
WITH_ALLOCATIONS = (
    selectinload(BankTransaction.allocations).options(
        joinedload(Allocation.invoice), joinedload(Allocation.client)),
)
"""Loader options for listing transactions with their matches in a few queries."""


def parsers(request: Request) -> list[Any]:
    """The statement parsers of the tenant's enabled plugins, company plugins' first."""
    found: list[Any] = []
    for batch in request.hooks.statement_parsers(request=request):
        found.extend(batch or ())
    return found


def _list_page(request: Request, error: str | None = None) -> dict[str, Any]:
    stmt = (sa.select(Statement).order_by(Statement.created_at.desc(), Statement.id.desc()))
    waiting = request.dbsession.scalar(
        sa.select(sa.func.count()).select_from(BankTransaction)
        .where(BankTransaction.state == OPEN)) or 0
    accounts = list(request.dbsession.scalars(
        sa.select(BankAccount).where(BankAccount.active).order_by(BankAccount.iban)))
    return {"pager": paginate(request.dbsession, request, stmt, size=30), "error": error,
            "waiting": waiting, "accounts": accounts,
            "can_import": request.has_permission(STATEMENT_IMPORT),
            "formats": [request.translate(p.label) for p in parsers(request)]}


@view_config(route_name="bank_statements", renderer=LIST_TEMPLATE, permission=PAYMENT_VIEW)
def statement_list(request: Request) -> dict[str, Any]:
    """The imported statements, newest first, and the upload form."""
    return _list_page(request)


@view_config(route_name="bank_import_upload", request_method="POST", renderer=LIST_TEMPLATE,
             permission=STATEMENT_IMPORT)
def upload(request: Request) -> Any:
    """Import the uploaded statement file; on refusal show why (nothing is imported)."""
    upload = request.POST.get("file")
    if not hasattr(upload, "file") or not getattr(upload, "filename", ""):
        request.response.status_int = 400
        return _list_page(request, request.translate(_("Choose a statement file to upload.")))
    data = upload.file.read(MAX_FILE_BYTES + 1)
    try:
        result = import_file(request.dbsession, parsers(request), upload.filename, data,
                             tenant_id=request.tenant.id, user_id=request.user.id)
    except StatementError as exc:
        request.response.status_int = 400
        return _list_page(request, request.translate(exc.message))
    flash(request, _("Entries in the file: ${total}; new: ${new}; imported before: ${known}. "
                     "Matched automatically: ${applied}; waiting for you: ${waiting}."),
          new=result.entries_new, total=result.entries_in_file, known=result.duplicates,
          applied=result.matching.applied,
          waiting=result.matching.suggested + result.matching.unmatched)
    return HTTPSeeOther(request.route_url("bank_statement",
                                          statement_id=result.statements[0].id))


@view_config(route_name="bank_statement", renderer="plugins.bank_import:templates/statement.pt",
             permission=PAYMENT_VIEW)
def statement_view(request: Request) -> dict[str, Any]:
    """One import: its entries with their state, matches and reasons."""
    statement = request.dbsession.get(Statement, int(request.matchdict["statement_id"]))
    if statement is None:
        raise HTTPNotFound()
    stmt = (sa.select(BankTransaction).where(BankTransaction.statement_id == statement.id)
            .options(*WITH_ALLOCATIONS)
            .order_by(BankTransaction.booking_date, BankTransaction.id))
    counts = dict(request.dbsession.execute(
        sa.select(BankTransaction.state, sa.func.count())
        .where(BankTransaction.statement_id == statement.id)
        .group_by(BankTransaction.state)).all())
    return {"statement": statement, "pager": paginate(request.dbsession, request, stmt, size=100),
            "counts": counts, "state_labels": STATE_LABELS,
            "reason_text": lambda reason: reason_text(request, reason)}


def includeme(config: Any) -> None:
    """Routes of the statement pages."""
    config.add_route("bank_statements", "/bank")
    config.add_route("bank_import_upload", "/bank/import")
    config.add_route("bank_statement", "/bank/statements/{statement_id:\\d{1,9}}")
    config.scan(__name__)
