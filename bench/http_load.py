"""HTTP load benchmark: the application under gunicorn with several workers, on SQLite and
PostgreSQL, loaded from a separate process.

    .venv/bin/python bench/http_load.py [--db sqlite|postgresql|both] [--workers 4]
        [--concurrency 16] [--seconds 20] [--warmup 3] [--threads 1]

For each database: a fresh database (SQLite file in a temporary folder, or a new PostgreSQL
database ``kh_bench_<random>`` that is dropped at the end), the migrations, the demo data, a
temporary ini file (``config/development.ini`` with the bench database and quiet logging),
then ``gunicorn --paste <ini> -w N`` on a free loopback port. The benchmark logs in as the
demo user and runs ``bench/loadgen.py`` once per scenario. The results are printed as a
Markdown table and written to ``bench/results/http-<timestamp>.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import re
import resource
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from configparser import ConfigParser
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
BASE_INI = REPO / "config" / "development.ini"
LOADGEN = BENCH_DIR / "loadgen.py"
GUNICORN_CONF = BENCH_DIR / "gunicorn_ready.py"
READY_DIR_ENV = "KH_BENCH_READY_DIR"  # same name as in gunicorn_ready.py
PG_ADMIN_URL = os.environ.get(
    "KH_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
HOST = "127.0.0.1"
SESSION_COOKIE = "kh_session"
PG_STATS_DELAY = 1.5
"""Seconds to wait before reading PostgreSQL's statistics (backends report them lazily)."""
STARTUP_TIMEOUT = 120.0
"""Seconds to wait for every gunicorn worker to load the application."""


@dataclass(frozen=True)
class Scenario:
    """One path requested under load."""

    name: str
    path: str
    logged_in: bool


SCENARIOS = (
    Scenario("dashboard (logged in)", "/", logged_in=True),
    Scenario("login page (anonymous)", "/login", logged_in=False),
    Scenario("healthz", "/healthz", logged_in=False),
)


@dataclass
class Result:
    """The load generator's summary for one (database, scenario), plus server-log findings."""

    db: str
    scenario: Scenario
    summary: dict[str, Any]
    server_log: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Server:
    """The running gunicorn: its port, the master's process id, its log file and, on
    PostgreSQL, the name of its database."""

    port: int
    pid: int
    log: Path
    pg_database: str | None


class BenchError(RuntimeError):
    """The benchmark could not be set up (the message says why)."""


# --- database ------------------------------------------------------------------------------

@contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """Yield the URL of a new, empty database; a PostgreSQL database is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.sqlite'}"
        return
    name = f"kh_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(
                hide_password=False
            )
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def write_ini(path: Path, url: str, workdir: Path) -> None:
    """``config/development.ini`` with the bench database, no template reloading and quiet
    logging (warnings and errors only, so server errors still reach the log)."""
    parser = ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep key case
    parser.read(BASE_INI, encoding="utf-8")
    app = parser["app:main"]
    app["sqlalchemy.url"] = url
    app["kliendihaldus.default_tenant"] = "demo"
    app["pyramid.reload_templates"] = "false"
    app["mail.directory"] = str(workdir / "mail")
    app["storage.path"] = str(workdir / "files")
    for section in parser.sections():
        if section.startswith("logger_"):
            parser[section]["level"] = "WARN"
    with path.open("w", encoding="utf-8") as fh:
        parser.write(fh)


def url_of(ini: Path) -> str:
    """The database URL written in ``ini``."""
    parser = ConfigParser(interpolation=None)
    parser.read(ini, encoding="utf-8")
    return parser["app:main"]["sqlalchemy.url"]


def load_demo(ini: Path, url: str) -> None:
    """Apply every migration and load the demo data, as ``kliendihaldus demo`` does."""
    from pyramid.paster import get_appsettings

    from core import demo, migrate
    from core import settings as settings_module
    from core.db import ALL_TENANTS, make_engine, make_session_factory
    from core.plugins import PluginSet

    settings = dict(settings_module.prepare(dict(get_appsettings(str(ini)))))
    if settings["sqlalchemy.url"] != url:
        raise BenchError(f"settings point to {settings['sqlalchemy.url']}, expected {url}")
    migrate.upgrade(url, PluginSet.discover())
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            session.info[ALL_TENANTS] = True
            if not demo.load(session, PluginSet.discover().load(), settings):
                raise BenchError("the fresh database already had demo data")
    finally:
        engine.dispose()


# --- server --------------------------------------------------------------------------------

def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def http_get(port: int, path: str, timeout: float = 5.0) -> int:
    """Status of one GET on a fresh connection (0 when the server does not answer)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


