"""Reproduce a failure found with the load benchmark: concurrent requests of a login session
that has been idle for more than five minutes get HTTP 500 on SQLite.

    .venv/bin/python bench/last_seen_race.py [--db sqlite|postgresql|both] [--workers 4]
        [--concurrency 16] [--seconds 12] [--events 20]

Same set-up as ``bench/http_load.py`` (fresh database, demo data, gunicorn with several
workers, demo login), then the logged-in dashboard is loaded from ``bench/loadgen.py`` while,
``--events`` times (every 0.5 s), the session's ``last_seen_at`` is moved ten minutes into
the past, as if the user came back after a break. Every request that sees the old value
then updates ``last_seen_at`` (``core.security._session_identity``); the script prints the
response statuses and the errors in the server log. Exit status 1 when a request failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from http_load import (
    REPO,
    SCENARIOS,
    fresh_database,
    gunicorn,
    load_demo,
    loadgen_command,
    login,
    write_ini,
)

EVENT_INTERVAL = 0.5
"""Seconds between two "the user comes back after a break" events."""


def age_sessions(url: str, minutes: int = 10) -> None:
    """Move ``last_seen_at`` of every login session ``minutes`` into the past."""
    from core.db import make_engine, utcnow
    from core.models import AuthSession

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.update(AuthSession.__table__).values(
                last_seen_at=utcnow() - dt.timedelta(minutes=minutes)))
    finally:
        engine.dispose()


ERROR_LINE = re.compile(
    r"^(?:[\w.]*(?:Error|Exception)\b.*"  # the last line of a traceback
    r"|\([\w.]+(?:Error|Exception)\) .*"  # the driver's error wrapped by SQLAlchemy
    r"|\[SQL: .*)$",  # the failed statement
    re.M,
)


def error_summary(log: str) -> Counter[str]:
    """Exception and failed-statement lines of the server log, counted."""
    return Counter(line[:150] for line in ERROR_LINE.findall(log))


def probe(kind: str, args: argparse.Namespace) -> bool:
    """Run the reproduction on one database; True when every request answered 200."""
    from core.demo import DEMO_LOGIN, DEMO_PASSWORD

    dashboard = SCENARIOS[0]
    with tempfile.TemporaryDirectory(prefix=f"kh-race-{kind}-") as tmp:
        workdir = Path(tmp)
        with fresh_database(kind, workdir) as url:
            ini = workdir / "bench.ini"
            write_ini(ini, url, workdir)
            load_demo(ini, url)
            with gunicorn(ini, args.workers, 1, workdir) as server:
                cookie = login(server.port, DEMO_LOGIN, DEMO_PASSWORD)
                offset = server.log.stat().st_size
                loadgen = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
                    loadgen_command(server.port, dashboard, cookie, args),
                    cwd=REPO, stdout=subprocess.PIPE, text=True,
                )
                try:
                    time.sleep(args.warmup)
                    for _ in range(args.events):
                        age_sessions(url)
                        time.sleep(EVENT_INTERVAL)
                    out, _ = loadgen.communicate(timeout=args.seconds + args.warmup + 60)
                finally:
                    if loadgen.poll() is None:
                        loadgen.kill()
                        loadgen.wait()
                summary = json.loads(out)
                log = server.log.read_bytes()[offset:].decode("utf-8", "replace")
    print(f"{kind}: {args.events} idle-return events during {args.seconds:g} s of load on "
          f"{dashboard.path} ({args.concurrency} connections, {args.workers} workers)")
    print(f"  statuses: {summary['statuses']} (warm-up: {summary['warmup_statuses']})")
    for line, count in error_summary(log).most_common():
        print(f"  server log {count:>4} x {line}")
    return summary["errors"] == 0 and set(summary["warmup_statuses"]) <= {"200"}


def main(argv: list[str] | None = None) -> int:
    """Run the reproduction; exit status 1 when any request failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args(argv)
    args.warmup = 1.0
    if not 1 <= args.events <= 200 or args.events * EVENT_INTERVAL > args.seconds:
        parser.error(f"need 1 <= events <= 200 and events * {EVENT_INTERVAL} <= seconds")
    if not 1 <= args.workers <= 32 or not 1 <= args.concurrency <= 256:
        parser.error("need 1 <= workers <= 32 and 1 <= concurrency <= 256")
    for name in ("DATABASE_URL", "SESSION_SECRET"):  # the script chooses its own databases
        os.environ.pop(name, None)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    ok = [probe(kind, args) for kind in kinds]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
