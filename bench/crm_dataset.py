"""A large client-register data set for the benchmark: 100 000 clients, 300 000 contact
persons with their links and 1 000 000 activities in one tenant.

    .venv/bin/python bench/crm_dataset.py --db sqlite --path /tmp/crm.sqlite
    .venv/bin/python bench/crm_dataset.py --db postgresql --keep      # prints the URL
    .venv/bin/python bench/crm_dataset.py --db sqlite --clients 10000 --contacts 30000 \\
        --activities 100000

The database is new: a SQLite file, or a PostgreSQL database ``kh_bench_crm_<hex>`` on
``KH_BENCH_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``),
dropped at the end unless ``--keep``. It is migrated and gets the demo tenant exactly as
``kliendihaldus demo`` makes it (``core.demo.load``: users, the 200 demo clients), plus 40
more salespeople; then the bulk rows are written with Core inserts, bypassing the ORM and
the audit log: ``executemany`` on SQLite, ``COPY`` on PostgreSQL, in batches. Names,
addresses and identifiers come from the word lists of :mod:`plugins.crm_register.demo`
(registry codes, personal codes and VAT numbers have valid check digits); the search columns
are computed with the same :func:`~plugins.crm_register.search.fold` as
:func:`~plugins.crm_register.clients.refresh_search`, so search behaves as for clients
saved through the application. Everything is drawn from a seeded generator.

:func:`build` is used by ``bench/crm_bench.py``.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from core import demo as core_demo  # noqa: E402
from core import migrate  # noqa: E402
from core.db import all_tenants, make_engine, make_session_factory, tenant_scope  # noqa: E402
from core.models import Tenant, User  # noqa: E402
from core.plugins import PluginSet  # noqa: E402
from plugins.crm_register import demo as words  # noqa: E402
from plugins.crm_register.models import (  # noqa: E402
    Activity,
    ActivityType,
    Address,
    Client,
    ClientGroup,
    ClientGroupLink,
    ClientPerson,
    ClientSearchToken,
    ClientType,
    Counter,
    Person,
)
from plugins.crm_register.search import PART_SEPARATOR, digits, fold, search_tokens  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "KH_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SEED = 4242
EXTRA_SALESPEOPLE = 40
BATCH = 20_000
PAST_DAYS = 3 * 365
FUTURE_DAYS = 28
TZ = ZoneInfo("Europe/Tallinn")
SUFFIXES = ("", "", "", "", " Grupp", " Teenused", " Invest", " Partnerid", " Lahendused",
            " Keskus", " Eesti", " Baltic", " Tootmine", " Hulgi")
DEMO_SETTINGS = {
    "kliendihaldus.default_plugins": "builtin",
    "security.argon2.time_cost": "3",
    "security.argon2.memory_cost": "65536",
}


@dataclass(frozen=True)
class Sizes:
    """How many rows to generate."""

    clients: int = 100_000
    contacts: int = 300_000
    activities: int = 1_000_000


@dataclass
class Dataset:
    """What :func:`build` made: where, how much, how long, and a few ids for the queries."""

    url: str
    tenant_id: int
    sizes: Sizes
    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    client_ids: list[int] = field(default_factory=list)
    group_ids: dict[str, int] = field(default_factory=dict)
    type_ids: dict[str, int] = field(default_factory=dict)
    salesperson_ids: list[int] = field(default_factory=list)
    admin_id: int = 0


# --- databases ---------------------------------------------------------------------------

@contextmanager
def fresh_database(kind: str, path: Path | None = None, keep: bool = False) -> Iterator[str]:
    """The URL of a new empty database: a SQLite file (``path`` or a temporary one), or a
    PostgreSQL database ``kh_bench_crm_<hex>`` dropped afterwards unless ``keep``."""
    if kind == "sqlite":
        if path is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            yield f"sqlite:///{path}"
            return
        with tempfile.TemporaryDirectory(prefix="kh-crm-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'crm.sqlite'}"
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"kh_bench_crm_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(
                hide_password=False)
        finally:
            if not keep:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --- bulk writing ------------------------------------------------------------------------

class BulkWriter:
    """Writes rows (tuples in the order of ``columns``) into a table: ``COPY`` on
    PostgreSQL, ``executemany`` on SQLite with SQLAlchemy's own value conversion."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.raw = engine.raw_connection()
        self.counts: dict[str, int] = {}

    def write(self, table: sa.Table, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        """Insert ``rows`` (committed at the end of the call)."""
        rows = list(rows)
        if not rows:
            return
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)
        cursor = self.raw.cursor()
        if self.dialect.name == "postgresql":
            names = ", ".join(columns)
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            processors = [table.c[name].type.dialect_impl(self.dialect)
                          .bind_processor(self.dialect) for name in columns]
            if any(processors):
                rows = [tuple(p(v) if p is not None and v is not None else v
                              for p, v in zip(processors, row, strict=True)) for row in rows]
            marks = ", ".join("?" for _ in columns)
            # The engine's connections are in autocommit mode (SQLAlchemy emits BEGIN
            # itself); without a BEGIN here every row would be its own transaction.
            cursor.execute("BEGIN")
            cursor.executemany(
                f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                rows)
        cursor.close()
        self.raw.commit()

    def execute(self, sql: str) -> None:
        """Run one statement and commit."""
        cursor = self.raw.cursor()
        cursor.execute(sql)
        cursor.close()
        self.raw.commit()

    def close(self) -> None:
        """Release the connection."""
        self.raw.close()


