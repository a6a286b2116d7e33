"""Latency of the client register on a large data set (100 000 clients, 300 000 contacts,
1 000 000 activities), on SQLite and PostgreSQL.

    .venv/bin/python bench/crm_bench.py                       # both databases, full size
    .venv/bin/python bench/crm_bench.py --db sqlite --rounds 3
    .venv/bin/python bench/crm_bench.py --db postgresql --clients 10000 --contacts 30000 \\
        --activities 100000                                   # a quick, smaller run

For each database, ``bench/crm_dataset.py`` builds a fresh data set (the PostgreSQL
database ``kh_bench_crm_<hex>`` is dropped at the end), then the application runs in this
process (``core.main`` with ``config/development.ini``, the bench database and template
reloading off) and WebTest sends the requests one after another as the demo administrator
(``mari.tamm@demo.ee``, who sees every client). Every request is timed from the call to the
complete response, with the number of SQL statements it ran and the time spent in them.
Nothing else runs concurrently: these are single-user latencies, not throughput (see
``bench/http_load.py`` for load).

Scenarios:

* **search while typing** -- ``/clients/search.json?q=...`` for every prefix (two
  characters or more, as ``crm.js`` sends them) of realistic inputs: name prefixes
  (``põldma``, ``tartu mööbel``), a word inside names (``mööbel``), a contact person's
  surname, registry code and phone digits, an e-mail fragment and a string that matches
  nothing; reported as a whole and by kind of input;
* **register** -- ``/clients`` page 1, a filtered page (group + salesperson) and a search
  page (``q=ehitus``, page 2);
* **client card** -- ``/clients/{id}`` of random clients;
* **calendar** -- ``/calendar?view=week`` of the administrator and of the whole team
  (``user=all``).

The report (p50 / p95 / p99 / max in milliseconds, SQL statements and SQL time per request)
is printed and written to ``bench/results/crm-<timestamp>.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from configparser import ConfigParser
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import crm_dataset  # noqa: E402
from crm_dataset import Dataset, Sizes  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
BASE_INI = REPO / "config" / "development.ini"
LOGIN = ("mari.tamm@demo.ee", "demo-parool")
TARGET_MS = 50.0

TYPED: dict[str, tuple[str, ...]] = {
    # kind of input -> what the user types (every prefix of 2+ characters is sent)
    "name prefix": ("Põldma", "Tartu Mööbel", "Saare Kala", "Ülemiste"),
    "word inside names": ("mööbel", "ehitus"),
    "contact surname": ("Kask", "Rätsep"),
    "registry code digits": ("{registry_code}",),
    "phone digits": ("{phone}",),
    "e-mail fragment": ("info@kal",),
    "no match": ("qxzw",),
}


@dataclass
class Sample:
    """One timed request."""

    ms: float
    statements: int
    sql_ms: float
    status: int


@dataclass
class Scenario:
    """A named list of paths, requested in order (cycled)."""

    name: str
    paths: list[str]
    samples: list[Sample] = field(default_factory=list)
    by_kind: dict[str, list[Sample]] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=list)


class SqlCounter:
    """Counts SQL statements and the time spent in them (every engine of the process)."""

    def __init__(self) -> None:
        self.statements = 0
        self.seconds = 0.0
        self._started: list[float] = []
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self._before)
        sa.event.listen(sa.engine.Engine, "after_cursor_execute", self._after)

    def _before(self, *args: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, *args: Any) -> None:
        self.statements += 1
        if self._started:
            self.seconds += time.perf_counter() - self._started.pop()

    def reset(self) -> None:
        """Start counting again."""
        self.statements = 0
        self.seconds = 0.0

    def close(self) -> None:
        """Stop listening."""
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", self._before)
        sa.event.remove(sa.engine.Engine, "after_cursor_execute", self._after)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def app_settings(url: str, files: Path) -> dict[str, str]:
    """``config/development.ini`` with the bench database, quiet and without reloading."""
    parser = ConfigParser(interpolation=None)
    parser.read(BASE_INI, encoding="utf-8")
    settings = {k: v for k, v in parser["app:main"].items() if k != "use"}
    settings.update({
        "sqlalchemy.url": url, "kliendihaldus.default_tenant": "demo",
        "pyramid.reload_templates": "false", "storage.path": str(files / "files"),
        "mail.directory": str(files / "mail"),
    })
    return settings


def login(client: Any) -> None:
    """Log in as the demo administrator through the login form."""
    form = client.get("/login").forms[0]
    form["email"], form["password"] = LOGIN
    response = form.submit()
    if response.status_int != 303:
        raise RuntimeError(f"login failed: {response.status}")


def _typed_prefixes(text: str) -> list[str]:
    return [text[:n] for n in range(2, len(text) + 1) if text[:n].strip() == text[:n]
            or n == len(text)]


def scenarios(data: Dataset, engine: sa.Engine, rng: random.Random) -> list[Scenario]:
    """The scenarios with concrete paths for this data set."""
    from plugins.crm_register.models import Client

    with engine.connect() as conn:
        sample = conn.execute(sa.select(Client.__table__.c.registry_code,
                                        Client.__table__.c.phone)
                              .where(Client.__table__.c.id == data.client_ids[len(
                                  data.client_ids) // 2])).one()
    values = {"registry_code": sample.registry_code or "10000000",
              "phone": (sample.phone or "+372 612 3456").replace("+372 ", "")}
    search = Scenario("search while typing", [])
    for kind, inputs in TYPED.items():
        for raw in inputs:
            for prefix in _typed_prefixes(raw.format(**values)):
                search.paths.append("/clients/search.json?" + _query(q=prefix))
                search.kinds.append(kind)
    gold = data.group_ids.get("Kuldklient") or next(iter(data.group_ids.values()))
    seller = data.salesperson_ids[0]
    cards = [f"/clients/{cid}" for cid in rng.sample(data.client_ids, 200)]
    return [
        search,
        Scenario("register page 1", ["/clients"]),
        Scenario("register filtered (group + salesperson)",
                 [f"/clients?{_query(group=gold, salesperson=seller)}"]),
        Scenario("register search page 2 (q=ehitus)", [f"/clients?{_query(q='ehitus', page=2)}"]),
        Scenario("client card", cards),
        Scenario("calendar week (own)", ["/calendar?view=week"]),
        Scenario("calendar week (team)", ["/calendar?view=week&user=all"]),
    ]


def _query(**params: Any) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def measure(client: Any, scenario: Scenario, counter: SqlCounter, rounds: int,
            minimum: int, warmup: int = 3) -> None:
    """Request the scenario's paths ``rounds`` times (at least ``minimum`` requests)."""
    paths = list(scenario.paths)
    kinds = scenario.kinds or [""] * len(paths)
    total = max(minimum, rounds * len(paths))
    for path in paths[:warmup]:
        client.get(path)
    for i in range(total):
        path = paths[i % len(paths)]
        counter.reset()
        started = time.perf_counter()
        response = client.get(path, status="*")
        elapsed = (time.perf_counter() - started) * 1000
        sample = Sample(elapsed, counter.statements, counter.seconds * 1000,
                        response.status_int)
        scenario.samples.append(sample)
        scenario.by_kind.setdefault(kinds[i % len(paths)], []).append(sample)


