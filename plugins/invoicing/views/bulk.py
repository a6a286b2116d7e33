"""Bulk sending of invoices (I4, M3): choose all unsent confirmed invoices or some of them,
PDF attachment or HTML body, see how many go out and which are skipped for want of an
e-mail address; sending runs as a background job whose progress page refreshes itself.

Routes: ``/invoices/bulk`` (the form; POST with ``action=preview`` shows the counts of
the choice, ``action=send`` queues the job) and ``/invoices/bulk/{job_id}`` (progress).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from core.models import Job
from core.web import flash
from plugins.crm_register.access import client_filter
from plugins.crm_register.models import Client
from plugins.invoicing.bulk import (
    BULK_SEND,
    FORMATS,
    MAX_INVOICES,
    SKIP_REASONS,
    bulk_report,
    is_unsent_confirmed,
    preview,
    recent_batches,
    recipient_of,
    start_bulk_send,
    unsent_confirmed,
)
from plugins.invoicing.i18n import _
from plugins.invoicing.models import Invoice
from plugins.invoicing.permissions import INVOICE_SEND

FORM_TEMPLATE = "plugins.invoicing:templates/bulk_send.pt"
MAX_LISTED = 500
"""At most this many candidates are listed for choosing (all of them are sent with "all")."""
REFRESH_RUNNING = 3
"""Seconds between reloads of the progress page while invoices are being handled."""
REFRESH_WAITING = 15
"""Seconds between reloads while e-mails only wait in the outbox (e.g. server down)."""
MODES = ("all", "selected")
FORMAT_LABELS = {"pdf": _("PDF attachment"), "html": _("HTML in the message body")}
OUTCOME_LABELS = {
    "waiting": _("waiting"), "queued": _("in the outbox"), "sending": _("being sent"),
    "sent": _("sent"), "failed": _("failed"), "skipped": _("skipped"),
}


def _candidates(request: Request, limit: int | None = MAX_LISTED) -> list[Invoice]:
    """The unsent confirmed invoices the user may see (the first ``limit`` of them)."""
    stmt = unsent_confirmed(client_filter(request))
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(request.dbsession.scalars(stmt))


def _candidate_count(request: Request) -> int:
    """How many unsent confirmed invoices the user may see."""
    return request.dbsession.scalar(
        sa.select(sa.func.count(Invoice.id)).join(Client, Client.id == Invoice.client_id)
        .where(is_unsent_confirmed(), client_filter(request))) or 0


def _chosen_ids(request: Request) -> list[int]:
    """The ``invoice_id`` values of the request that are ids, without repeats."""
    ids = []
    for raw in request.params.getall("invoice_id"):
        if raw.isdigit() and len(raw) <= 9:
            ids.append(int(raw))
    return list(dict.fromkeys(ids))


def _form_page(request: Request, *, mode: str, fmt: str, selected: list[int],
               error: str | None = None) -> dict[str, Any]:
    """The form's values: the candidates, the choice and its preview."""
    candidates = _candidates(request)
    total = _candidate_count(request)
    if mode == "selected":
        chosen = set(selected)
        chosen_invoices = [inv for inv in candidates if inv.id in chosen]
    else:
        chosen_invoices = _candidates(request, limit=None) if total > len(candidates) \
            else candidates
    return {
        "candidates": candidates, "total": total, "more": total - len(candidates),
        "mode": mode, "fmt": fmt, "selected": set(selected),
        "preview": preview(chosen_invoices), "error": error,
        "formats": FORMATS, "format_labels": FORMAT_LABELS, "skip_reasons": SKIP_REASONS,
        "recipient_of": recipient_of, "recent": recent_batches(request.dbsession),
    }


@view_config(route_name="inv_bulk_send", request_method="GET", renderer=FORM_TEMPLATE,
             permission=INVOICE_SEND)
def bulk_form(request: Request) -> dict[str, Any]:
    """The choice: every unsent confirmed invoice (``?invoice_id=`` preselects some)."""
    selected = _chosen_ids(request)
    mode = "selected" if selected else "all"
    return _form_page(request, mode=mode, fmt="pdf", selected=selected)


@view_config(route_name="inv_bulk_send", request_method="POST", renderer=FORM_TEMPLATE,
             permission=INVOICE_SEND)
def bulk_send(request: Request) -> Any:
    """``action=preview``: show what the choice would send; ``action=send``: queue the job
    and go to its progress page. Only unsent confirmed invoices the user may see count."""
    mode = request.POST.get("mode", "all")
    mode = mode if mode in MODES else "all"
    fmt = request.POST.get("format", "pdf")
    fmt = fmt if fmt in FORMATS else "pdf"
    selected = _chosen_ids(request)
    if request.POST.get("action") != "send":
        return _form_page(request, mode=mode, fmt=fmt, selected=selected)
    stmt = unsent_confirmed(client_filter(request))
    if mode == "selected":
        stmt = stmt.where(Invoice.id.in_(selected or [0]))
    chosen = preview(request.dbsession.scalars(stmt.limit(MAX_INVOICES + 1)))
    error = None
    if mode == "selected" and not selected:
        error = _("Choose the invoices to send.")
    elif chosen.total > MAX_INVOICES:
        error = _("At most ${count} invoices can be sent at once.",
                  mapping={"count": MAX_INVOICES})
    elif not chosen.to_send:
        error = _("None of the chosen invoices can be e-mailed.") if chosen.total \
            else _("There are no unsent confirmed invoices to send.")
    if error is not None:
        request.response.status_int = 400
        return _form_page(request, mode=mode, fmt=fmt, selected=selected,
                          error=request.translate(error))
    ids = [inv.id for inv in chosen.to_send] + [inv.id for inv, _r in chosen.skipped]
    job = start_bulk_send(request.dbsession, ids, fmt, request.user.id)
    flash(request, _("Sending ${count} invoices in the background.",
                     mapping={"count": len(chosen.to_send)}), "info")
    return HTTPSeeOther(request.route_url("inv_bulk_job", job_id=job.id))


@view_config(route_name="inv_bulk_job", request_method="GET",
             renderer="plugins.invoicing:templates/bulk_job.pt", permission=INVOICE_SEND)
def bulk_job(request: Request) -> dict[str, Any]:
    """The progress of a bulk sending and the outcome per invoice; reloads itself while
    invoices are handled or e-mails wait. Jobs of other tenants are not found."""
    job = request.dbsession.scalar(
        sa.select(Job).where(Job.id == int(request.matchdict["job_id"]), Job.kind == BULK_SEND))
    if job is None:
        raise HTTPNotFound()
    report = bulk_report(request.dbsession, job, client_filter(request))
    refresh = REFRESH_RUNNING if report.running else (
        REFRESH_WAITING if report.waiting else None)
    return {"report": report, "refresh": refresh, "skip_reasons": SKIP_REASONS,
            "format_labels": FORMAT_LABELS, "outcome_labels": OUTCOME_LABELS}


def includeme(config: Any) -> None:
    """Bulk sending routes."""
    config.add_route("inv_bulk_send", "/invoices/bulk")
    config.add_route("inv_bulk_job", "/invoices/bulk/{job_id:\\d{1,9}}")
    config.scan(__name__)
