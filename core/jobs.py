"""Background jobs: a table-backed queue processed by the ``worker`` command.

A job is queued with :func:`enqueue` in the caller's transaction and run by a worker
(:mod:`core.worker`). The functions below are the queue's database operations; each runs
in a session the worker provides and commits:

* :func:`claim_jobs` marks due jobs ``running`` for one worker. On PostgreSQL the rows are
  selected ``FOR UPDATE SKIP LOCKED``, so concurrent workers never claim the same job; on
  SQLite the worker's transaction takes the write lock at ``BEGIN``.
* :func:`finish_job`, :func:`retry_job`, :func:`fail_job` record the outcome of a run.
* :func:`recover_stale_jobs` puts back jobs left ``running`` by a worker that died.

Job states: ``queued`` -> ``running`` -> ``done`` | ``failed`` (or back to ``queued``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import Job
from core.settings import DEFAULTS, as_int

log = logging.getLogger(__name__)

JOB_DEFAULTS: dict[str, str] = {k: v for k, v in DEFAULTS.items() if k.startswith("jobs.")}
"""Defaults of the ``jobs.*`` settings (from :data:`core.settings.DEFAULTS`)."""

MAX_ERROR_LENGTH = 2000
"""``last_error`` texts are cut to this many characters."""


class RetryLater(Exception):  # named as an instruction, not as an error
    """Raised by a job handler to be run again after ``delay`` seconds.

    It does not count as a failed attempt: the job keeps its ``attempts``.
    """

    def __init__(self, message: str = "", delay: float = 60) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass
class JobContext:
    """What a job handler receives: the job, a tenant-scoped session and the settings."""

    job: Job
    dbsession: Session
    settings: dict[str, Any]

    @property
    def tenant_id(self) -> int:
        """The tenant the job belongs to (the session is scoped to it)."""
        return self.job.tenant_id

    def progress(self, done: int, total: int | None = None) -> None:
        """Record progress for the user to see (committed with the job's transaction)."""
        self.job.progress_done = done
        if total is not None:
            self.job.progress_total = total


@dataclass(frozen=True)
class JobQueueConfig:
    """The job queue's settings, read once by the worker."""

    batch_size: int
    lock_timeout: dt.timedelta
    retry_base: dt.timedelta
    retry_max: dt.timedelta
    no_handler_delay: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> JobQueueConfig:
        """Read ``jobs.*`` settings, with :data:`JOB_DEFAULTS` for the missing ones."""
        merged = ChainMap(dict(settings), JOB_DEFAULTS)
        return cls(
            batch_size=as_int(merged, "jobs.batch_size", 1),
            lock_timeout=dt.timedelta(minutes=as_int(merged, "jobs.lock_timeout_minutes", 1)),
            retry_base=dt.timedelta(seconds=as_int(merged, "jobs.retry_seconds", 1)),
            retry_max=dt.timedelta(seconds=as_int(merged, "jobs.retry_max_seconds", 1)),
            no_handler_delay=dt.timedelta(
                seconds=as_int(merged, "jobs.no_handler_delay_seconds", 1)
            ),
        )


@dataclass(frozen=True, order=True)
class ClaimedJob:
    """A job a worker has marked ``running`` for itself."""

    id: int
    tenant_id: int


def enqueue(
    dbsession: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_after: dt.datetime | None = None,
    max_attempts: int = 5,
    created_by: int | None = None,
) -> Job:
    """Queue a job in the caller's transaction (it runs only if that transaction commits)."""
    job = Job(
        kind=kind,
        payload=payload or {},
        run_after=run_after or utcnow(),
        max_attempts=max_attempts,
        created_by=created_by,
    )
    dbsession.add(job)
    dbsession.flush()
    return job


def backoff(attempts: int, base: dt.timedelta, cap: dt.timedelta) -> dt.timedelta:
    """Exponential delay after the ``attempts``-th failure: ``base * 2**(attempts-1)``,
    at most ``cap``."""
    exponent = max(attempts - 1, 0)
    if exponent >= 32:  # far beyond any sensible cap; avoids huge multiplications
        return cap
    return min(base * (2**exponent), cap)


def describe_error(exc: BaseException) -> str:
    """``ExceptionType: message`` for ``last_error`` (no traceback), cut to a sane length."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:MAX_ERROR_LENGTH]


def json_result(value: Any) -> Any:
    """Check that a handler's return value can be stored as JSON; returns it unchanged."""
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the job handler returned a value that is not JSON: {exc}") from exc
    return value


def claim_jobs(
    session: Session, *, worker: str, now: dt.datetime, limit: int, after_id: int = 0
) -> list[ClaimedJob]:
    """Mark up to ``limit`` due jobs (id above ``after_id``) ``running`` for ``worker``.

    One statement: ``UPDATE ... WHERE id IN (SELECT id ... ORDER BY id LIMIT n FOR UPDATE
    SKIP LOCKED) RETURNING id, tenant_id``. The caller commits (the claim must be durable
    before any work starts). ``session`` must not be tenant-scoped.
    """
    due = (
        sa.select(Job.id)
        .where(Job.status == "queued", Job.run_after <= now, Job.id > after_id)
        .order_by(Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        sa.update(Job)
        .where(Job.id.in_(due.scalar_subquery()))
        .values(status="running", locked_by=worker, locked_at=now, attempts=Job.attempts + 1)
        .returning(Job.id, Job.tenant_id)
    )
    rows = session.execute(claim, execution_options={"synchronize_session": False}).all()
    return sorted(ClaimedJob(id=row.id, tenant_id=row.tenant_id) for row in rows)


def lock_own_job(session: Session, job_id: int, worker: str) -> Job | None:
    """The job ``job_id`` if it is still ``running`` for ``worker``, locked for the
    transaction (``FOR UPDATE``); None when the claim was lost (e.g. recovered as stale)."""
    return session.scalar(
        sa.select(Job)
        .where(Job.id == job_id, Job.status == "running", Job.locked_by == worker)
        .with_for_update()
    )


def finish_job(job: Job, result: Any, now: dt.datetime) -> None:
    """Record a successful run: ``done`` with the handler's result."""
    job.status = "done"
    job.result = result
    job.finished_at = now
    job.last_error = None


def retry_job(job: Job, run_after: dt.datetime, error: str | None, *, count: bool) -> None:
    """Put the job back to ``queued`` until ``run_after``.

    ``count=False`` gives back the attempt taken when the job was claimed (the handler did
    not fail: it asked to retry, or it could not be run at all).
    """
    job.status = "queued"
    job.run_after = run_after
    job.last_error = error[:MAX_ERROR_LENGTH] if error else None
    job.locked_by = None
    job.locked_at = None
    if not count:
        job.attempts = max(job.attempts - 1, 0)


def fail_job(job: Job, error: str, now: dt.datetime) -> None:
    """Give up on the job: ``failed`` with ``error``."""
    job.status = "failed"
    job.last_error = error[:MAX_ERROR_LENGTH]
    job.finished_at = now


def record_failure(job: Job, exc: Exception, now: dt.datetime, config: JobQueueConfig) -> None:
    """Record that the handler raised ``exc``: retry later, with backoff, or give up."""
    if isinstance(exc, RetryLater):
        message = str(exc) or "the handler asked to run again later"
        delay = dt.timedelta(seconds=max(float(exc.delay), 0.0))
        retry_job(job, now + delay, f"RetryLater: {message}", count=False)
        return
    error = describe_error(exc)
    if job.attempts >= job.max_attempts:
        fail_job(job, f"{error} (gave up after {job.attempts} attempts)", now)
        return
    retry_job(job, now + backoff(job.attempts, config.retry_base, config.retry_max), error,
              count=True)


def release_jobs(session: Session, job_ids: list[int], worker: str) -> None:
    """Give back claimed jobs that were not run (worker stopping): ``queued`` again,
    without counting an attempt."""
    if not job_ids:
        return
    session.execute(
        sa.update(Job)
        .where(Job.id.in_(job_ids), Job.status == "running", Job.locked_by == worker)
        .values(status="queued", locked_by=None, locked_at=None, attempts=Job.attempts - 1),
        execution_options={"synchronize_session": False},
    )


def recover_stale_jobs(session: Session, *, now: dt.datetime, timeout: dt.timedelta) -> int:
    """Put back jobs left ``running`` longer than ``timeout`` (their worker died).

    A job whose attempts are used up is ``failed`` instead (it may be what kills the
    worker). Rows still locked by a live transaction are skipped. Returns how many.
    """
    stale = session.scalars(
        sa.select(Job)
        .where(Job.status == "running", Job.locked_at < now - timeout)
        .order_by(Job.id)
        .with_for_update(skip_locked=True)
    ).all()
    for job in stale:
        error = (
            f"Worker {job.locked_by} stopped while running the job "
            f"(started {job.locked_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
        log.warning("job %s: %s", job.id, error)
        if job.attempts >= job.max_attempts:
            fail_job(job, f"{error}; gave up after {job.attempts} attempts", now)
        else:
            retry_job(job, now, error, count=True)
    return len(stale)
