"""Bank statement import: a camt.053 with 10 000 entries against 100 000 open invoices,
parsed, stored, matched and applied, on SQLite and PostgreSQL; time, memory and how many
payments were matched automatically (and to the right invoice).

    .venv/bin/python bench/bank_bench.py                          # both databases, full size
    .venv/bin/python bench/bank_bench.py --quick                  # smoke run: 5 000 / 500
    .venv/bin/python bench/bank_bench.py --db sqlite --profile    # plus a cProfile of it
    .venv/bin/python bench/bank_bench.py --db postgresql --clients 40000 --invoices 200000 \\
        --entries 20000

**The data set** (a fresh database per kind, as :func:`bench.crm_dataset.fresh_database`
makes it): one tenant with ``crm_register``, ``invoicing`` and ``bank_import`` enabled, an
accountant, the company's bank account, ``--clients`` companies (valid registry and VAT
numbers, about 40 % with an IBAN, their search tokens as ``refresh_search`` makes them)
and ``--invoices`` confirmed, unpaid invoices (numbers of the default series, Estonian
reference numbers as ``confirm`` makes them, totals with VAT, due dates over the last 120
days, a frozen buyer snapshot), written with Core ``insert`` of lists of dicts in batches.

**The statement** (:func:`plugins.bank_import.tests.statement_builder.build_camt053`):
``--entries`` booked entries over the last 30 days, each with the bank's own reference:
60 % pay an open invoice by its reference number (85 % the exact amount, 8 % a part, 7 %
more; most in the structured field, some as RF, some written in the text), 10 % name the
invoice number in the text, 10 % come from a client's registered IBAN with the exact
amount of one of its open invoices and no reference, 10 % from unknown payers (a fifth of
them with an order number in the text), 5 % outgoing payments, 5 % bank fees.

**The measurements**, each in a fresh Python process with a fresh engine and session
(``import_file`` as the upload view calls it, the tenant scope and user set): parsing
alone (plain and under ``tracemalloc``); the import under ``tracemalloc`` (for the memory
peak) and, with ``--profile``, under ``cProfile``; the timed import ``--repeat`` times,
committed (all but the last on copies of the database, the last on the database as built,
with its phases, SQL by kind of statement, CPU time and peak RSS); then the same file
again (every entry a duplicate), once at once and once after ``ANALYZE``. Which payments
were matched is checked against what the generator meant. Results are printed and written
to ``bench/results/bank-<timestamp>.json`` (git-ignored) with a hash of the code measured.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import functools
import hashlib
import io
import itertools
import json
import os
import platform
import pstats
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from bench import crm_dataset  # noqa: E402
from core import migrate  # noqa: E402
from core.db import make_engine, make_session_factory, tenant_scope  # noqa: E402
from core.models import User  # noqa: E402
from core.plugins import PluginSet  # noqa: E402
from core.tenancy import create_tenant  # noqa: E402
from plugins.crm_register import demo as words  # noqa: E402
from plugins.crm_register.search import PART_SEPARATOR, fold, search_tokens  # noqa: E402

RESULTS_DIR = REPO / "bench" / "results"
SEED = 20261124
TARGET_SECONDS = 10.0
BATCH = 10_000
COMPANY_IBAN = "EE382200221020145685"
STATEMENT_DAYS = 30
DUE_DAYS = 120
IBAN_SHARE = 0.4
"""Clients with an IBAN in the register."""
MIX = (("reference", 0.60), ("invoice number", 0.10), ("payer IBAN", 0.10),
       ("unknown payer", 0.10), ("outgoing", 0.05), ("bank fee", 0.05))
"""The kinds of entries of the statement and their shares."""
SUFFIXES = ("", "", "", " Grupp", " Teenused", " Invest", " Partnerid", " Lahendused",
            " Keskus", " Eesti", " Baltic", " Tootmine", " Hulgi", " Kaubandus")
UNKNOWN_TEXTS = ("annetus", "laenu tagasimakse", "üür", "tagastus", "sissemakse",
                 "Ülekanne", "toetus", "")
PLUGINS = ["crm_register", "invoicing", "bank_import"]


@dataclass(frozen=True)
class Sizes:
    """How much data: clients and open invoices in the database, entries in the file."""

    clients: int = 20_000
    invoices: int = 100_000
    entries: int = 10_000


QUICK = Sizes(clients=2_000, invoices=5_000, entries=500)


class ClientRow(NamedTuple):
    """A generated client, as the statement generator needs it."""

    id: int
    name: str
    iban: str | None


class InvoiceRow(NamedTuple):
    """A generated open invoice, as the statement generator needs it."""

    id: int
    client_id: int
    number: str
    reference: str
    total: Decimal


@dataclass
class Dataset:
    """What :func:`build_dataset` made."""

    url: str
    tenant_id: int
    user_id: int
    clients: list[ClientRow]
    invoices: list[InvoiceRow]
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


class Expected(NamedTuple):
    """What an entry of the generated statement is meant to be."""

    kind: str
    detail: str
    invoice_id: int | None


# --- the data set ------------------------------------------------------------------------

def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]],
            counts: dict[str, int]) -> None:
    """Core ``insert`` of ``rows`` (dicts with the same keys) in batches."""
    for start in range(0, len(rows), BATCH):
        conn.execute(sa.insert(table), rows[start:start + BATCH])
    counts[table.name] = counts.get(table.name, 0) + len(rows)


def _tenant(engine: sa.Engine, plugins: PluginSet) -> tuple[int, int, int]:
    """The tenant with the plugins, an accountant and the bank account; returns the tenant
    id, the user id and the id of the invoice series."""
    from plugins.bank_import.models import BankAccount
    from plugins.invoicing.models import Series, Settings

    session = make_session_factory(engine)()
    with session, session.begin():
        tenant = create_tenant(session, plugins, name="Pangabench OÜ", slug="bankbench",
                               hosts=["bank.bench.test"], plugin_names=PLUGINS)
        with tenant_scope(session, tenant.id):
            user = User(name="Raamatupidaja", email="accountant@bank.bench.test",
                        role="accountant", password_hash="!")  # noqa: S106 - no login
            session.add(user)
            settings = session.scalar(sa.select(Settings))
            settings.seller_name, settings.registry_code = "Pangabench OÜ", "12345678"
            settings.vat_number, settings.iban = "EE101234568", COMPANY_IBAN
            settings.bic, settings.bank_name = "HABAEE2X", "Swedbank"
            if session.scalar(sa.select(BankAccount.id)) is None:
                session.add(BankAccount(iban=COMPANY_IBAN, currency="EUR", name="Swedbank"))
            session.flush()
            series_id = session.scalar(sa.select(Series.id).where(Series.code == "invoice"))
            return tenant.id, user.id, series_id


def _company_name(rng: random.Random) -> str:
    stem = rng.choice(words.NAME_STEMS) if rng.random() < 0.7 else rng.choice(words.SURNAMES)
    return (f"{stem} {rng.choice(words.TRADES)}{rng.choice(SUFFIXES)} "
            f"{rng.choice(words.LEGAL_FORMS)}")


def _unique(make: Callable[[], str], used: set[str]) -> str:
    value = make()
    while value in used:
        value = make()
    used.add(value)
    return value


def _clients(conn: sa.Connection, rng: random.Random, tenant_id: int, count: int,
             now: dt.datetime, counts: dict[str, int]) -> list[ClientRow]:
    """``count`` companies with their search tokens; about 40 % with an IBAN."""
    from plugins.crm_register.models import Client, ClientSearchToken

    base = conn.scalar(sa.select(sa.func.max(Client.__table__.c.id))) or 0
    used_codes: set[str] = set()
    used_vats: set[str] = set()
    used_ibans: set[str] = {COMPANY_IBAN}
    rows: list[dict[str, Any]] = []
    tokens: list[dict[str, Any]] = []
    made: list[ClientRow] = []
    for index in range(count):
        client_id = base + index + 1
        name = _company_name(rng)
        code = _unique(lambda: words.registry_code(rng), used_codes)
        vat = _unique(lambda: words.vat_number(rng), used_vats) if rng.random() < 0.8 else None
        iban, bic = (None, None)
        if rng.random() < IBAN_SHARE:
            iban, bic = words.iban(rng)
            while iban in used_ibans:
                iban, bic = words.iban(rng)
            used_ibans.add(iban)
        email = f"info@{words.slug(name.rsplit(' ', 1)[0])}.ee"
        name_search = fold(name)
        search_text = PART_SEPARATOR.join(
            p for p in (name_search, code, (vat or "").lower(), fold(email)) if p)
        rows.append({
            "id": client_id, "tenant_id": tenant_id, "number": index + 1, "kind": "company",
            "name": name, "registry_code": code, "vat_number": vat, "iban": iban, "bic": bic,
            "email": email, "language": "et", "sales_blocked": False, "email_consent": False,
            "active": True, "name_search": name_search, "search_text": search_text,
            "created_at": now, "payment_term_days": None,
        })
        tokens.extend({"tenant_id": tenant_id, "client_id": client_id, "token": token,
                       "is_name": is_name}
                      for token, is_name in search_tokens(search_text, name_search).items())
        made.append(ClientRow(client_id, name, iban))
    _insert(conn, Client.__table__, rows, counts)
    _insert(conn, ClientSearchToken.__table__, tokens, counts)
    return made


def _invoices(conn: sa.Connection, rng: random.Random, tenant_id: int, user_id: int,
              series_id: int, clients: Sequence[ClientRow], count: int, now: dt.datetime,
              counts: dict[str, int]) -> list[InvoiceRow]:
    """``count`` confirmed unpaid invoices (a few clients have many), numbered in issue
    order as the default series numbers them."""
    from plugins.invoicing import references
    from plugins.invoicing.models import Invoice

    today = now.date()
    base = conn.scalar(sa.select(sa.func.max(Invoice.__table__.c.id))) or 0
    weights = list(itertools.accumulate(min(30.0, rng.paretovariate(1.5)) for _ in clients))
    owners = rng.choices(clients, cum_weights=weights, k=count)
    plans = []
    for client in owners:
        term = rng.choice((7, 14, 14, 14, 21, 30))
        due = today - dt.timedelta(days=rng.randrange(DUE_DAYS))
        plans.append((due - dt.timedelta(days=term), due, term, client))
    plans.sort(key=lambda plan: plan[0])
    seller = {"name": "Pangabench OÜ", "registry_code": "12345678",
              "vat_number": "EE101234568", "street": "Narva mnt 5", "city": "Tallinn",
              "postal_code": "10117", "country": "EE", "email": "arved@bank.bench.test",
              "phone": None}
    bank = {"iban": COMPANY_IBAN, "bic": "HABAEE2X", "bank_name": "Swedbank"}
    rows: list[dict[str, Any]] = []
    made: list[InvoiceRow] = []
    for sequence, (issued, due, term, client) in enumerate(plans, start=1):
        net = Decimal(rng.randrange(1_000, 400_000)) / 100
        vat = Decimal(0) if rng.random() < 0.1 else (net * Decimal("0.24")).quantize(
            Decimal("0.01"))
        total = net + vat
        number = f"{sequence:04d}"
        reference = references.make_reference(f"{sequence}1")
        sent = rng.random() < 0.3
        confirmed = dt.datetime.combine(issued, dt.time(10), tzinfo=dt.UTC)
        rows.append({
            "id": base + sequence, "tenant_id": tenant_id, "kind": "invoice",
            "status": "sent" if sent else "confirmed", "series_id": series_id,
            "sequence": sequence, "number": number, "client_id": client.id,
            "language": "et", "issue_date": issued, "due_date": due,
            "payment_term_days": term, "reference_number": reference, "currency": "EUR",
            "discount_percent": Decimal(0), "total_net": net, "total_vat": vat,
            "total": total, "paid_amount": Decimal(0),
            "snapshot": {"seller": seller, "buyer": {
                "name": client.name, "registry_code": None, "vat_number": None,
                "is_person": False, "street": "Tööstuse 12", "city": "Tartu",
                "postal_code": "50105", "county": "Tartu maakond", "country": "EE",
                "email": None, "phone": None}, "bank": bank, "footer": None},
            "confirmed_at": confirmed, "confirmed_by_id": user_id,
            "sent_at": confirmed if sent else None, "created_by_id": user_id,
            "created_at": confirmed,
        })
        made.append(InvoiceRow(base + sequence, client.id, number, reference, total))
    _insert(conn, Invoice.__table__, rows, counts)
    return made


def build_dataset(url: str, sizes: Sizes, seed: int = SEED,
                  log: Callable[[str], None] = print) -> Dataset:
    """Migrate the empty database at ``url`` and fill it (see the module's docstring)."""
    from plugins.crm_register.models import Client, Counter
    from plugins.invoicing.models import Invoice, Series

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    plugins = PluginSet.discover().load()
    migrate.upgrade(url, plugins)
    engine = make_engine(url)
    try:
        tenant_id, user_id, series_id = _tenant(engine, plugins)
        seconds["migrate and tenant"] = time.perf_counter() - started
        rng = random.Random(seed)  # noqa: S311 - test data, not secrets
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        counts: dict[str, int] = {}
        step = time.perf_counter()
        with engine.begin() as conn:
            clients = _clients(conn, rng, tenant_id, sizes.clients, now, counts)
        seconds["clients"] = time.perf_counter() - step
        log(f"  {sizes.clients} clients with search tokens: {seconds['clients']:.1f} s")
        step = time.perf_counter()
        with engine.begin() as conn:
            invoices = _invoices(conn, rng, tenant_id, user_id, series_id, clients,
                                 sizes.invoices, now, counts)
        seconds["invoices"] = time.perf_counter() - step
        log(f"  {sizes.invoices} open invoices: {seconds['invoices']:.1f} s")
        step = time.perf_counter()
        crm_dataset._fix_sequences(engine, [Client.__table__, Invoice.__table__])
        with engine.begin() as conn:
            conn.execute(sa.update(Series.__table__).where(Series.__table__.c.id == series_id)
                         .values(last_number=sizes.invoices))
            conn.execute(sa.update(Counter.__table__).where(
                Counter.__table__.c.tenant_id == tenant_id, Counter.__table__.c.name == "client")
                .values(value=sizes.clients))
            if engine.dialect.name == "sqlite":
                conn.execute(sa.text("ANALYZE"))
        if engine.dialect.name == "postgresql":  # as autovacuum leaves a long-lived database
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        seconds["sequences and analyze"] = time.perf_counter() - step
    finally:
        engine.dispose()
    return Dataset(url, tenant_id, user_id, clients, invoices, counts, seconds)


# --- the statement -----------------------------------------------------------------------

def _payer_name(rng: random.Random, name: str) -> str:
    """How banks show a company's name: as registered, folded upper case without
    diacritics ("POLDMA EHITUS OU"), or with the legal form first ("OÜ Põldma Ehitus")."""
    roll = rng.random()
    if roll < 0.5:
        return fold(name).upper()
    if roll < 0.7:
        stem, _, form = name.rpartition(" ")
        return f"{form} {stem}"
    return name


def _person_name(rng: random.Random) -> str:
    first = rng.choice(words.MALE_NAMES + words.FEMALE_NAMES)
    return f"{first} {rng.choice(words.SURNAMES)}".upper()


def _counts(total: int) -> dict[str, int]:
    """How many entries of each kind of :data:`MIX` (the rounding goes to the first)."""
    counts = {kind: int(total * share) for kind, share in MIX}
    counts[MIX[0][0]] += total - sum(counts.values())
    return counts


def statement_entries(data: Dataset, total: int, seed: int = SEED) -> tuple[
        list[Any], dict[str, Expected]]:
    """The entries of the statement in booking order, and what each is meant to be (by the
    bank's reference of the entry)."""
    from plugins.bank_import.statements import ParsedEntry
    from plugins.invoicing import references

    rng = random.Random(seed + 1)  # noqa: S311 - test data, not secrets
    counts = _counts(total)
    today = dt.date.today()
    clients = {c.id: c for c in data.clients}
    pool = list(data.invoices)
    rng.shuffle(pool)
    needed = counts["reference"] + counts["invoice number"] + counts["payer IBAN"]
    if needed > len(pool):
        raise SystemExit(f"{needed} entries pay an invoice each; there are only "
                         f"{len(pool)} invoices")
    by_reference = pool[:counts["reference"]]
    by_number = pool[counts["reference"]:counts["reference"] + counts["invoice number"]]
    rest = pool[counts["reference"] + counts["invoice number"]:]
    by_iban = [inv for inv in rest if clients[inv.client_id].iban][:counts["payer IBAN"]]
    planned: list[tuple[dict[str, Any], Expected]] = []

    def payer(invoice: InvoiceRow) -> dict[str, Any]:
        client = clients[invoice.client_id]
        account = client.iban or words.iban(rng)[0]
        return {"counterparty_name": _payer_name(rng, client.name),
                "counterparty_account": account}

    for invoice in by_reference:
        roll = rng.random()
        if roll < 0.85:
            detail, amount = "exact", invoice.total
        elif roll < 0.93:
            detail = "partial"
            amount = (invoice.total * Decimal(rng.uniform(0.2, 0.8))).quantize(Decimal("0.01"))
        else:
            detail = "over"
            amount = invoice.total + Decimal(rng.randrange(100, 5_000)) / 100
        form = rng.random()
        fields = payer(invoice)
        if form < 0.88:
            fields["reference"] = invoice.reference
            fields["description"] = f"Arve nr {invoice.number}" if rng.random() < 0.5 \
                else rng.choice(("arve tasumine", "Tasumine", "makse", ""))
        elif form < 0.94:
            fields["reference"] = references.rf_from_estonian(invoice.reference)
            fields["description"] = "Invoice payment"
            detail += ", RF"
        else:
            fields["description"] = f"viitenumber {references.display(invoice.reference)}"
            detail += ", in the text"
        planned.append(({"amount": amount, **fields},
                        Expected("reference", detail, invoice.id)))
    for invoice in by_number:
        text = rng.choice(("Arve {}", "arve nr. {}", "Tasumine arve {} eest", "ARVE NR {}",
                           "arved {}, aitäh"))
        planned.append(({"amount": invoice.total, "description": text.format(invoice.number),
                         **payer(invoice)}, Expected("invoice number", "exact", invoice.id)))
    for invoice in by_iban:
        client = clients[invoice.client_id]
        planned.append(({"amount": invoice.total, "counterparty_name": client.name.upper(),
                         "counterparty_account": client.iban,
                         "description": rng.choice(("arve tasumine", "ülekanne", "makse"))},
                        Expected("payer IBAN", "exact", invoice.id)))
    missing = counts["payer IBAN"] - len(by_iban)
    counts["unknown payer"] += missing  # only with very few clients having an IBAN
    for _ in range(counts["unknown payer"]):
        with_order = rng.random() < 0.2
        text = f"Tellimus {rng.randrange(1_000, 99_999)}" if with_order \
            else rng.choice(UNKNOWN_TEXTS)
        planned.append(({"amount": Decimal(rng.randrange(500, 200_000)) / 100,
                         "counterparty_name": _person_name(rng),
                         "counterparty_account": words.iban(rng)[0], "description": text},
                        Expected("unknown payer", "order number in the text" if with_order
                                 else "", None)))
    for _ in range(counts["outgoing"]):
        planned.append(({"amount": Decimal(rng.randrange(2_000, 800_000)) / 100,
                         "credit": False, "counterparty_name": _company_name(rng),
                         "counterparty_account": words.iban(rng)[0],
                         "description": f"Arve {rng.randrange(100, 99_999)}"},
                        Expected("outgoing", "", None)))
    for _ in range(counts["bank fee"]):
        planned.append(({"amount": Decimal(rng.randrange(10, 500)) / 100, "credit": False,
                         "fee": True, "description": rng.choice(("Teenustasu", "Kuutasu"))},
                        Expected("bank fee", "", None)))
    dated = [(today - dt.timedelta(days=rng.randrange(STATEMENT_DAYS)), rng.random(), item)
             for item in planned]
    dated.sort(key=lambda d: (d[0], d[1]))
    entries = []
    expected: dict[str, Expected] = {}
    for number, (day, _, (fields, meant)) in enumerate(dated, start=1):
        bank_reference = f"{day:%Y%m%d}{number:08d}"
        fields = dict(fields)
        credit = fields.pop("credit", True)
        entries.append(ParsedEntry(currency="EUR", booking_date=day, value_date=day,
                                   bank_reference=bank_reference, credit=credit,
                                   end_to_end_id=f"E2E{number:010d}" if credit else None,
                                   **fields))
        expected[bank_reference] = meant
    return entries, expected


# --- the measured process ----------------------------------------------------------------

def _rss_mib() -> float:
    """The peak resident set size of this process so far, in MiB: ``VmHWM`` of
    ``/proc/self/status`` where there is one. (``ru_maxrss`` is no use in the measured
    child: Linux carries the parent's peak over ``fork`` and ``exec``, and the parent holds
    the generated data set.)"""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _statement_kind(statement: str) -> str:
    """"SELECT ... FROM inv_invoice", "UPDATE bank_transaction", "INSERT INTO core_audit":
    what a statement does to which table, for the SQL time by kind."""
    words = statement.split()
    verb = words[0].upper() if words else ""
    if verb == "SELECT":
        upper = [w.upper() for w in words]
        table = words[upper.index("FROM") + 1] if "FROM" in upper else ""
        return f"SELECT ... FROM {table}"  # noqa: S608 - a label, not SQL
    if verb in ("INSERT", "DELETE") and len(words) > 2:
        return f"{verb} {words[1].upper()} {words[2]}"
    if verb == "UPDATE" and len(words) > 1:
        return f"UPDATE {words[1]}"
    return verb


class Phases:
    """Time spent in named functions (wrapped in place), in flushes and in SQL."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.statements: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        """Executions and seconds by kind of statement (see :func:`_statement_kind`)."""
        self._undo: list[tuple[Any, str, Any]] = []
        self._active: Counter[str] = Counter()

    def wrap(self, owner: Any, name: str, label: str) -> None:
        """Replace ``owner.name`` by a timed wrapper (until :meth:`restore`); nothing when
        there is no such function (the code measured has changed)."""
        original = getattr(owner, name, None)
        if original is None:
            return

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._active[label]:  # one wrapped function calling another of the label
                return original(*args, **kwargs)
            self._active[label] += 1
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
                self.calls[label] += 1
                self._active[label] -= 1

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def listen(self, engine: sa.Engine, session: Any) -> None:
        """Count SQL statements and their time on ``engine``, flushes on ``session``."""
        marks: dict[str, float] = {}

        @sa.event.listens_for(engine, "before_cursor_execute")
        def before(*_args: Any) -> None:
            marks["sql"] = time.perf_counter()

        @sa.event.listens_for(engine, "after_cursor_execute")
        def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            spent = time.perf_counter() - marks.pop("sql")
            self.seconds["sql"] += spent
            self.calls["sql"] += 1
            kind = _statement_kind(statement)
            self.statements[kind][0] += 1
            self.statements[kind][1] += spent

        @sa.event.listens_for(session, "before_flush")
        def flush_starts(*_args: Any) -> None:
            marks["flush"] = time.perf_counter()

        @sa.event.listens_for(session, "after_flush_postexec")
        def flush_ends(*_args: Any) -> None:
            self.seconds["flush"] += time.perf_counter() - marks.pop("flush")
            self.calls["flush"] += 1

    def restore(self) -> None:
        """Put the wrapped functions back."""
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


AREAS = (("sqlalchemy", "/sqlalchemy/"), ("psycopg (driver)", "/psycopg/"),
         ("sqlite3 (driver)", "sqlite3"), ("lxml", "lxml"), ("audit log", "core/audit.py"),
         ("bank_import", "plugins/bank_import/"), ("invoicing", "plugins/invoicing/"),
         ("crm_register", "plugins/crm_register/"), ("core", "/core/"),
         ("decimal", "decimal"), ("json", "json"), ("hashlib", "hashlib"))


def _area(filename: str, function: str) -> str:
    """The package a profiled function belongs to (for the share of time by area)."""
    where = f"{filename} {function}"
    for area, needle in AREAS:
        if needle in where:
            return area
    return "other (stdlib, builtins)"


def _profile_summary(profiler: cProfile.Profile, path: Path, top: int = 30) -> dict[str, Any]:
    """Write the statistics to ``path`` (binary) and ``path.txt``; return the top
    functions by own and by cumulative time and the own time by area."""
    profiler.dump_stats(str(path))
    stats = pstats.Stats(profiler)
    text = io.StringIO()
    report = pstats.Stats(profiler, stream=text)
    report.sort_stats("tottime").print_stats(60)
    report.sort_stats("cumulative").print_stats(80)
    Path(f"{path}.txt").write_text(text.getvalue())
    rows = []
    areas: dict[str, float] = defaultdict(float)
    for (filename, line, function), (_cc, calls, own, cumulative, _callers) in \
            stats.stats.items():  # type: ignore[attr-defined]
        name = f"{Path(filename).name}:{line}({function})" if line else function
        if "site-packages" not in filename and filename.startswith(str(REPO)):
            name = f"{Path(filename).relative_to(REPO)}:{line}({function})"
        rows.append((name, calls, own, cumulative))
        areas[_area(filename, function)] += own
    total = stats.total_tt  # type: ignore[attr-defined]
    by_own = sorted(rows, key=lambda r: r[2], reverse=True)[:top]
    by_cumulative = sorted(rows, key=lambda r: r[3], reverse=True)[:top]
    return {"total_seconds": total, "file": str(path),
            "by_own_time": [list(r) for r in by_own],
            "by_cumulative_time": [list(r) for r in by_cumulative],
            "own_time_by_area": dict(sorted(areas.items(), key=lambda a: -a[1]))}


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement in this (fresh) process; ``spec`` says which (see :func:`measure`)."""
    from plugins.bank_import import importing, matching
    from plugins.bank_import.parsers import builtin_parsers

    migrate.import_models(PluginSet.discover())
    sa.orm.configure_mappers()
    parsers = builtin_parsers()
    path = Path(spec["file"])
    data = path.read_bytes()
    out: dict[str, Any] = {"mode": spec["mode"], "load_before": os.getloadavg(),
                           "code": code_version()}
    if spec["mode"] == "parse":
        rss = _rss_mib()
        if spec.get("trace"):
            tracemalloc.start()
        cpu = _cpu_seconds()
        started = time.perf_counter()
        parser = importing.parser_for(parsers, data, path.name)
        statements = parser.parse(data, path.name)
        out["seconds"] = time.perf_counter() - started
        out["cpu_seconds"] = _cpu_seconds() - cpu
        if spec.get("trace"):
            out["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        out["entries"] = sum(len(s.entries) for s in statements)
        out["rss_before_mib"], out["rss_peak_mib"] = rss, _rss_mib()
        out["load_after"] = os.getloadavg()
        return out
    engine = make_engine(spec["url"])
    session = make_session_factory(engine)()
    session.info["user_id"] = spec["user_id"]
    phases = Phases()
    with tenant_scope(session, spec["tenant_id"]):
        session.execute(sa.text("SELECT 1"))  # the connection is open, as in a request
        phases.listen(engine, session)
        phases.wrap(importing, "import_statements", "store, match, apply")
        phases.wrap(importing, "_store", "store")
        for owner in (importing, matching):  # whichever name the import calls
            for name in ("match_transactions", "match_payments"):
                phases.wrap(owner, name, "match and apply")
        phases.wrap(matching.MatchContext, "load", "match: read invoices, clients")
        phases.wrap(matching, "_load_invoice_objects", "match: load invoice objects")
        phases.wrap(matching, "allocate", "match: allocate")
        phases.wrap(matching, "_write", "match: write")
        profiler = cProfile.Profile() if spec.get("profile") else None
        rss = _rss_mib()
        if spec.get("trace"):
            tracemalloc.start()
        cpu = _cpu_seconds()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = importing.import_file(session, parsers, path.name, data,
                                       tenant_id=spec["tenant_id"], user_id=spec["user_id"])
        imported = time.perf_counter()
        if spec.get("commit"):
            session.commit()
        else:
            session.flush()
            session.rollback()
        if profiler:
            profiler.disable()
        finished = time.perf_counter()
        out["cpu_seconds"] = _cpu_seconds() - cpu
        if spec.get("trace"):
            out["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        out["rss_before_mib"], out["rss_peak_mib"] = rss, _rss_mib()
        phases.restore()
        out["seconds"] = finished - started
        out["import_file_seconds"] = imported - started
        out["commit_seconds" if spec.get("commit") else "rollback_seconds"] = \
            finished - imported
        out["phases"] = dict(phases.seconds)
        out["calls"] = dict(phases.calls)
        out["sql_by_kind"] = {kind: {"executions": int(n), "seconds": spent} for kind, (n, spent)
                              in sorted(phases.statements.items(), key=lambda i: -i[1][1])}
        out["entries_in_file"] = result.entries_in_file
        out["entries_new"] = result.entries_new
        out["applied"] = result.matching.applied
        out["suggested"] = result.matching.suggested
        out["unmatched"] = result.matching.unmatched
        out["statement_ids"] = [s.id for s in result.statements] if spec.get("commit") else []
        if profiler:
            out["profile"] = _profile_summary(profiler, Path(spec["profile"]))
    session.close()
    engine.dispose()
    out["load_after"] = os.getloadavg()
    return out


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run :func:`worker` with ``spec`` in a new Python process and return its result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,  # noqa: S603
                          check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"the {spec['mode']} measurement failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- checking the result -----------------------------------------------------------------

def check_matches(url: str, tenant_id: int, statement_ids: list[int],
                  expected: dict[str, Expected]) -> list[dict[str, Any]]:
    """Per kind of entry: how many were applied automatically (to the meant invoice or
    not), proposed for a person, or left without a proposal."""
    from plugins.bank_import.models import Allocation, BankTransaction

    engine = make_engine(url)
    session = make_session_factory(engine)()
    allocated: dict[int, set[int | None]] = defaultdict(set)
    with session, tenant_scope(session, tenant_id):
        rows = session.execute(sa.select(
            BankTransaction.id, BankTransaction.bank_reference, BankTransaction.state,
            BankTransaction.confidence, BankTransaction.suggestion)
            .where(BankTransaction.statement_id.in_(statement_ids)))
        transactions = rows.all()
        for transaction_id, invoice_id in session.execute(
                sa.select(Allocation.transaction_id, Allocation.invoice_id)
                .join(BankTransaction, BankTransaction.id == Allocation.transaction_id)
                .where(BankTransaction.statement_id.in_(statement_ids), Allocation.automatic)):
            allocated[transaction_id].add(invoice_id)
    engine.dispose()
    table: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for transaction_id, reference, state, confidence, suggestion in transactions:
        meant = expected[reference]
        counts = table[(meant.kind, meant.detail)]
        counts["entries"] += 1
        if transaction_id in allocated:
            counts["applied"] += 1
            right = meant.invoice_id is not None and meant.invoice_id in allocated[transaction_id]
            counts["applied to the meant invoice" if right else "applied elsewhere"] += 1
        elif state == "open" and confidence > 0:
            counts["proposed"] += 1
            proposed = {part.get("invoice_id") for part in suggestion or ()}
            if meant.invoice_id is not None and meant.invoice_id in proposed:
                counts["proposed the meant invoice"] += 1
            elif proposed - {None}:
                counts["proposed another invoice"] += 1
        elif state == "open":
            counts["no proposal"] += 1
        else:
            counts[state] += 1
    order = [kind for kind, _ in MIX]
    return [{"kind": kind, "detail": detail, **counts}
            for (kind, detail), counts in sorted(
                table.items(), key=lambda item: (order.index(item[0][0]), item[0][1]))]


# --- the benchmark -----------------------------------------------------------------------

@contextlib.contextmanager
def database_copy(url: str, workdir: Path, name: str) -> Iterator[str]:
    """A copy of the database at ``url`` (no connection to it may be open), removed
    afterwards: a copied SQLite file, or ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = workdir / f"{name}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{parsed.database}{suffix}")
            if source.exists():
                shutil.copyfile(source, f"{target}{suffix}")
        try:
            yield f"sqlite:///{target}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
        return
    copy = f"{parsed.database}_{name}"
    admin = sa.create_engine(crm_dataset.PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{copy}" TEMPLATE "{parsed.database}"'))
        try:
            yield parsed.set(database=copy).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
    finally:
        admin.dispose()


def bench_database(kind: str, sizes: Sizes, workdir: Path, profile: bool, repeat: int,
                   stamp: str) -> dict[str, Any]:
    """Build the data set on ``kind``, write the statement and run the measurements."""
    from plugins.bank_import.tests.statement_builder import build_camt053

    print(f"{kind}: building the data set ({sizes.clients} clients, {sizes.invoices} "
          f"invoices)", flush=True)
    out: dict[str, Any] = {"database": kind}
    with crm_dataset.fresh_database(kind) as url:
        started = time.perf_counter()
        data = build_dataset(url, sizes)
        out["dataset"] = {"seconds": time.perf_counter() - started, "steps": data.seconds,
                          "rows": data.rows}
        if kind == "postgresql":
            engine = sa.create_engine(url)
            with engine.connect() as conn:
                out["server"] = conn.scalar(sa.text("SHOW server_version"))
                out["database_mib"] = conn.scalar(sa.text(
                    "SELECT pg_database_size(current_database())")) / 2**20
            engine.dispose()
        else:
            out["server"] = sqlite3.sqlite_version
            out["database_mib"] = Path(sa.make_url(url).database).stat().st_size / 2**20
        started = time.perf_counter()
        entries, expected = statement_entries(data, sizes.entries)
        blob = build_camt053(COMPANY_IBAN, entries, statement_id=f"BENCH-{stamp}")
        out["statement"] = {"entries": len(entries), "bytes": len(blob),
                            "seconds_to_write": time.perf_counter() - started,
                            "kinds": dict(Counter(e.kind for e in expected.values()))}
        path = workdir / f"statement-{kind}.xml"
        path.write_bytes(blob)
        data.invoices, data.clients = [], []
        del entries, blob
        base = {"url": url, "tenant_id": data.tenant_id, "user_id": data.user_id,
                "file": str(path)}
        runs: dict[str, Any] = {}

        def step(name: str, spec: dict[str, Any], url: str = url) -> dict[str, Any]:
            print(f"{kind}: {name} ...", end=" ", flush=True)
            runs[name] = measure({**base, **spec, "url": url})
            print(f"{runs[name]['seconds']:.2f} s", flush=True)
            return runs[name]

        step("parse", {"mode": "parse"})
        step("parse, traced", {"mode": "parse", "trace": True})
        # Memory and profile on copies, so that the timed import finds the database as built.
        with database_copy(url, workdir, "traced") as copy:
            step("import, traced (on a copy)", {"mode": "import", "trace": True,
                                                "commit": True}, copy)
        if profile:
            RESULTS_DIR.mkdir(exist_ok=True)
            with database_copy(url, workdir, "profiled") as copy:
                step("import, profiled (on a copy)", {
                    "mode": "import", "commit": True,
                    "profile": str(RESULTS_DIR / f"bank-{kind}-{stamp}.prof")}, copy)
        for number in range(1, repeat):
            with database_copy(url, workdir, f"repeat{number}") as copy:
                step(f"import, repeat {number} (on a copy)", {"mode": "import",
                                                             "commit": True}, copy)
        first = step("import", {"mode": "import", "commit": True})
        seconds = sorted(run["seconds"] for name, run in runs.items()
                         if name == "import" or name.startswith("import, repeat"))
        out["import_seconds"] = {"runs": seconds, "median": statistics.median(seconds),
                                 "min": seconds[0], "max": seconds[-1]}
        out["matches"] = check_matches(url, data.tenant_id, first["statement_ids"], expected)
        step("import again (duplicates)", {"mode": "import", "commit": True})
        # The statistics still describe the bank tables as built (empty); autovacuum would
        # analyze them within a minute or so.
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
        engine.dispose()
        step("import again, after ANALYZE", {"mode": "import", "commit": True})
        out["runs"] = runs
    return out


def _spread(seconds: dict[str, Any]) -> str:
    text = f"**{seconds['median']:.1f}**"
    if len(seconds["runs"]) > 1:
        text += f" ({seconds['min']:.1f}-{seconds['max']:.1f})"
    return text


def _phase(phases: dict[str, float], name: str) -> str:
    """Seconds in a phase, "-" when the code measured has no such function."""
    return f"{phases[name]:.1f}" if name in phases else "-"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _load(run: dict[str, Any]) -> str:
    return f"{run['load_before'][0]:.1f}/{run['load_after'][0]:.1f}"


def report(results: list[dict[str, Any]]) -> str:
    """The results as Markdown tables."""
    lines = ["| database | parse s | import s, median (min-max) | import s on the built "
             "database | of it: store | match and apply | of that: read | of that: write "
             "| ORM flushes | commit | SQL statements | SQL s | CPU s | auto-matched | proposed "
             "| no proposal | again (duplicates) s | again after ANALYZE s "
             "| load avg before/after |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in results:
        runs = r["runs"]
        first, again = runs["import"], runs["import again (duplicates)"]
        p = first["phases"]
        lines.append(
            f"| {r['database']} | {runs['parse']['seconds']:.2f} | {_spread(r['import_seconds'])} "
            f"| {first['seconds']:.1f} | {_phase(p, 'store')} | {_phase(p, 'match and apply')} "
            f"| {_phase(p, 'match: read invoices, clients')} | {_phase(p, 'match: write')} "
            f"| {_phase(p, 'flush')} | {first['commit_seconds']:.2f} "
            f"| {first['calls'].get('sql', 0)} | {_phase(p, 'sql')} "
            f"| {first['cpu_seconds']:.1f} | {first['applied']} | {first['suggested']} "
            f"| {first['unmatched']} | {again['seconds']:.2f} "
            f"| {runs['import again, after ANALYZE']['seconds']:.2f} | {_load(first)} |")
    lines += ["", "| database | step | seconds | tracemalloc peak MiB | RSS before MiB "
              "| RSS peak MiB | RSS growth MiB |", "| --- | --- | ---: | ---: | ---: | ---: "
              "| ---: |"]
    for r in results:
        for name, run in r["runs"].items():
            lines.append(
                f"| {r['database']} | {name} | {run['seconds']:.2f} "
                f"| {_mib(run.get('tracemalloc_peak_mib'))} | {run['rss_before_mib']:.0f} "
                f"| {run['rss_peak_mib']:.0f} "
                f"| {run['rss_peak_mib'] - run['rss_before_mib']:.0f} |")
    lines += ["", "| database | entry | detail | entries | auto-matched | to the meant invoice "
              "| elsewhere | proposed | of them the meant invoice | another invoice "
              "| no proposal | outgoing | fee |",
              "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
              "| ---: |"]
    for r in results:
        for m in r.get("matches", []):
            lines.append(
                f"| {r['database']} | {m['kind']} | {m['detail']} | {m['entries']} "
                f"| {m.get('applied', 0)} | {m.get('applied to the meant invoice', 0)} "
                f"| {m.get('applied elsewhere', 0)} | {m.get('proposed', 0)} "
                f"| {m.get('proposed the meant invoice', 0)} "
                f"| {m.get('proposed another invoice', 0)} "
                f"| {m.get('no proposal', 0)} | {m.get('outgoing', 0)} | {m.get('fee', 0)} |")
    for r in results:
        prof = r["runs"].get("import, profiled (on a copy)", {}).get("profile")
        if not prof:
            continue
        total = prof["total_seconds"] or 1.0
        lines += ["", f"{r['database']}: cProfile of the import ({prof['total_seconds']:.1f} s "
                  f"under the profiler; {prof['file']}.txt)", "",
                  "| area | own time s | share |", "| --- | ---: | ---: |"]
        lines += [f"| {area} | {own:.2f} | {own / total:.0%} |"
                  for area, own in prof["own_time_by_area"].items() if own / total >= 0.005]
        lines += ["", "| function (cumulative) | calls | own s | cumulative s | share |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| `{name}` | {calls} | {own:.2f} | {cum:.2f} | {cum / total:.0%} |"
                  for name, calls, own, cum in prof["by_cumulative_time"][:25]]
    return "\n".join(lines)


CODE = ("plugins/bank_import", "plugins/invoicing/invoices.py", "plugins/invoicing/references.py",
        "core/audit.py", "core/db.py")
"""The code the import runs (besides the libraries), fingerprinted with the results; tests
and views are left out."""


def code_version() -> str:
    """A short hash of the Python files of :data:`CODE` (tests and views excluded): figures
    are only comparable between runs of the same code."""
    digest = hashlib.sha256()
    for entry in CODE:
        path = REPO / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if not {"tests", "views"} & set(file.relative_to(REPO).parts):
                digest.update(str(file.relative_to(REPO)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def environment() -> dict[str, Any]:
    """The machine and the versions."""
    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}",
            "sqlalchemy": sa.__version__, "sqlite": sqlite3.sqlite_version,
            "load_average": os.getloadavg(), "code": code_version(),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="kh-bank-bench-") as folder:
        yield Path(folder)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the benchmark, print the tables, write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, help=f"default {Sizes.clients}")
    parser.add_argument("--invoices", type=int, help=f"default {Sizes.invoices}")
    parser.add_argument("--entries", type=int, help=f"default {Sizes.entries}")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK.clients} clients, {QUICK.invoices} invoices, "
                             f"{QUICK.entries} entries (unless given)")
    parser.add_argument("--profile", action="store_true",
                        help="also run the import under cProfile (on a copy) and report "
                             "where the time goes")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed imports (the first on the database as built, the others "
                             "on copies of it); the table shows the median (default 3)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    defaults = QUICK if args.quick else Sizes()
    sizes = Sizes(args.clients or defaults.clients, args.invoices or defaults.invoices,
                  args.entries or defaults.entries)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    env = environment()
    print(f"{env['cores']} cores, Python {env['python']}, SQLAlchemy {env['sqlalchemy']}, "
          f"load average {env['load_average'][0]:.2f}", flush=True)
    results = []
    with _workdir() as workdir:
        for kind in kinds:
            results.append(bench_database(kind, sizes, workdir, args.profile, args.repeat,
                                          stamp))
    text = report(results)
    print()
    print(text)
    versions = {run["code"] for r in results for run in r["runs"].values()} | {env["code"]}
    if len(versions) > 1:
        print(f"\nWARNING: the code changed during the run ({', '.join(sorted(versions))}); "
              "the figures are not comparable")
    else:
        print(f"\ncode {env['code']} (hash of {', '.join(CODE)}; no tests, no views)")
    slow = [r["database"] for r in results if r["import_seconds"]["median"] > TARGET_SECONDS]
    print(f"\ntarget: the import under {TARGET_SECONDS:.0f} s: "
          + (f"missed on {', '.join(slow)}" if slow else "met"))
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"bank-{stamp}.json"
    path.write_text(json.dumps({"environment": env, "sizes": asdict(sizes),
                                "target_seconds": TARGET_SECONDS, "results": results},
                               indent=2, default=str))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