@contextmanager
def gunicorn(ini: Path, workers: int, threads: int, workdir: Path) -> Iterator[Server]:
    """Run ``gunicorn --paste ini -w workers`` until the block ends.

    Waits until every worker has loaded the application and ``/healthz`` answers 200. The
    server is always stopped (SIGTERM, then SIGKILL to its process group after 20 s).
    """
    port = free_port()
    ready_dir = workdir / "ready"
    ready_dir.mkdir()
    log_path = workdir / "gunicorn.log"
    env = dict(os.environ)
    env[READY_DIR_ENV] = str(ready_dir)
    command = [
        sys.executable, "-m", "gunicorn", "--paste", str(ini), "-c", str(GUNICORN_CONF),
        "-w", str(workers), "--threads", str(threads), "-b", f"{HOST}:{port}",
        "--timeout", "60", "--graceful-timeout", "10",
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise BenchError(f"gunicorn exited with status {proc.returncode}:\n"
                                 + tail(log_path))
            if time.monotonic() > deadline:
                raise BenchError(f"gunicorn not ready after {STARTUP_TIMEOUT:.0f} s:\n"
                                 + tail(log_path))
            booted = len(list(ready_dir.iterdir()))
            if booted >= workers and http_get(port, "/healthz") == 200:
                break
            time.sleep(0.2)
        url = sa.make_url(url_of(ini))
        yield Server(port, proc.pid, log_path,
                     url.database if url.get_backend_name() == "postgresql" else None)
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn gracefully, or kill its process group if it does not exit in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file."""
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def log_findings(path: Path, offset: int) -> tuple[list[str], int]:
    """Warning/error lines and tracebacks written to the server log since ``offset``."""
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read()
    findings = [
        line for line in data.decode("utf-8", "replace").splitlines()
        if re.search(r"\b(WARNING|WARN|ERROR|CRITICAL)\b|Traceback|Error:", line)
    ]
    return findings, offset + len(data)


# --- CPU accounting (Linux /proc; nothing elsewhere) --------------------------------------

@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far by the processes of interest, and by the whole machine."""

    procs: dict[int, tuple[str, float]]  # pid -> (group, CPU seconds)
    busy: float  # all cores, seconds not idle
    total: float  # all cores, seconds


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            "utf-8", "replace")
    except OSError:
        return ""


def cpu_snapshot(server_pid: int, pg_database: str | None) -> CpuSnapshot | None:
    """CPU use so far of the gunicorn master and workers (group ``server``), of the
    PostgreSQL backends serving ``pg_database`` (group ``postgres``; recognised by their
    process title) and of the machine; None without ``/proc``."""
    if not Path("/proc/stat").exists():
        return None
    procs: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        stat = _proc_stat(pid)
        if stat is None:
            continue
        if pid == server_pid or stat[0] == server_pid:
            procs[pid] = ("server", stat[1])
        elif pg_database and re.match(rf"postgres: .* {re.escape(pg_database)} ",
                                      _cmdline(pid)):
            procs[pid] = ("postgres", stat[1])
    hz = os.sysconf("SC_CLK_TCK")
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return CpuSnapshot(procs, (sum(ticks) - idle) / hz, sum(ticks) / hz)


