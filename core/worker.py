"""The worker: runs due jobs and delivers queued e-mail.

Each :meth:`Worker.run_once` round

1. puts back jobs left ``running`` by a dead worker (:func:`core.jobs.recover_stale_jobs`),
2. claims due jobs batch by batch (one short, committed transaction per claim; on
   PostgreSQL ``FOR UPDATE SKIP LOCKED``, so any number of workers can run side by side)
   and runs each job in a session scoped to the job's tenant: the handler's writes and the
   job's new state commit together, and a failing handler's writes are rolled back,
3. delivers the due part of the mail outbox (:class:`core.mail.MailDelivery`).

Only handlers of the core and of the plugins enabled for the job's tenant run. Time comes
from an injectable clock, so tests move time forward instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy.orm import Session

from core.db import ALL_TENANTS, SQLITE_IMMEDIATE, make_engine, make_session_factory, utcnow
from core.hookspecs.types import JobHandler
from core.jobs import (
    ClaimedJob,
    JobContext,
    JobQueueConfig,
    claim_jobs,
    finish_job,
    json_result,
    lock_own_job,
    record_failure,
    recover_stale_jobs,
    release_jobs,
    retry_job,
)
from core.mail import MailDelivery
from core.plugins import PluginSet
from core.settings import as_int
from core.tenancy import enabled_plugins

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
"""Returns the current time, timezone-aware."""


def _default_name() -> str:
    host = socket.gethostname()[:60]
    return f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Processes the job table and the mail outbox until stopped.

    ``now`` is the clock (default :func:`core.db.utcnow`); ``name`` identifies the worker in
    ``locked_by`` (default ``host:pid:random``, unique per worker object).
    """

    def __init__(
        self,
        settings: dict[str, Any],
        plugins: PluginSet,
        now: Clock | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.plugins = plugins
        self.now: Clock = now or utcnow
        self.name = name or _default_name()
        self.engine = make_engine(settings["sqlalchemy.url"])
        self.session_factory = make_session_factory(self.engine)
        # Every transaction of the worker writes: on SQLite take the write lock at BEGIN,
        # so that concurrent workers wait for each other instead of failing to upgrade.
        self._write_factory = make_session_factory(
            self.engine.execution_options(**{SQLITE_IMMEDIATE: True})
        )
        self.poll_interval = as_int(settings, "jobs.poll_interval", 1)
        self.jobs_config = JobQueueConfig.from_settings(settings)
        self._stop = threading.Event()
        self.mail = MailDelivery(
            settings,
            self.system_session,
            worker=self.name,
            now=self._clock,
            should_stop=self._stop.is_set,
        )

    @classmethod
    def from_settings(cls, settings: dict[str, Any], plugins: PluginSet) -> Worker:
        """A worker for the database and mail settings given."""
        return cls(settings, plugins)

    # --- sessions ------------------------------------------------------------------------

    def _clock(self) -> dt.datetime:
        return self.now()

    @contextmanager
    def system_session(self) -> Iterator[Session]:
        """A session over all tenants for the queue's bookkeeping (closed on exit)."""
        session = self._write_factory()
        session.info[ALL_TENANTS] = True
        try:
            yield session
        finally:
            session.close()

    @contextmanager
    def tenant_session(self, tenant_id: int) -> Iterator[Session]:
        """A session scoped to one tenant, as job handlers get it (closed on exit)."""
        session = self._write_factory()
        session.info["tenant_id"] = tenant_id
        try:
            yield session
        finally:
            session.close()

    # --- the loop ------------------------------------------------------------------------

    def run_once(self) -> int:
        """Process everything due now; returns the number of jobs and messages handled.

        Handled means: a job was run (or postponed for lack of a handler), a message was
        tried (sent, failed or postponed after a temporary failure).
        """
        handled = self.run_jobs()
        if not self._stop.is_set():
            handled += self.mail.run_all()
        return handled

    def run_forever(self) -> None:
        """Loop until :meth:`stop` is called; waits ``jobs.poll_interval`` seconds when
        there was nothing to do (or the round failed, e.g. the database was away)."""
        while not self._stop.is_set():
            try:
                handled = self.run_once()
            except Exception:
                log.exception("worker %s: round failed", self.name)
                handled = 0
            if handled == 0:
                self._stop.wait(self.poll_interval)

    def stop(self) -> None:
        """Ask the loop to stop after the current item."""
        self._stop.set()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Worker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- jobs ----------------------------------------------------------------------------

    def run_jobs(self) -> int:
        """Recover stale jobs, then claim and run due jobs batch by batch; returns how
        many jobs were processed."""
        with self.system_session() as session, session.begin():
            recover_stale_jobs(session, now=self.now(), timeout=self.jobs_config.lock_timeout)
        handled, after_id = 0, 0
        while not self._stop.is_set():
            batch = self._claim_jobs(after_id)
            handled += self._process_batch(batch)
            if len(batch) < self.jobs_config.batch_size:
                break
            # Moving on by id ends the round even when jobs are retried immediately.
            after_id = batch[-1].id
        return handled

    def _claim_jobs(self, after_id: int) -> list[ClaimedJob]:
        with self.system_session() as session, session.begin():
            return claim_jobs(session, worker=self.name, now=self.now(),
                              limit=self.jobs_config.batch_size, after_id=after_id)

    def _process_batch(self, batch: list[ClaimedJob]) -> int:
        pending = list(batch)
        processed = 0
        try:
            while pending and not self._stop.is_set():
                self._process_job(pending.pop(0))
                processed += 1
        finally:
            if pending:  # stopping, or an error: give the untouched jobs back
                with self.system_session() as session, session.begin():
                    release_jobs(session, [job.id for job in pending], self.name)
        return processed

    def _process_job(self, claimed: ClaimedJob) -> None:
        """Run one job in its tenant's session; the job's new state commits with the
        handler's work. On an exception the work is rolled back and the failure recorded
        in a transaction of its own."""
        error: Exception | None = None
        with self.tenant_session(claimed.tenant_id) as session:
            try:
                with session.begin():
                    self._run_handler(session, claimed)
            except Exception as exc:
                error = exc
        if error is not None:
            self._record_failure(claimed, error)

    def _run_handler(self, session: Session, claimed: ClaimedJob) -> None:
        job = lock_own_job(session, claimed.id, self.name)
        if job is None:
            log.warning("job %s: no longer claimed by %s, skipped", claimed.id, self.name)
            return
        handler = self.handlers_for(session, claimed.tenant_id).get(job.kind)
        if handler is None:
            error = (
                f"No handler for job kind '{job.kind}' in tenant {job.tenant_id}: the plugin "
                "providing it is not installed or not enabled for this tenant"
            )
            log.warning("job %s: %s", job.id, error)
            retry_job(job, self.now() + self.jobs_config.no_handler_delay, error, count=False)
            return
        result = handler.run(JobContext(job=job, dbsession=session, settings=self.settings))
        finish_job(job, json_result(result), self.now())

    def _record_failure(self, claimed: ClaimedJob, error: Exception) -> None:
        log.warning("job %s failed: %s: %s", claimed.id, type(error).__name__, error)
        with self.system_session() as session, session.begin():
            job = lock_own_job(session, claimed.id, self.name)
            if job is not None:
                record_failure(job, error, self.now(), self.jobs_config)

    def handlers_for(self, session: Session, tenant_id: int) -> dict[str, JobHandler]:
        """The job handlers of the core and of the plugins enabled for the tenant, by kind."""
        relay = self.plugins.hooks_for(enabled_plugins(session, tenant_id))
        handlers: dict[str, JobHandler] = {}
        for declared in relay.job_handlers():
            for handler in declared or ():
                if handler.kind in handlers:
                    log.warning("job kind '%s' is declared twice; using the first", handler.kind)
                    continue
                handlers[handler.kind] = handler
        return handlers