def _row(db: str, name: str, samples: list[Sample], example: str = "") -> str:
    ms = [s.ms for s in samples]
    errors = sum(1 for s in samples if s.status != 200)
    return (f"| {db} | {name} | {example} | {len(samples)} | {percentile(ms, 50):.1f} | "
            f"{percentile(ms, 95):.1f} | {percentile(ms, 99):.1f} | {max(ms):.1f} | "
            f"{statistics.mean(s.statements for s in samples):.1f} | "
            f"{percentile([s.sql_ms for s in samples], 50):.1f} | "
            f"{percentile([s.sql_ms for s in samples], 95):.1f} | {errors} |")


HEADER = ("| database | scenario | example | requests | p50 ms | p95 ms | p99 ms | max ms | "
          "SQL statements | SQL p50 ms | SQL p95 ms | errors |\n"
          "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def explain_search(engine: sa.Engine, tenant_id: int, text: str) -> list[str]:
    """The database's plan of the search-while-typing candidate query for ``text`` (the
    token-prefix range, as ``clients.search_clients`` runs it)."""
    from plugins.crm_register.clients import CANDIDATE_LIMIT
    from plugins.crm_register.models import Client, ClientSearchToken
    from plugins.crm_register.search import fold, prefix_range

    tokens = ClientSearchToken.__table__
    clients = Client.__table__
    candidates = (sa.select(tokens.c.client_id)
                  .join(clients, clients.c.id == tokens.c.client_id)
                  .where(tokens.c.tenant_id == tenant_id,
                         prefix_range(tokens.c.token, fold(text)))
                  .order_by(tokens.c.token).limit(CANDIDATE_LIMIT).subquery())
    stmt = (sa.select(clients.c.id)
            .where(clients.c.tenant_id == tenant_id,
                   clients.c.id.in_(sa.select(candidates.c.client_id)))
            .order_by(clients.c.name_search).limit(10))
    compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
    keyword = "EXPLAIN QUERY PLAN" if engine.dialect.name == "sqlite" else "EXPLAIN ANALYZE"
    with engine.connect() as conn:
        return [" ".join(str(c) for c in row) for row in
                conn.exec_driver_sql(f"{keyword} {compiled}")]


def run(kind: str, sizes: Sizes, rounds: int, minimum: int, seed: int) -> tuple[str, Dataset]:
    """Build the data set on ``kind``, measure every scenario; returns Markdown rows."""
    import webtest

    from core import main
    from core.db import make_engine

    lines: list[str] = []
    with crm_dataset.fresh_database(kind) as url, \
            tempfile.TemporaryDirectory(prefix="kh-crm-bench-") as folder:
        started = time.perf_counter()
        data = crm_dataset.build(url, sizes, log=lambda m: print(f"[{kind}] {m}", flush=True))
        print(f"[{kind}] data set: {data.rows} in {time.perf_counter() - started:.0f} s",
              flush=True)
        app = main({}, **app_settings(url, Path(folder)))
        client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost"})
        login(client)
        engine = make_engine(url)
        counter = SqlCounter()
        try:
            rng = random.Random(seed)  # noqa: S311 - not a secret
            for scenario in scenarios(data, engine, rng):
                measure(client, scenario, counter, rounds, minimum)
                example = scenario.paths[0].replace("|", "\\|")
                lines.append(_row(kind, scenario.name, scenario.samples, f"`{example}`"))
                print(lines[-1], flush=True)
                if scenario.kinds:
                    for sub, samples in scenario.by_kind.items():
                        lines.append(_row(kind, f"search: {sub}", samples))
                        print(lines[-1], flush=True)
            plans = {text: explain_search(engine, data.tenant_id, text)
                     for text in ("ta", "mööbel")}
        finally:
            counter.close()
            engine.dispose()
            app.registry["db_engine"].dispose()  # before the database is dropped
    plan_text = "\n".join(f"{kind} plan for q={text!r}:\n    " + "\n    ".join(rows)
                          for text, rows in plans.items())
    return "\n".join(lines) + "\n\n```\n" + plan_text + "\n```", data


@contextmanager
def _report_file() -> Iterator[Path]:
    RESULTS_DIR.mkdir(exist_ok=True)
    yield RESULTS_DIR / f"crm-{dt.datetime.now():%Y%m%d-%H%M%S}.md"


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, default=Sizes.clients)
    parser.add_argument("--contacts", type=int, default=Sizes.contacts)
    parser.add_argument("--activities", type=int, default=Sizes.activities)
    parser.add_argument("--rounds", type=int, default=2,
                        help="times every path of a scenario is requested")
    parser.add_argument("--min-requests", type=int, default=60,
                        help="at least this many requests per scenario")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sizes = Sizes(args.clients, max(args.contacts, args.clients), args.activities)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    sections = []
    for kind in kinds:
        table, data = run(kind, sizes, args.rounds, args.min_requests, args.seed)
        sections.append((kind, table, data))
    lines = [f"# Client register latency, {dt.datetime.now():%Y-%m-%d %H:%M}", "",
             f"{platform.machine()}, Python {platform.python_version()}, "
             f"SQLAlchemy {sa.__version__}; {sizes.clients} clients, {sizes.contacts} "
             f"contacts, {sizes.activities} activities (+ the demo data); target p95 < "
             f"{TARGET_MS:.0f} ms for search and the card.", ""]
    for kind, _table, data in sections:
        lines.append(f"- {kind}: rows {data.rows}; "
                     + ", ".join(f"{k} {v:.1f} s" for k, v in data.seconds.items()))
    lines += ["", HEADER]
    plans = []
    for _kind, table, _data in sections:
        rows, _sep, plan = table.partition("\n\n")
        lines.append(rows)
        plans.append(plan)
    lines += ["", *plans]
    report = "\n".join(lines) + "\n"
    print("\n" + report)
    with _report_file() as path:
        path.write_text(report, encoding="utf-8")
        print(f"written to {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
