"""Background jobs run by the worker: claiming, tenant scoping, retries, plugins per tenant.

Handlers come from the ``job_handlers`` hook. Most tests register a handler object on a
fresh :class:`PluginSet` (it then acts like the core: it runs for every tenant); the
plugin test installs a real plugin package with a manifest. The worker's clock is the
``clock`` fixture: tests move it forward instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import sys
import textwrap
import threading

import pytest
import sqlalchemy as sa

from core.db import tenant_scope
from core.hookspecs import hookimpl
from core.hookspecs.types import JobHandler
from core.jobs import JobContext, JobQueueConfig, RetryLater, backoff, claim_jobs, enqueue
from core.models import Job, LoginFailure, Tenant, User
from core.plugins import PluginSet, read_manifest
from core.tenancy import enable_plugin
from core.testing import drain_concurrently


class HandlerPlugin:
    """A plugin object declaring the given job handlers."""

    def __init__(self, *handlers: JobHandler) -> None:
        self.handlers = list(handlers)

    @hookimpl
    def job_handlers(self) -> list[JobHandler]:
        """The handlers given to the constructor."""
        return self.handlers


@pytest.fixture
def job_plugins(plugin_set):
    """``job_plugins(*handlers)``: a fresh plugin set (the installed plugins) with a test
    plugin object declaring ``handlers``; unregistered after the test."""
    plugins = PluginSet(plugin_set.manifests).load()
    registered: list[HandlerPlugin] = []

    def register(*handlers: JobHandler) -> PluginSet:
        plugin = HandlerPlugin(*handlers)
        plugins.pm.register(plugin)
        registered.append(plugin)
        return plugins

    try:
        yield register
    finally:
        for plugin in registered:
            plugins.pm.unregister(plugin)


def add_job(dbsession, tenant, kind: str, payload=None, **kwargs) -> int:
    """Queue and commit a job for ``tenant``; returns its id."""
    with tenant_scope(dbsession, tenant.id):
        job = enqueue(dbsession, kind, payload, **kwargs)
    dbsession.commit()
    return job.id


def fresh(dbsession, model, ident):
    """A row as committed in the database now (new transaction, no cached state)."""
    dbsession.rollback()
    dbsession.expire_all()
    return dbsession.get(model, ident)


def login_failures(dbsession) -> list[tuple[int, str]]:
    """(tenant_id, email) of every LoginFailure row, the table the test handlers write."""
    dbsession.rollback()
    rows = dbsession.execute(
        sa.select(LoginFailure.tenant_id, LoginFailure.email).order_by(LoginFailure.id)
    )
    return [tuple(row) for row in rows]


def within(value: dt.datetime, earliest: dt.datetime, latest: dt.datetime) -> bool:
    """``earliest <= value <= latest`` (bounds from the test clock around a worker call)."""
    return earliest <= value <= latest


# --- running ---------------------------------------------------------------------------------

@pytest.mark.hookspec("job_handlers")
def test_handler_runs_in_a_session_scoped_to_the_jobs_tenant(
    dbsession, make_tenant, make_user, make_worker, job_plugins, clock
):
    alfa = make_tenant("Alfa AS", host="alfa.test")
    beeta = make_tenant("Beeta OÜ", host="beeta.test")
    make_user(alfa, "sales", email="anna@alfa.test")
    make_user(beeta, "sales", email="boris@beeta.test")
    seen: dict[str, object] = {}

    def report(ctx: JobContext) -> dict[str, object]:
        session = ctx.dbsession
        seen["info"] = dict(session.info)
        seen["payload"] = ctx.job.payload
        # No tenant filter here: the session adds it.
        emails = sorted(session.scalars(sa.select(User.email)))
        session.add(LoginFailure(email="written-by-the-job@alfa.test"))
        ctx.progress(3, 3)
        return {"emails": emails}

    plugins = job_plugins(JobHandler("test.report", report))
    job_id = add_job(dbsession, alfa, "test.report", {"month": "2024-05"})
    before = clock()

    assert make_worker(plugins=plugins).run_once() == 1

    assert seen["info"] == {"tenant_id": alfa.id}  # scoped, and not over all tenants
    assert seen["payload"] == {"month": "2024-05"}
    job = fresh(dbsession, Job, job_id)
    assert job.status == "done"
    assert job.result == {"emails": ["anna@alfa.test"]}
    assert (job.attempts, job.last_error) == (1, None)
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert within(job.finished_at, before, clock())
    assert login_failures(dbsession) == [(alfa.id, "written-by-the-job@alfa.test")]


@pytest.mark.hookspec("job_handlers")
def test_job_queued_in_a_rolled_back_transaction_never_runs(
    dbsession, tenant, make_worker, job_plugins
):
    calls: list[int] = []
    plugins = job_plugins(JobHandler("test.count", lambda ctx: calls.append(ctx.job.id)))
    with tenant_scope(dbsession, tenant.id):
        enqueue(dbsession, "test.count")
    dbsession.rollback()

    assert make_worker(plugins=plugins).run_once() == 0
    assert calls == []


@pytest.mark.hookspec("job_handlers")
def test_job_runs_only_once_due(dbsession, tenant, make_worker, job_plugins, clock):
    calls: list[int] = []
    plugins = job_plugins(JobHandler("test.count", lambda ctx: calls.append(ctx.job.id)))
    job_id = add_job(dbsession, tenant, "test.count", run_after=clock() + dt.timedelta(hours=1))
    worker = make_worker(plugins=plugins)

    assert worker.run_once() == 0
    clock.advance(hours=1, seconds=1)
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    assert calls == [job_id]


# --- retries and failures --------------------------------------------------------------------

@pytest.mark.hookspec("job_handlers")
def test_retry_later_postpones_without_using_up_attempts(
    dbsession, tenant, make_worker, job_plugins, clock
):
    calls: list[int] = []

    def wait_for_bank(ctx: JobContext) -> dict[str, str]:
        calls.append(ctx.job.attempts)
        if len(calls) < 3:
            raise RetryLater("bank statement not yet available", delay=120)
        return {"imported": "yes"}

    plugins = job_plugins(JobHandler("test.bank", wait_for_bank))
    job_id = add_job(dbsession, tenant, "test.bank", max_attempts=1)
    worker = make_worker(plugins=plugins)

    before = clock()
    assert worker.run_once() == 1
    job = fresh(dbsession, Job, job_id)
    assert (job.status, job.attempts) == ("queued", 0)
    assert "bank statement not yet available" in job.last_error
    two_minutes = dt.timedelta(seconds=120)
    assert within(job.run_after, before + two_minutes, clock() + two_minutes)
    assert job.locked_by is None

    assert worker.run_once() == 0  # not due yet
    clock.advance(seconds=121)
    assert worker.run_once() == 1
    clock.advance(seconds=121)
    assert worker.run_once() == 1

    job = fresh(dbsession, Job, job_id)
    assert job.status == "done"  # although max_attempts is 1
    assert job.result == {"imported": "yes"}
    assert calls == [1, 1, 1]


@pytest.mark.hookspec("job_handlers")
def test_failures_back_off_exponentially_then_fail_at_max_attempts(
    dbsession, tenant, make_worker, job_plugins, clock
):
    calls: list[int] = []

    def broken(ctx: JobContext) -> None:
        calls.append(ctx.job.attempts)
        raise ValueError(f"cannot parse row {len(calls)}")

    plugins = job_plugins(JobHandler("test.broken", broken))
    job_id = add_job(dbsession, tenant, "test.broken", max_attempts=3)
    worker = make_worker(plugins=plugins)

    for attempt, delay in ((1, 30), (2, 60)):
        before = clock()
        assert worker.run_once() == 1
        job = fresh(dbsession, Job, job_id)
        assert (job.status, job.attempts) == ("queued", attempt)
        assert job.last_error == f"ValueError: cannot parse row {attempt}"
        wait = dt.timedelta(seconds=delay)
        assert within(job.run_after, before + wait, clock() + wait)
        assert worker.run_once() == 0  # the backoff is respected
        clock.advance(seconds=delay + 1)

    assert worker.run_once() == 1
    job = fresh(dbsession, Job, job_id)
    assert job.status == "failed"
    assert job.attempts == 3
    assert job.last_error.startswith("ValueError: cannot parse row 3")
    assert job.finished_at is not None
    clock.advance(days=1)
    assert worker.run_once() == 0
    assert calls == [1, 2, 3]


def test_backoff_doubles_and_is_capped():
    config = JobQueueConfig.from_settings({})
    delays = [backoff(n, config.retry_base, config.retry_max).total_seconds()
              for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


@pytest.mark.hookspec("job_handlers")
def test_failing_handler_writes_are_rolled_back(
    dbsession, tenant, make_worker, job_plugins, clock
):
    def flaky(ctx: JobContext) -> dict[str, int]:
        ctx.dbsession.add(LoginFailure(email=f"attempt-{ctx.job.attempts}@acme.test"))
        ctx.progress(5, 10)
        ctx.dbsession.flush()  # the row is really written before the failure
        if ctx.job.attempts == 1:
            raise ConnectionError("registry did not answer")
        return {"attempt": ctx.job.attempts}

    plugins = job_plugins(JobHandler("test.flaky", flaky))
    job_id = add_job(dbsession, tenant, "test.flaky")
    worker = make_worker(plugins=plugins)

    assert worker.run_once() == 1
    job = fresh(dbsession, Job, job_id)
    assert (job.status, job.attempts) == ("queued", 1)
    assert job.last_error == "ConnectionError: registry did not answer"
    assert (job.progress_done, job.progress_total) == (0, None)
    assert login_failures(dbsession) == []

    clock.advance(minutes=1)
    assert worker.run_once() == 1
    job = fresh(dbsession, Job, job_id)
    assert (job.status, job.result) == ("done", {"attempt": 2})
    assert login_failures(dbsession) == [(tenant.id, "attempt-2@acme.test")]


@pytest.mark.hookspec("job_handlers")
def test_result_that_is_not_json_counts_as_a_failure(
    dbsession, tenant, make_worker, job_plugins
):
    plugins = job_plugins(JobHandler("test.odd", lambda ctx: {"when": dt.date(2024, 5, 1)}))
    job_id = add_job(dbsession, tenant, "test.odd")

    make_worker(plugins=plugins).run_once()

    job = fresh(dbsession, Job, job_id)
    assert (job.status, job.attempts) == ("queued", 1)
    assert "not JSON" in job.last_error


@pytest.mark.hookspec("job_handlers")
def test_job_without_a_handler_waits_with_a_clear_error(
    dbsession, tenant, make_worker, job_plugins, clock
):
    plugins = job_plugins()
    job_id = add_job(dbsession, tenant, "nobody.handles_this")
    before = clock()

    assert make_worker(plugins=plugins).run_once() == 1

    job = fresh(dbsession, Job, job_id)
    assert (job.status, job.attempts) == ("queued", 0)
    assert "No handler for job kind 'nobody.handles_this'" in job.last_error
    assert "not enabled for this tenant" in job.last_error
    five_minutes = dt.timedelta(minutes=5)
    assert within(job.run_after, before + five_minutes, clock() + five_minutes)


# --- crashed workers -------------------------------------------------------------------------

def crash_while_running(dbsession, clock) -> None:
    """A worker claims every due job (committed) and dies without finishing them."""
    claim_jobs(dbsession, worker="crashed:1:dead", now=clock(), limit=100)
    dbsession.commit()


@pytest.mark.hookspec("job_handlers")
def test_job_left_running_by_a_crashed_worker_runs_again_after_the_lock_timeout(
    dbsession, tenant, make_worker, job_plugins, clock
):
    calls: list[int] = []
    plugins = job_plugins(JobHandler("test.count", lambda ctx: calls.append(ctx.job.attempts)))
    job_id = add_job(dbsession, tenant, "test.count")
    crash_while_running(dbsession, clock)
    worker = make_worker(plugins=plugins)

    assert worker.run_once() == 0  # it may still be running somewhere
    assert fresh(dbsession, Job, job_id).status == "running"

    clock.advance(minutes=31)
    assert worker.run_once() == 1

    job = fresh(dbsession, Job, job_id)
    assert (job.status, job.attempts) == ("done", 2)
    assert job.locked_by == worker.name
    assert calls == [2]


@pytest.mark.hookspec("job_handlers")
def test_job_left_running_with_no_attempts_left_is_failed(
    dbsession, tenant, make_worker, job_plugins, clock
):
    calls: list[int] = []
    plugins = job_plugins(JobHandler("test.count", lambda ctx: calls.append(ctx.job.id)))
    job_id = add_job(dbsession, tenant, "test.count", max_attempts=1)
    crash_while_running(dbsession, clock)

    clock.advance(minutes=31)
    make_worker(plugins=plugins).run_once()

    job = fresh(dbsession, Job, job_id)
    assert job.status == "failed"
    assert "crashed:1:dead stopped while running the job" in job.last_error
    assert calls == []


# --- plugins per tenant ----------------------------------------------------------------------

PLUGIN_MODULE = "kh_test_jobs_plugin"
PLUGIN_SOURCE = '''
"""A plugin that only declares a job handler (written by tests/test_jobs.py)."""

from core.hookspecs import hookimpl
from core.hookspecs.types import JobHandler
from core.models import LoginFailure


def touch(ctx):
    ctx.dbsession.add(LoginFailure(email=f"touched-by-job-{ctx.job.id}@jobs.test"))
    return {"touched": True}


@hookimpl
def job_handlers():
    return [JobHandler("kh_test_jobs.touch", touch)]
'''


@pytest.fixture
def plugin_with_jobs(plugin_set, tmp_path, monkeypatch):
    """The installed plugins plus ``kh_test_jobs``, a real plugin package (manifest and
    module) declaring the job kind ``kh_test_jobs.touch``."""
    package = tmp_path / PLUGIN_MODULE
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN_SOURCE), encoding="utf-8")
    (package / "plugin.toml").write_text(
        'name = "kh_test_jobs"\nversion = "1.0.0"\nlabel = "Job test plugin"\n',
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, PLUGIN_MODULE, raising=False)
    manifests = {**plugin_set.manifests, "kh_test_jobs": read_manifest(PLUGIN_MODULE)}
    yield PluginSet(manifests).load()
    sys.modules.pop(PLUGIN_MODULE, None)


@pytest.mark.hookspec("job_handlers")
def test_job_of_a_plugin_disabled_for_its_tenant_does_not_run(
    dbsession, make_tenant, make_worker, plugin_with_jobs, clock
):
    plugins = plugin_with_jobs
    alfa = make_tenant("Alfa AS", host="alfa.test", plugins=[])
    beeta = make_tenant("Beeta OÜ", host="beeta.test", plugins=[])
    enable_plugin(dbsession, plugins, dbsession.get(Tenant, alfa.id), "kh_test_jobs")
    dbsession.commit()
    alfa_job = add_job(dbsession, alfa, "kh_test_jobs.touch")
    beeta_job = add_job(dbsession, beeta, "kh_test_jobs.touch")
    worker = make_worker(plugins=plugins)

    assert worker.run_once() == 2

    assert fresh(dbsession, Job, alfa_job).status == "done"
    waiting = fresh(dbsession, Job, beeta_job)
    assert (waiting.status, waiting.attempts) == ("queued", 0)
    assert "No handler for job kind 'kh_test_jobs.touch'" in waiting.last_error
    assert login_failures(dbsession) == [(alfa.id, f"touched-by-job-{alfa_job}@jobs.test")]

    # Enabled later, the plugin's job runs once it is due again.
    enable_plugin(dbsession, plugins, dbsession.get(Tenant, beeta.id), "kh_test_jobs")
    dbsession.commit()
    clock.advance(minutes=6)
    assert worker.run_once() == 1
    assert fresh(dbsession, Job, beeta_job).status == "done"
    assert login_failures(dbsession)[-1] == (beeta.id, f"touched-by-job-{beeta_job}@jobs.test")


# --- several workers -------------------------------------------------------------------------

@pytest.mark.hookspec("job_handlers")
def test_several_workers_run_each_of_200_jobs_exactly_once(
    dbsession, make_tenant, make_worker, job_plugins, app_settings
):
    tenants = [make_tenant("Alfa AS", host="alfa.test"), make_tenant("Beeta OÜ",
                                                                     host="beeta.test")]
    runs: list[tuple[int, str]] = []
    runs_lock = threading.Lock()

    def record(ctx: JobContext) -> dict[str, int]:
        ctx.dbsession.add(LoginFailure(email=f"job-{ctx.job.id}@jobs.test"))
        with runs_lock:
            runs.append((ctx.job.id, ctx.job.locked_by))
        return {"job": ctx.job.id}

    plugins = job_plugins(JobHandler("test.record", record))
    job_ids = []
    for n in range(200):
        with tenant_scope(dbsession, tenants[n % 2].id):
            job_ids.append(enqueue(dbsession, "test.record", {"n": n}).id)
    dbsession.commit()
    settings = {**app_settings, "jobs.batch_size": "5"}
    workers = [make_worker(settings, plugins) for _ in range(4)]  # each has its own engine
    assert drain_concurrently(workers, timeout=300) == []
    assert sorted(job_id for job_id, _ in runs) == sorted(job_ids)  # each ran exactly once
    assert len({name for _, name in runs}) > 1  # the workers really ran side by side
    dbsession.rollback()
    jobs = dbsession.scalars(sa.select(Job)).all()
    assert {(job.status, job.attempts) for job in jobs} == {("done", 1)}
    assert {job.locked_by for job in jobs} == {name for _, name in runs}
    emails = [email for _, email in login_failures(dbsession)]
    assert sorted(emails) == sorted(f"job-{job_id}@jobs.test" for job_id in job_ids)


# --- the loop ----------------------------------------------------------------------------------

@pytest.mark.hookspec("job_handlers")
def test_run_forever_processes_jobs_until_stopped(
    dbsession, tenant, make_worker, job_plugins, app_settings
):
    worker = None

    def last_one(ctx: JobContext) -> None:
        if ctx.job.payload["last"]:
            worker.stop()

    plugins = job_plugins(JobHandler("test.last", last_one))
    first = add_job(dbsession, tenant, "test.last", {"last": False})
    last = add_job(dbsession, tenant, "test.last", {"last": True})
    worker = make_worker({**app_settings, "jobs.poll_interval": "1"}, plugins)
    loop = threading.Thread(target=worker.run_forever)

    loop.start()
    loop.join(timeout=60)

    assert not loop.is_alive()
    assert fresh(dbsession, Job, first).status == "done"
    assert fresh(dbsession, Job, last).status == "done"
