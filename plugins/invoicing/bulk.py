"""Bulk sending of invoices by e-mail (I4, M3): the chosen unsent confirmed invoices are
e-mailed, the PDF attached or the invoice as the HTML body, by a background job whose
progress the user follows on a page of its own.

The view queues one job of kind :data:`BULK_SEND` (payload: the invoice ids, the format
and the user); :func:`run_bulk_send` works through the invoices a chunk at a time. The
core worker commits a job's writes together with the job's new state, in one transaction
per run, so a chunk is one run: a run that leaves invoices over queues a continuation job
(:data:`BULK_SEND_NEXT`, payload ``batch_job_id``) for the next chunk. Every chunk is
therefore its own transaction: its messages enter the outbox, its
:class:`~plugins.invoicing.models.Delivery` rows are recorded and the progress and the
summary on the batch job (the one the user started) move on together, or not at all.

Nothing is sent twice:

* the mail leaves through the outbox only after the chunk's transaction committed, and the
  outbox delivers a message at most once (retrying while the SMTP server is down);
* a crashed chunk is rolled back as a whole and run again;
* every Delivery of the batch carries :func:`marker` of the batch job in ``detail``: an
  invoice that already has one is counted as queued, not e-mailed again, whatever the
  summary says (e.g. a job run again by hand);
* the invoices of a chunk are locked (``FOR UPDATE``) and re-checked: an invoice that is
  no longer ``confirmed`` (e.g. sent meanwhile by another job) is skipped, with the reason.

The batch job's ``result`` is the summary (:class:`BulkState` as JSON): the outcome of each
invoice handled so far. The delivery outcome comes from the outbox (:func:`bulk_report`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pyramid.interfaces import ITranslationDirectories
from pyramid.registry import Registry
from sqlalchemy.orm import Session, selectinload

from core.jobs import JobContext, describe_error, enqueue
from core.models import Job, MailMessage, User
from core.plugins import discover_manifests
from plugins.crm_register.models import Client
from plugins.invoicing.i18n import _
from plugins.invoicing.models import Delivery, Invoice
from plugins.invoicing.sending import email_invoice, valid_email

log = logging.getLogger(__name__)

BULK_SEND = "invoicing.bulk_send"
"""The job kind the user starts: one bulk sending."""
BULK_SEND_NEXT = "invoicing.bulk_send_next"
"""The job kind of a bulk sending's further chunks (payload ``batch_job_id``)."""
FORMATS = ("pdf", "html")
"""``pdf``: the PDF attached; ``html``: the invoice as the HTML body, no attachment."""
CHUNK_SETTING = "invoicing.bulk_chunk_size"
"""Setting: how many invoices one run of the job handles (one transaction)."""
DEFAULT_CHUNK_SIZE = 25
MAX_INVOICES = 10_000
"""At most this many invoices in one bulk sending."""

NO_ADDRESS = "no_address"
INVALID_ADDRESS = "invalid_address"
NOT_CONFIRMED = "not_confirmed"
NOT_FOUND = "not_found"
SKIP_REASONS: dict[str, Any] = {
    NO_ADDRESS: _("no e-mail address"),
    INVALID_ADDRESS: _("the e-mail address is not valid"),
    NOT_CONFIRMED: _("no longer a confirmed unsent invoice"),
    NOT_FOUND: _("the invoice was deleted"),
}
"""Why an invoice was skipped, by the code kept in the summary."""

_CONNECTION_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError)
"""Database errors that end the chunk (it is retried) instead of failing one invoice."""


def marker(batch_job_id: int) -> str:
    """``Delivery.detail`` of the e-mails queued by the bulk sending ``batch_job_id``."""
    return f"bulk sending, job {batch_job_id}"


# --- choosing the invoices -----------------------------------------------------------------

def is_unsent_confirmed() -> sa.ColumnElement[bool]:
    """The WHERE condition of a confirmed invoice not sent yet."""
    return sa.and_(Invoice.status == "confirmed", Invoice.sent_at.is_(None))