def _max_id(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.max(table.c.id))) or 0


def _fix_sequences(engine: sa.Engine, tables: Iterable[sa.Table]) -> None:
    """PostgreSQL: move the id sequences past the ids written explicitly."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in tables:
            sql = (f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                   f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))")
            conn.execute(sa.text(sql))


# --- generators --------------------------------------------------------------------------

@dataclass
class Generator:
    """Deterministic row generators sharing one random source."""

    rng: random.Random
    tenant_id: int
    now: dt.datetime
    used_codes: set[str] = field(default_factory=set)
    used_vats: set[str] = field(default_factory=set)

    def company_name(self) -> tuple[str, str]:
        """A plausible Estonian company name and its legal form."""
        rng = self.rng
        form = rng.choice(words.LEGAL_FORMS)
        first = rng.choice(words.NAME_STEMS) if rng.random() < 0.7 else rng.choice(
            words.SURNAMES)
        return f"{first} {rng.choice(words.TRADES)}{rng.choice(SUFFIXES)} {form}", form

    def unique(self, make: Callable[[], str], used: set[str]) -> str:
        """A value from ``make`` not in ``used`` (then added to it)."""
        value = make()
        while value in used:
            value = make()
        used.add(value)
        return value


def _local_day_start_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=TZ).astimezone(dt.UTC)


def build(url: str, sizes: Sizes = Sizes(), seed: int = SEED,
          log: Callable[[str], None] = print) -> Dataset:
    """Migrate the empty database at ``url`` and fill it; returns what was made."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    migrate.upgrade(url)
    timings["migrate"] = time.perf_counter() - started
    engine = make_engine(url)
    try:
        return _fill(engine, url, sizes, seed, timings, log)
    finally:
        engine.dispose()


def _demo_tenant(engine: sa.Engine, workdir: Path) -> int:
    """The demo tenant as ``kliendihaldus demo`` makes it (its files in ``workdir``)."""
    from pyramid.registry import Registry
    from pyramid.threadlocal import manager

    from plugins.crm_register.storage import LocalFileStorage

    registry = Registry("crm-bench")
    registry["file_storage"] = LocalFileStorage(workdir)
    manager.push({"registry": registry, "request": None})
    try:
        session = make_session_factory(engine)()
        with session, all_tenants(session):
            core_demo.load(session, PluginSet.discover().load(), DEMO_SETTINGS)
            session.commit()
            return session.scalar(sa.select(Tenant.id).where(
                Tenant.slug == core_demo.DEMO_SLUG))
    finally:
        manager.pop()


