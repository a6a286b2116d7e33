"""Background jobs: a table-backed queue processed by the ``worker`` command."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import Job


class RetryLater(Exception):
    """Raised by a job handler to be run again after ``delay`` seconds."""

    def __init__(self, message: str = "", delay: float = 60) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass
class JobContext:
    """What a job handler receives: the job, a tenant-scoped session and the settings."""

    job: Job
    dbsession: Session
    settings: dict[str, Any]

    def progress(self, done: int, total: int | None = None) -> None:
        """Record progress for the user to see (committed with the job's transaction)."""
        self.job.progress_done = done
        if total is not None:
            self.job.progress_total = total


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