def unsent_confirmed(condition: sa.ColumnElement[bool] | None = None,
                     ) -> sa.Select[tuple[Invoice]]:
    """Confirmed invoices not sent yet, oldest first, with their clients (``condition``
    limits the clients, e.g. to the ones the user may see)."""
    stmt = (sa.select(Invoice).join(Client, Client.id == Invoice.client_id)
            .options(selectinload(Invoice.client))
            .where(is_unsent_confirmed())
            .order_by(Invoice.issue_date, Invoice.id))
    return stmt if condition is None else stmt.where(condition)


def recipient_of(invoice: Invoice) -> str:
    """Where the invoice is e-mailed: its own address, else the client's invoice address,
    else the client's e-mail ("" when there is none)."""
    client = invoice.client
    address = invoice.invoice_email or (client.invoice_email if client else None) \
        or (client.email if client else None) or ""
    return address.strip()


def skip_reason(invoice: Invoice) -> str | None:
    """Why the invoice cannot be e-mailed now (a :data:`SKIP_REASONS` code), or None."""
    if invoice.status != "confirmed":
        return NOT_CONFIRMED
    address = recipient_of(invoice)
    if not address:
        return NO_ADDRESS
    if not valid_email(address):
        return INVALID_ADDRESS
    return None


@dataclass
class Preview:
    """What a bulk sending of ``invoices`` would do: who gets e-mail, who is skipped."""

    to_send: list[Invoice] = field(default_factory=list)
    skipped: list[tuple[Invoice, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many invoices were chosen."""
        return len(self.to_send) + len(self.skipped)


def preview(invoices: Iterable[Invoice]) -> Preview:
    """Split the chosen invoices into those to e-mail and those to skip (with the reason)."""
    result = Preview()
    for invoice in invoices:
        reason = skip_reason(invoice)
        if reason is None:
            result.to_send.append(invoice)
        else:
            result.skipped.append((invoice, reason))
    return result


def start_bulk_send(dbsession: Session, invoice_ids: Sequence[int], fmt: str,
                    user_id: int | None) -> Job:
    """Queue the bulk sending of ``invoice_ids`` (in the caller's transaction)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    ids = list(dict.fromkeys(int(i) for i in invoice_ids))
    if not ids or len(ids) > MAX_INVOICES:
        raise ValueError(f"a bulk sending takes 1 to {MAX_INVOICES} invoices")
    return enqueue(dbsession, BULK_SEND,
                   {"invoice_ids": ids, "format": fmt, "user_id": user_id},
                   created_by=user_id)


# --- the job ---------------------------------------------------------------------------

@dataclass
class BulkState:
    """The summary of a bulk sending, kept as the batch job's ``result``.

    ``outcomes`` maps the invoice id (a string: JSON) to ``{"outcome": "queued" |
    "skipped" | "failed", "number", and "recipient" and "delivery_id" | "reason" |
    "error"}``.
    """

    format: str
    total: int
    done: int = 0
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    finished: bool = False
    next_job_id: int | None = None

    @classmethod
    def of(cls, batch: Job) -> BulkState:
        """The state of the batch job: its summary so far, or a fresh one."""
        payload = batch.payload or {}
        fmt = payload.get("format") if payload.get("format") in FORMATS else "pdf"
        total = len(invoice_ids_of(batch))
        saved = batch.result if isinstance(batch.result, dict) else {}
        outcomes = saved.get("outcomes")
        if not isinstance(outcomes, dict) or saved.get("total") != total:
            return cls(format=fmt, total=total)
        return cls(format=fmt, total=total, done=min(int(saved.get("done", 0)), total),
                   outcomes=dict(outcomes), finished=bool(saved.get("finished")),
                   next_job_id=saved.get("next_job_id"))

    def count(self, outcome: str, reason: str | None = None) -> int:
        """How many invoices had ``outcome`` (and, for skips, ``reason``)."""
        return sum(1 for o in self.outcomes.values() if o.get("outcome") == outcome
                   and (reason is None or o.get("reason") == reason))

    def as_json(self) -> dict[str, Any]:
        """The summary stored as ``Job.result``."""
        return {
            "format": self.format, "total": self.total, "done": self.done,
            "queued": self.count("queued"), "skipped": self.count("skipped"),
            "skipped_no_address": self.count("skipped", NO_ADDRESS),
            "failed": self.count("failed"), "finished": self.finished,
            "next_job_id": self.next_job_id, "outcomes": dict(self.outcomes),
        }


def invoice_ids_of(batch: Job) -> list[int]:
    """The invoice ids of a bulk sending's payload (bad entries dropped)."""
    raw = (batch.payload or {}).get("invoice_ids") or []
    return [i for i in raw if isinstance(i, int) and not isinstance(i, bool)][:MAX_INVOICES]


def chunk_size(settings: dict[str, Any]) -> int:
    """Invoices per run, from :data:`CHUNK_SETTING` (default :data:`DEFAULT_CHUNK_SIZE`)."""
    try:
        size = int(settings.get(CHUNK_SETTING) or DEFAULT_CHUNK_SIZE)
    except (TypeError, ValueError):
        size = DEFAULT_CHUNK_SIZE
    return max(size, 1)


@functools.cache
def _translation_dirs() -> tuple[str, ...]:
    """The catalogue folders of the core and of every installed plugin (read once)."""
    import core

    dirs = [str(Path(core.__file__).parent / "locale")]
    for manifest in discover_manifests().values():
        if manifest.locale_dir is not None:
            dirs.append(str(manifest.locale_dir))
    return tuple(dirs)


def job_registry(settings: dict[str, Any]) -> Registry:
    """A registry with the settings and every translation catalogue, for rendering and
    queueing invoices outside a request (what :func:`email_invoice` needs of one)."""
    registry = Registry(BULK_SEND)
    registry.settings = dict(settings)
    registry.registerUtility(list(_translation_dirs()), ITranslationDirectories)
    return registry


def run_bulk_send(context: JobContext) -> dict[str, Any]:
    """Job handler of :data:`BULK_SEND` and :data:`BULK_SEND_NEXT`: e-mail the next chunk
    of the batch's invoices, update the batch's progress and summary, and queue a
    continuation while invoices are left."""
    dbsession, job = context.dbsession, context.job
    if job.kind == BULK_SEND_NEXT:
        batch = dbsession.scalar(
            sa.select(Job).where(Job.id == int((job.payload or {}).get("batch_job_id", 0)),
                                 Job.kind == BULK_SEND).with_for_update())
        if batch is None:
            return {"error": "the bulk sending was not found"}
    else:
        batch = job
    state = BulkState.of(batch)
    ids = invoice_ids_of(batch)
    chunk = ids[state.done:state.done + chunk_size(context.settings)]
    if chunk:
        user_id = _existing_user(dbsession, (batch.payload or {}).get("user_id"))
        registry = job_registry(context.settings)
        for invoice_id, outcome in send_chunk(dbsession, registry, batch.id, chunk,
                                              as_html=state.format == "html",
                                              user_id=user_id):
            state.outcomes[str(invoice_id)] = outcome
        state.done += len(chunk)
    state.finished = state.done >= state.total
    state.next_job_id = None
    if not state.finished:
        state.next_job_id = enqueue(dbsession, BULK_SEND_NEXT, {"batch_job_id": batch.id},
                                    created_by=batch.created_by).id
    batch.progress_done, batch.progress_total = state.done, state.total
    summary = state.as_json()
    if batch is job:
        return summary  # the worker stores it as the job's result
    batch.result = summary
    return {"batch_job_id": batch.id, "done": state.done, "finished": state.finished}


def _existing_user(dbsession: Session, user_id: Any) -> int | None:
    """``user_id`` if that user still exists (it is recorded on the Deliveries), else None."""
    if not isinstance(user_id, int):
        return None
    return user_id if dbsession.get(User, user_id) is not None else None


def send_chunk(dbsession: Session, registry: Registry, batch_job_id: int,
               invoice_ids: Sequence[int], *, as_html: bool, user_id: int | None,
               ) -> list[tuple[int, dict[str, Any]]]:
    """Queue the e-mail of each invoice of ``invoice_ids`` not queued by this batch yet;
    returns ``(invoice id, outcome)`` in the order given.

    The invoices are locked for the transaction, so a concurrent sending waits and then
    sees them sent. One invoice failing (e.g. its PDF cannot be made) is rolled back to its
    savepoint and recorded as ``failed``; the others go on.
    """
    invoices = {
        invoice.id: invoice for invoice in dbsession.scalars(
            sa.select(Invoice).where(Invoice.id.in_(invoice_ids)).order_by(Invoice.id)
            .options(selectinload(Invoice.client))
            .with_for_update(of=Invoice)
            .execution_options(populate_existing=True))
    }
    tag = marker(batch_job_id)
    already = {
        delivery.invoice_id: delivery for delivery in dbsession.scalars(
            sa.select(Delivery).where(Delivery.invoice_id.in_(invoice_ids),
                                      Delivery.channel == "email", Delivery.detail == tag))
    }
    outcomes = []
    for invoice_id in invoice_ids:
        invoice = invoices.get(invoice_id)
        if invoice is None:
            outcomes.append((invoice_id, {"outcome": "skipped", "reason": NOT_FOUND,
                                          "number": None}))
            continue
        outcomes.append((invoice_id, _send_one(dbsession, registry, invoice,
                                               already.get(invoice_id), tag,
                                               as_html=as_html, user_id=user_id)))
    return outcomes


def _send_one(dbsession: Session, registry: Registry, invoice: Invoice,
              existing: Delivery | None, tag: str, *, as_html: bool, user_id: int | None,
              ) -> dict[str, Any]:
    """Queue one invoice's e-mail unless this batch did already or it is to be skipped;
    returns its outcome for the summary."""
    number = invoice.number
    if existing is not None:  # queued by this batch before: never twice
        return {"outcome": "queued", "number": number, "recipient": existing.recipient,
                "delivery_id": existing.id}
    reason = skip_reason(invoice)
    if reason is not None:
        outcome = {"outcome": "skipped", "reason": reason, "number": number}
        if reason == NOT_CONFIRMED:
            outcome["status"] = invoice.status
        return outcome
    address = recipient_of(invoice)
    try:
        with dbsession.begin_nested():
            delivery = email_invoice(dbsession, registry, invoice, address,
                                     user_id=user_id, as_html=as_html)
            delivery.detail = tag
            dbsession.flush()
    except _CONNECTION_ERRORS:
        raise
    except Exception as exc:  # one bad invoice must not stop the others
        log.warning("bulk sending: invoice %s not queued: %s", invoice.id, exc)
        return {"outcome": "failed", "number": number, "recipient": address,
                "error": describe_error(exc)}
    return {"outcome": "queued", "number": number, "recipient": address,
            "delivery_id": delivery.id}


# --- the progress page ---------------------------------------------------------------------

@dataclass
class ReportRow:
    """One invoice on the progress page: ``outcome`` is ``waiting`` (not handled yet),
    ``skipped``, ``failed`` (not queued) or the outbox status (``queued``, ``sending``,
    ``sent``, ``failed``) of its e-mail."""

    invoice_id: int
    number: str | None
    client_name: str
    recipient: str
    outcome: str
    reason: str | None = None
    error: str | None = None
    retrying: bool = False


@dataclass
class BulkReport:
    """What the progress page shows of a bulk sending."""

    job: Job
    state: BulkState
    rows: list[ReportRow]
    hidden: int
    """Invoices of clients the viewer may not see (counted, not listed)."""
    running: bool
    error: str | None
    """Why the job stopped or waits (its last error), when it did."""

    def count(self, outcome: str, reason: str | None = None) -> int:
        """How many listed invoices have ``outcome`` (and ``reason``)."""
        return sum(1 for r in self.rows if r.outcome == outcome
                   and (reason is None or r.reason == reason))

    @property
    def sent(self) -> int:
        """E-mails the mail server accepted."""
        return self.count("sent")

    @property
    def waiting(self) -> int:
        """E-mails still in the outbox (queued, retried or being sent)."""
        return self.count("queued") + self.count("sending")

    @property
    def failed(self) -> int:
        """Invoices whose e-mail could not be made or was not delivered."""
        return self.count("failed")

    @property
    def skipped_no_address(self) -> int:
        """Invoices skipped for having no e-mail address."""
        return self.count("skipped", NO_ADDRESS)

    @property
    def skipped_other(self) -> int:
        """Invoices skipped for another reason."""
        return self.count("skipped") - self.skipped_no_address

    @property
    def finished(self) -> bool:
        """The job is done and no e-mail waits in the outbox."""
        return not self.running and self.waiting == 0


def bulk_report(dbsession: Session, batch: Job,
                visible: sa.ColumnElement[bool] | None = None) -> BulkReport:
    """The progress and the outcome per invoice of the bulk sending ``batch`` (the outcome
    of a queued e-mail is its outbox status); ``visible`` limits the listed clients."""
    state = BulkState.of(batch)
    ids = invoice_ids_of(batch)
    stmt = (sa.select(Invoice.id, Invoice.number, Client.name)
            .join(Client, Client.id == Invoice.client_id).where(Invoice.id.in_(ids)))
    if visible is not None:
        stmt = stmt.where(visible)
    shown = {row.id: row for row in dbsession.execute(stmt)}
    delivery_ids = [o["delivery_id"] for o in state.outcomes.values()
                    if isinstance(o.get("delivery_id"), int)]
    mail = {
        row.id: row for row in dbsession.execute(
            sa.select(Delivery.id, MailMessage.status, MailMessage.last_error)
            .outerjoin(MailMessage, MailMessage.id == Delivery.mail_message_id)
            .where(Delivery.id.in_(delivery_ids)))
    } if delivery_ids else {}
    rows: list[ReportRow] = []
    for invoice_id in ids:
        outcome = state.outcomes.get(str(invoice_id))
        invoice = shown.get(invoice_id)
        if invoice is None and not (outcome and outcome.get("reason") == NOT_FOUND):
            continue
        row = ReportRow(invoice_id=invoice_id,
                        number=invoice.number if invoice else (outcome or {}).get("number"),
                        client_name=invoice.name if invoice else "",
                        recipient=(outcome or {}).get("recipient") or "", outcome="waiting")
        if outcome is not None:
            row.outcome = str(outcome.get("outcome"))
            row.reason, row.error = outcome.get("reason"), outcome.get("error")
            message = mail.get(outcome.get("delivery_id"))
            if row.outcome == "queued" and message is not None:
                row.outcome = message.status or "failed"
                row.error = message.last_error
                row.retrying = message.status == "queued" and bool(message.last_error)
        rows.append(row)
    running, error = _job_running(dbsession, batch, state)
    return BulkReport(job=batch, state=state, rows=rows, hidden=len(ids) - len(rows),
                      running=running, error=error)


def _job_running(dbsession: Session, batch: Job, state: BulkState) -> tuple[bool, str | None]:
    """Whether the sending still works through invoices, and its last error if any."""
    if batch.status in ("queued", "running"):
        return True, batch.last_error
    if batch.status == "failed":
        return False, batch.last_error
    if state.finished:
        return False, None
    follow = dbsession.get(Job, state.next_job_id) if state.next_job_id else None
    if follow is None:
        return False, None
    if follow.status == "failed":
        return False, follow.last_error
    return follow.status in ("queued", "running"), follow.last_error


def recent_batches(dbsession: Session, limit: int = 5) -> list[Job]:
    """The newest bulk sendings of the session's tenant."""
    return list(dbsession.scalars(sa.select(Job).where(Job.kind == BULK_SEND)
                                  .order_by(Job.id.desc()).limit(limit)))