def _fill(engine: sa.Engine, url: str, sizes: Sizes, seed: int, timings: dict[str, float],
          log: Callable[[str], None]) -> Dataset:
    step = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kh-crm-files-") as files:
        tenant_id = _demo_tenant(engine, Path(files))
    timings["demo tenant"] = time.perf_counter() - step
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    data = Dataset(url=url, tenant_id=tenant_id, sizes=sizes)
    session = make_session_factory(engine)()
    with session, tenant_scope(session, tenant_id):
        admin = session.scalar(sa.select(User).where(User.email == core_demo.DEMO_LOGIN))
        for i in range(EXTRA_SALESPEOPLE):
            person = words.person_data(rng, dt.date.today())
            session.add(User(
                name=f"{person.first_name} {person.last_name}", role="sales",
                email=f"{words.slug(person.first_name)}.{words.slug(person.last_name)}"
                      f".{i}@demo.ee",
                password_hash=admin.password_hash, locale="et"))
        session.commit()
        users = list(session.scalars(sa.select(User).order_by(User.id)))
        groups = {g.name: g.id for g in session.scalars(sa.select(ClientGroup))}
        client_types = {t.name: t.id for t in session.scalars(sa.select(ClientType))}
        activity_types = list(session.scalars(sa.select(ActivityType)))
        data.admin_id = admin.id
    data.group_ids = groups
    data.type_ids = client_types
    salespeople = [u.id for u in users if u.role == "sales"]
    performers = [u.id for u in users if u.role in ("sales", "manager", "admin")]
    data.salesperson_ids = salespeople
    gen = Generator(rng=rng, tenant_id=tenant_id, now=dt.datetime.now(dt.UTC))
    with engine.connect() as conn:  # the demo clients' codes are taken already
        table = Client.__table__
        for code, vat in conn.execute(sa.select(table.c.registry_code, table.c.vat_number)):
            gen.used_codes.add(code)
            gen.used_vats.add(vat)
    writer = BulkWriter(engine)
    try:
        step = time.perf_counter()
        client_persons = _clients_and_contacts(engine, writer, gen, sizes, data, salespeople,
                                               groups, client_types)
        timings["clients and contacts"] = time.perf_counter() - step
        log(f"  clients and contacts: {timings['clients and contacts']:.1f} s")
        step = time.perf_counter()
        _activities(engine, writer, gen, sizes, data, client_persons, performers,
                    activity_types)
        timings["activities"] = time.perf_counter() - step
        log(f"  activities: {timings['activities']:.1f} s")
        step = time.perf_counter()
        tables = [Client.__table__, Person.__table__, ClientPerson.__table__,
                  Address.__table__, Activity.__table__]
        _fix_sequences(engine, tables)
        with engine.begin() as conn:
            for series, table in (("client", Client.__table__),
                                  ("activity", Activity.__table__)):
                top = conn.scalar(sa.select(sa.func.max(table.c.number))
                                  .where(table.c.tenant_id == tenant_id))
                conn.execute(sa.update(Counter.__table__)
                             .where(Counter.__table__.c.tenant_id == tenant_id,
                                    Counter.__table__.c.name == series)
                             .values(value=top))
        writer.execute("ANALYZE")
        timings["analyze"] = time.perf_counter() - step
    finally:
        writer.close()
    data.rows = dict(writer.counts)
    data.seconds = timings
    return data