def cpu_usage(before: CpuSnapshot | None, after: CpuSnapshot | None,
              loadgen_seconds: float) -> dict[str, float]:
    """Percent of all cores used between two snapshots by the server, its PostgreSQL
    backends, the load generator, everything else on the machine, and in total."""
    if before is None or after is None or after.total <= before.total:
        return {}
    used = {"server": 0.0, "postgres": 0.0}
    for pid, (group, seconds) in after.procs.items():
        used[group] += seconds - before.procs.get(pid, (group, 0.0))[1]
    scale = 100 / (after.total - before.total)
    usage = {group: seconds * scale for group, seconds in used.items()}
    usage["loadgen"] = loadgen_seconds * scale
    usage["busy"] = (after.busy - before.busy) * scale
    usage["other"] = max(0.0, usage["busy"] - usage["server"] - usage["postgres"]
                         - usage["loadgen"])
    usage["server_seconds"] = used["server"]
    return usage


# --- client --------------------------------------------------------------------------------

def _session_cookie(response: http.client.HTTPResponse) -> str | None:
    for header in response.headers.get_all("Set-Cookie") or ():
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if SESSION_COOKIE in cookie:
            return cookie[SESSION_COOKIE].value
    return None


def login(port: int, email: str, password: str) -> str:
    """Log in through the form; return the ``Cookie`` header of the logged-in session."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", "/login")
        response = conn.getresponse()
        page = response.read().decode("utf-8")
        anon = _session_cookie(response)
        match = re.search(r'name="csrf_token"\s+value="([^"]+)"', page)
        if response.status != 200 or anon is None or match is None:
            raise BenchError(f"GET /login: status {response.status}, no session or csrf_token")
        form = urlencode({"email": email, "password": password,
                          "csrf_token": match.group(1), "next": "/"})
        conn.request("POST", "/login", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"{SESSION_COOKIE}={anon}",
        })
        response = conn.getresponse()
        response.read()
        session = _session_cookie(response)
        if response.status != 303 or session is None:
            raise BenchError(f"POST /login: status {response.status} (expected 303 + cookie)")
        cookie = f"{SESSION_COOKIE}={session}"
        conn.request("GET", "/", headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise BenchError(f"GET / after login: status {response.status}")
        return cookie
    finally:
        conn.close()


def loadgen_command(port: int, scenario: Scenario, cookie: str, args: argparse.Namespace
                    ) -> list[str]:
    """The command line running ``bench/loadgen.py`` for ``scenario``."""
    command = [
        sys.executable, str(LOADGEN), "--port", str(port), "--path", scenario.path,
        "--concurrency", str(args.concurrency), "--seconds", str(args.seconds),
        "--warmup", str(args.warmup),
    ]
    if scenario.logged_in:
        command += ["--cookie", cookie]
    return command


def run_loadgen(server: Server, scenario: Scenario, cookie: str, args: argparse.Namespace
                ) -> dict[str, Any]:
    """Run ``bench/loadgen.py`` in its own process and return its JSON summary, with the
    CPU usage during the run (warm-up included) under ``"cpu"`` and, on PostgreSQL, the
    number of connections the server accepted meanwhile under ``"pg_sessions"``."""
    command = loadgen_command(server.port, scenario, cookie, args)
    sessions_before = 0
    if server.pg_database:
        time.sleep(PG_STATS_DELAY)
        sessions_before = pg_sessions(server.pg_database)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = cpu_snapshot(server.pid, server.pg_database)
    done = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        command, capture_output=True, text=True, check=False,
        timeout=args.seconds + args.warmup + 120,
    )
    after = cpu_snapshot(server.pid, server.pg_database)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise BenchError(f"loadgen failed ({done.returncode}):\n{done.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(done.stdout)
    loadgen_cpu = (used.ru_utime - children.ru_utime) + (used.ru_stime - children.ru_stime)
    summary["cpu"] = cpu_usage(before, after, loadgen_cpu)
    if server.pg_database:
        time.sleep(PG_STATS_DELAY)
        summary["pg_sessions"] = pg_sessions(server.pg_database) - sessions_before
    return summary


def pg_sessions(database: str) -> int:
    """How many connections PostgreSQL has accepted to ``database`` so far
    (``pg_stat_database.sessions``, PostgreSQL 14 and later; -1 when unknown)."""
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            value = conn.scalar(
                sa.text("SELECT sessions FROM pg_stat_database WHERE datname = :name"),
                {"name": database},
            )
    except sa.exc.SQLAlchemyError:
        return -1
    finally:
        engine.dispose()
    return -1 if value is None else int(value)


# --- one database --------------------------------------------------------------------------

def bench_database(kind: str, args: argparse.Namespace) -> list[Result]:
    """Prepare ``kind``, start gunicorn, and run every scenario against it."""
    from core.demo import DEMO_LOGIN, DEMO_PASSWORD

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix=f"kh-bench-{kind}-") as tmp:
        workdir = Path(tmp)
        with fresh_database(kind, workdir) as url:
            ini = workdir / "bench.ini"
            write_ini(ini, url, workdir)
            print(f"[{kind}] migrating and loading the demo data ...", file=sys.stderr)
            load_demo(ini, url)
            print(f"[{kind}] starting gunicorn -w {args.workers} ...", file=sys.stderr)
            with gunicorn(ini, args.workers, args.threads, workdir) as server:
                cookie = login(server.port, DEMO_LOGIN, DEMO_PASSWORD)
                offset = server.log.stat().st_size
                for scenario in SCENARIOS:
                    print(f"[{kind}] {scenario.name}: {args.concurrency} connections, "
                          f"{args.warmup:g} s warm-up + {args.seconds:g} s ...", file=sys.stderr)
                    summary = run_loadgen(server, scenario, cookie, args)
                    findings, offset = log_findings(server.log, offset)
                    results.append(Result(kind, scenario, summary, findings))
                if any(r.summary["errors"] or r.server_log for r in results):
                    keep = RESULTS_DIR / f"gunicorn-{kind}-{stamp()}.log"
                    RESULTS_DIR.mkdir(exist_ok=True)
                    keep.write_bytes(server.log.read_bytes())
                    print(f"[{kind}] errors seen; server log kept in {keep}", file=sys.stderr)
    return results


# --- report --------------------------------------------------------------------------------

def stamp() -> str:
    """A file-name-safe local timestamp."""
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def environment(args: argparse.Namespace) -> list[str]:
    """Lines describing the machine and the software measured."""
    import gunicorn as gunicorn_pkg

    lines = [
        f"- command: `.venv/bin/python bench/http_load.py --db {args.db} "
        f"--workers {args.workers} --threads {args.threads} --concurrency {args.concurrency} "
        f"--seconds {args.seconds:g} --warmup {args.warmup:g}`",
        f"- machine: {os.cpu_count()} CPU cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}",
        f"- server: gunicorn {gunicorn_pkg.__version__}, {args.workers} workers "
        f"({'sync' if args.threads == 1 else f'gthread x {args.threads}'}), "
        f"SQLAlchemy {sa.__version__}, SQLite {sqlite3.sqlite_version}",
        f"- load: {args.concurrency} threads in a separate process (bench/loadgen.py), "
        f"{args.warmup:g} s warm-up, {args.seconds:g} s measured; "
        "the load generator shares the CPU cores with the server",
    ]
    if args.db in ("postgresql", "both"):
        engine = sa.create_engine(PG_ADMIN_URL)
        try:
            with engine.connect() as conn:
                lines[2] += f", PostgreSQL {conn.scalar(sa.text('SHOW server_version'))}"
        except sa.exc.SQLAlchemyError:
            pass
        finally:
            engine.dispose()
    return lines


def markdown(results: list[Result], args: argparse.Namespace) -> str:
    """The report: settings, the results table and details of any errors."""
    out = ["# HTTP load benchmark", "", f"Run {dt.datetime.now().isoformat(timespec='seconds')}",
           "", *environment(args), "",
           "| database | scenario | path | requests | req/s | p50 ms | p95 ms | p99 ms "
           "| max ms | errors (non-200) |",
           "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        s = r.summary
        lat = s["latency_ms"]
        out.append(
            f"| {r.db} | {r.scenario.name} | `{r.scenario.path}` | {s['requests']} "
            f"| {s['rps']:.1f} | {lat['p50']:.1f} | {lat['p95']:.1f} | {lat['p99']:.1f} "
            f"| {lat['max']:.1f} | {s['errors']} |"
        )
    out += ["", "CPU during each run (warm-up included), in % of all cores (100 % = every core "
            "busy); *other* is whatever else ran on the machine meanwhile. Requests per gunicorn "
            "CPU-second (warm-up included) depends less on other load than req/s. TCP connections "
            "counts the load generator's connects, warm-up included (the sync worker closes "
            "the connection after every response, gthread keeps it alive). New PostgreSQL "
            "connections: what the database server accepted during the run, from "
            "`pg_stat_database.sessions`; a steady pool opens none.", "",
            "| database | scenario | gunicorn % | PostgreSQL % | load generator % | other % "
            "| machine busy % | requests per gunicorn CPU-second | TCP connections "
            "| new PostgreSQL connections |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        cpu = r.summary.get("cpu") or {}
        cells = " | ".join(f"{cpu[k]:.0f}" if k in cpu else "-"
                           for k in ("server", "postgres", "loadgen", "other", "busy"))
        served = r.summary["requests"] + r.summary["warmup_requests"]
        per_cpu = (f"{served / cpu['server_seconds']:.0f}" if cpu.get("server_seconds")
                   else "-")
        pg = r.summary.get("pg_sessions")
        out.append(f"| {r.db} | {r.scenario.name} | {cells} | {per_cpu} "
                   f"| {r.summary['connections']} | {'-' if pg is None else pg} |")
    problems = [r for r in results if r.summary["errors"] or r.server_log
                or any(k != "200" for k in r.summary["warmup_statuses"])
                or r.summary["stuck_threads"]]
    if problems:
        out += ["", "## Errors", ""]
        for r in problems:
            s = r.summary
            out.append(f"### {r.db}: {r.scenario.name}")
            out.append("")
            out.append(f"- statuses: {s['statuses']}; during warm-up: {s['warmup_statuses']}")
            if s["exceptions"]:
                out.append(f"- exceptions: {s['exceptions']}")
            if s["stuck_threads"]:
                out.append(f"- load threads still waiting at the end: {s['stuck_threads']}")
            for sample in s["samples"]:
                out.append(f"- sample: `{json.dumps(sample, ensure_ascii=False)[:400]}`")
            if r.server_log:
                out.append(f"- server log ({len(r.server_log)} warning/error lines), first:")
                out += ["", "```", *r.server_log[:15], "```"]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker (1: sync worker, more: gthread)")
    parser.add_argument("--concurrency", type=int, default=16, help="load-generator threads")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 32 or not 1 <= args.threads <= 64:
        parser.error("need 1 <= workers <= 32 and 1 <= threads <= 64")
    if not 1 <= args.concurrency <= 256 or not 0 < args.seconds <= 600 or args.warmup < 0:
        parser.error("need 1 <= concurrency <= 256, 0 < seconds <= 600, warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a measured request failed, 2 when the set-up
    failed."""
    args = parse_args(argv)
    for name in ("DATABASE_URL", "SESSION_SECRET"):  # the bench chooses its own databases
        os.environ.pop(name, None)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results: list[Result] = []
    try:
        for kind in kinds:
            results += bench_database(kind, args)
    except BenchError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    report = markdown(results, args)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"http-{stamp()}.md"
    path.write_text(report, encoding="utf-8")
    print(report)
    print(f"Written to {path.relative_to(REPO)}", file=sys.stderr)
    return 1 if any(r.summary["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