def _clients_and_contacts(engine: sa.Engine, writer: BulkWriter, gen: Generator, sizes: Sizes,
                          data: Dataset, salespeople: list[int], groups: dict[str, int],
                          client_types: dict[str, int]) -> list[list[int]]:
    """Clients with an address and groups, persons and their links; returns the person ids
    of every new client (by position)."""
    rng = gen.rng
    now = gen.now
    client_base = _max_id(engine, Client.__table__)
    person_base = _max_id(engine, Person.__table__)
    link_base = _max_id(engine, ClientPerson.__table__)
    address_base = _max_id(engine, Address.__table__)
    with engine.connect() as conn:
        number_base = conn.scalar(sa.select(sa.func.max(Client.__table__.c.number)).where(
            Client.__table__.c.tenant_id == gen.tenant_id)) or 0
    type_names = list(client_types)
    type_weights = [words.TYPE_SHARES.get(n, 5) for n in type_names]
    # 8% private persons (one contact: themselves); the companies share the other contacts,
    # 1-6 each, so that there are sizes.contacts persons in all.
    private = [rng.random() < 0.08 for _ in range(sizes.clients)]
    per_client = [1] * sizes.clients
    companies_at = [i for i, p in enumerate(private) if not p]
    extra = max(0, sizes.contacts - sizes.clients)
    if companies_at:
        for index in rng.choices(companies_at, k=extra):
            per_client[index] += 1
    client_persons: list[list[int]] = []
    person_id = person_base
    link_id = link_base
    address_id = address_base
    today = now.astimezone(TZ).date()
    client_cols = ("id", "tenant_id", "number", "kind", "name", "registry_code", "vat_number",
                   "iban", "bic", "phone", "mobile", "email", "invoice_email", "website",
                   "registered_on", "client_type_id", "salesperson_id", "language",
                   "sales_blocked", "email_consent", "active", "name_search", "search_text",
                   "created_at", "payment_term_days")
    person_cols = ("id", "tenant_id", "first_name", "last_name", "title", "mobile", "email",
                   "birthday", "birthday_md", "personal_code", "email_consent", "name_search",
                   "created_at")
    link_cols = ("id", "tenant_id", "client_id", "person_id", "role", "is_primary",
                 "receives_invoices")
    address_cols = ("id", "tenant_id", "client_id", "kind", "street", "city", "county",
                    "postal_code", "country")
    group_cols = ("tenant_id", "client_id", "group_id")
    group_names = [g for g in ("Püsiklient", "Juhuklient", "Suurklient", "Kuldklient")
                   if g in groups]
    for start in range(0, sizes.clients, BATCH // 4):
        stop = min(sizes.clients, start + BATCH // 4)
        clients, persons, links, addresses, group_links = [], [], [], [], []
        names_of: dict[int, list[str]] = {}
        pairs: set[tuple[int, int]] = set()
        for index in range(start, stop):
            client_id = client_base + index + 1
            names_of[client_id] = []
            ids: list[int] = []
            if not private[index]:
                name, form = gen.company_name()
                code = gen.unique(
                    lambda f=form: words.registry_code(rng, "8" if f == "MTÜ" else "1"),
                    gen.used_codes)
                vat = gen.unique(lambda: words.vat_number(rng), gen.used_vats) \
                    if form != "MTÜ" and rng.random() < 0.8 else None
                domain = f"{words.slug(name.rsplit(' ', 1)[0])}.ee"
            for k in range(per_client[index]):
                person_id += 1
                link_id += 1
                p = words.person_data(rng, today)
                full = f"{p.first_name} {p.last_name}"
                if private[index]:
                    p.birthday = p.birthday or today - dt.timedelta(
                        days=rng.randrange(9000, 25000))
                    personal = gen.unique(
                        lambda b=p.birthday, f=p.female: words.personal_code(rng, b, f),
                        gen.used_codes)
                    email = words.person_email(p.first_name, p.last_name,
                                               rng.choice(words.PRIVATE_MAIL))
                    role, title = "", None
                else:
                    personal = None
                    email = words.person_email(p.first_name, p.last_name, domain)
                    role = words.BOARD_ROLE if k == 0 and rng.random() < 0.4 \
                        else rng.choice(words.ROLES)
                    title = rng.choice(words.JOB_TITLES)
                persons.append((
                    person_id, gen.tenant_id, p.first_name, p.last_name, title,
                    words.mobile(rng), email, p.birthday,
                    p.birthday.strftime("%m-%d") if p.birthday else None, personal,
                    rng.random() < 0.5, fold(full), now))
                links.append((link_id, gen.tenant_id, client_id, person_id, role, k == 0,
                              private[index] or role == "raamatupidaja"))
                pairs.add((client_id, person_id))
                names_of[client_id].append(fold(full))
                ids.append(person_id)
            client_persons.append(ids)
            if private[index]:
                row = persons[-1]
                client = _client_row(gen, client_id, number_base + index + 1, "person",
                                     f"{row[2]} {row[3]}", row[9], None, row[6], salespeople,
                                     client_types.get("Ostja"), today)
            else:
                type_id = client_types[rng.choices(type_names, type_weights)[0]] \
                    if type_names else None
                client = _client_row(gen, client_id, number_base + index + 1, "company", name,
                                     code, vat, f"info@{domain}", salespeople, type_id, today)
            clients.append(client)
            town, county, codes, _prefix = rng.choices(words.TOWNS, words.TOWN_WEIGHTS)[0]
            address_id += 1
            addresses.append((address_id, gen.tenant_id, client_id, "billing",
                              f"{rng.choice(words.STREETS)} {rng.randrange(1, 150)}", town,
                              county, rng.choice(codes), "EE"))
            chosen = {group_names[0] if rng.random() < 0.55 else group_names[1]} \
                if len(group_names) >= 2 else set(group_names)
            if rng.random() < 0.1 and len(group_names) > 2:
                chosen.add(group_names[2])
            if rng.random() < 0.08 and len(group_names) > 3:
                chosen.add(group_names[3])
            group_links.extend((gen.tenant_id, client_id, groups[g]) for g in sorted(chosen))
        # About 5% of the persons also sit on the board of another company of the batch.
        companies = [c for c in clients if c[3] == "company"]
        for _ in range(len(persons) // 20):
            person = rng.choice(persons)
            if person[9] is not None or not companies:
                continue
            client = rng.choice(companies)
            if (client[0], person[0]) in pairs:
                continue
            pairs.add((client[0], person[0]))
            link_id += 1
            links.append((link_id, gen.tenant_id, client[0], person[0], words.BOARD_ROLE,
                          False, False))
            names_of[client[0]].append(person[11])
        clients = [_with_search(row, names_of[row[0]]) for row in clients]
        writer.write(Client.__table__, client_cols, clients)
        writer.write(ClientSearchToken.__table__, ("tenant_id", "client_id", "token", "is_name"),
                     [(row[1], row[0], token, is_name) for row in clients
                      for token, is_name in search_tokens(row[22], row[21]).items()])
        writer.write(Person.__table__, person_cols, persons)
        writer.write(ClientPerson.__table__, link_cols, links)
        writer.write(Address.__table__, address_cols, addresses)
        writer.write(ClientGroupLink.__table__, group_cols, group_links)
        data.client_ids.extend(row[0] for row in clients)
    return client_persons


def _client_row(gen: Generator, client_id: int, number: int, kind: str, name: str,
                code: str | None, vat: str | None, email: str | None, salespeople: list[int],
                type_id: int | None, today: dt.date) -> tuple:
    rng = gen.rng
    account, bic = words.iban(rng) if kind == "company" and rng.random() < 0.8 else (None, None)
    prefix = rng.choice(words.TOWNS)[3]
    return (
        client_id, gen.tenant_id, number, kind, name, code, vat, account, bic,
        words.landline(rng, prefix) if kind == "company" else None,
        words.mobile(rng) if kind == "person" or rng.random() < 0.5 else None,
        email, None, f"www.{email.split('@')[1]}" if kind == "company" and email
        and rng.random() < 0.6 else None,
        today - dt.timedelta(days=rng.randrange(100, 9000)), type_id,
        rng.choice(salespeople), "et" if rng.random() < 0.93 else "en", rng.random() < 0.02,
        rng.random() < 0.5, rng.random() > 0.05, "", "", gen.now,
        rng.choice((None, 7, 14, 21, 30)),
    )


def _with_search(row: tuple, contact_names: list[str]) -> tuple:
    """The client row with ``name_search`` and ``search_text`` as ``refresh_search`` sets
    them (same parts, same order)."""
    (_id, _tenant, _number, _kind, name, code, vat, _iban, _bic, phone, mobile, email,
     invoice_email, *_rest) = row
    name_search = fold(name)
    parts = [name_search, (code or "").lower(), (vat or "").lower(), digits(phone),
             digits(mobile), fold(email), fold(invoice_email), *contact_names]
    search_text = PART_SEPARATOR.join(p for p in parts if p)
    return (*row[:21], name_search, search_text, *row[23:])


def _activities(engine: sa.Engine, writer: BulkWriter, gen: Generator, sizes: Sizes,
                data: Dataset, client_persons: list[list[int]], performers: list[int],
                activity_types: list[ActivityType]) -> None:
    """``sizes.activities`` activities over the past three years and the next four weeks,
    on working days between 08:00 and 17:00 local time; busy clients get more."""
    rng = gen.rng
    now = gen.now
    base = _max_id(engine, Activity.__table__)
    with engine.connect() as conn:
        number_base = conn.scalar(sa.select(sa.func.max(Activity.__table__.c.number)).where(
            Activity.__table__.c.tenant_id == gen.tenant_id)) or 0
        salesperson_of = dict(conn.execute(
            sa.select(Client.__table__.c.id, Client.__table__.c.salesperson_id)
            .where(Client.__table__.c.tenant_id == gen.tenant_id)).all())
    codes = [t for t in activity_types if t.code in words.TYPE_WEIGHTS]
    type_weights = list(itertools.accumulate(words.TYPE_WEIGHTS[t.code] for t in codes))
    # Working days in the range, with midnight in UTC (the offset changes with DST).
    today = now.astimezone(TZ).date()
    days = [today + dt.timedelta(days=d) for d in range(-PAST_DAYS, FUTURE_DAYS + 1)]
    days = [_local_day_start_utc(d) for d in days if d.weekday() < 5]
    clients = data.client_ids
    # A heavy tail: a few clients get many activities (weights 1..50, Pareto-like).
    client_weights = list(itertools.accumulate(
        min(50.0, rng.paretovariate(1.3)) for _ in clients))
    cols = ("id", "tenant_id", "number", "name", "client_id", "person_id", "type_id",
            "status", "performer_id", "starts_at", "ends_at", "estimated_minutes",
            "actual_minutes", "kilometres", "created_by_id", "created_at")
    activity_id = base
    number = number_base
    soon = now + dt.timedelta(hours=1)
    for start in range(0, sizes.activities, BATCH):
        rows = []
        for _ in range(min(BATCH, sizes.activities - start)):
            activity_id += 1
            number += 1
            position = bisect.bisect(client_weights, rng.random() * client_weights[-1])
            position = min(position, len(clients) - 1)
            client_id = clients[position]
            kind = codes[bisect.bisect(type_weights, rng.random() * type_weights[-1])]
            midnight = days[rng.randrange(len(days))]
            starts = midnight + dt.timedelta(minutes=rng.randrange(8 * 4, 17 * 4) * 15)
            estimated = kind.default_minutes or 30
            if starts < now:
                roll = rng.random()
                status = "done" if roll < 0.9 else "cancelled" if roll < 0.97 else "planned"
            else:
                status = "planned" if starts > soon else "in_progress"
            actual = max(5, int(estimated * rng.uniform(0.6, 1.6)) // 5 * 5) \
                if status == "done" else None
            performer = salesperson_of.get(client_id) if rng.random() < 0.75 else None
            performer = performer or rng.choice(performers)
            persons = client_persons[position]
            rows.append((
                activity_id, gen.tenant_id, number,
                rng.choice(words.ACTIVITY_NAMES[kind.code]), client_id,
                rng.choice(persons) if persons else None, kind.id, status, performer,
                starts, starts + dt.timedelta(minutes=actual or estimated), estimated, actual,
                Decimal(rng.randrange(4, 180)) if kind.requires_kilometres else None,
                performer, min(starts, now),
            ))
        writer.write(Activity.__table__, cols, rows)


def main(argv: list[str] | None = None) -> int:
    """Command line: build the data set and print what was made."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--path", type=Path, help="SQLite file to (re)create")
    parser.add_argument("--keep", action="store_true",
                        help="keep the PostgreSQL database (a SQLite file needs --path)")
    parser.add_argument("--clients", type=int, default=Sizes.clients)
    parser.add_argument("--contacts", type=int, default=Sizes.contacts)
    parser.add_argument("--activities", type=int, default=Sizes.activities)
    args = parser.parse_args(argv)
    sizes = Sizes(args.clients, max(args.contacts, args.clients), args.activities)
    with fresh_database(args.db, args.path, args.keep) as url:
        started = time.perf_counter()
        data = build(url, sizes)
        total = time.perf_counter() - started
        print(f"{url}: {data.rows} in {total:.1f} s "
              + ", ".join(f"{k} {v:.1f} s" for k, v in data.seconds.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
