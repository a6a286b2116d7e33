"""Invoicing throughput: invoices created and confirmed per second (one user and eight at
once), PDFs and UBL e-invoices rendered per second, on SQLite and PostgreSQL.

    .venv/bin/python bench/invoicing_bench.py --db both --invoices 400

Each "invoice" is what a user does: a draft for a client with three product lines (client
discounts and VAT rates applied), then confirmation (numbering under the series lock, the
reference number, the frozen seller and buyer details), committed in its own transaction
as a web request would. Concurrent users are threads with their own connections; on SQLite
every confirmation is a writer from its first statement (``BEGIN IMMEDIATE``), as the
application's retry tween would end up doing. Numbers are checked to be gap-free.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import crm_dataset
from core import migrate
from core.db import SQLITE_IMMEDIATE, make_engine, make_session_factory, tenant_scope
from core.models import User
from core.plugins import PluginSet
from core.tenancy import create_tenant

LINES_PER_INVOICE = 3
MAX_ATTEMPTS = 5


def _setup(url: str, plugins: PluginSet) -> tuple[int, int, list[int], list[int]]:
    """A tenant with invoicing, a user, 50 clients and 10 products."""
    from plugins.crm_register.models import Client
    from plugins.invoicing.models import Product, Settings

    migrate.upgrade(url, plugins)
    engine = make_engine(url)
    session = make_session_factory(engine)()
    with session.begin():
        tenant = create_tenant(session, plugins, name="Bench OÜ", slug="bench",
                               hosts=["bench.test"], plugin_names=["crm_register", "invoicing"])
        with tenant_scope(session, tenant.id):
            user = User(name="Bench", email="bench@bench.test", role="sales",
                        password_hash="!")  # noqa: S106 - no login in the benchmark
            session.add(user)
            settings = session.scalar(sa.select(Settings))
            settings.seller_name, settings.registry_code = "Bench OÜ", "12345678"
            settings.vat_number, settings.iban = "EE101234568", "EE382200221020145685"
            clients = [Client(name=f"Klient {i} OÜ", number=i + 1, registry_code=None)
                       for i in range(50)]
            products = [Product(code=f"P{i}", name=f"Toode {i}", price=Decimal("12.3456") * (i + 1))
                        for i in range(10)]
            session.add_all(clients + products)
            session.flush()
            ids = (tenant.id, user.id, [c.id for c in clients], [p.id for p in products])
    session.close()
    engine.dispose()
    return ids


def _one_invoice(factory, tenant_id: int, user_id: int, client_id: int,
                 product_ids: list[int], first: int) -> None:
    from plugins.crm_register.models import Client
    from plugins.invoicing.invoices import LineInput, add_line, confirm, new_draft

    session = factory()
    try:
        with session.begin(), tenant_scope(session, tenant_id):
            user = session.get(User, user_id)
            invoice = new_draft(session, session.get(Client, client_id), user,
                                issue_date=dt.date.today())
            for k in range(LINES_PER_INVOICE):
                add_line(session, invoice, LineInput(
                    product_id=product_ids[(first + k) % len(product_ids)],
                    quantity=Decimal(k + 1)))
            confirm(session, invoice, user)
    finally:
        session.close()


def _work(factory, tenant_id: int, user_id: int, client_ids: list[int],
          product_ids: list[int], count: int, offset: int, timings: list[float],
          retries: list[int]) -> None:
    """``count`` invoices one after another; a transaction that finds the database busy is
    retried, as the application's retry tween does (its time counts in the latency)."""
    for n in range(count):
        started = time.perf_counter()
        for attempt in range(MAX_ATTEMPTS):
            try:
                _one_invoice(factory, tenant_id, user_id,
                             client_ids[(offset + n) % len(client_ids)], product_ids, offset + n)
                break
            except sa.exc.OperationalError:
                if attempt == MAX_ATTEMPTS - 1:
                    raise
                retries.append(1)
        timings.append(time.perf_counter() - started)


def measure_confirmations(url: str, ids: tuple, total: int, users: int) -> dict[str, float]:
    """Create and confirm ``total`` invoices split over ``users`` threads."""
    engine = make_engine(url)
    factory = make_session_factory(engine.execution_options(**{SQLITE_IMMEDIATE: True}))
    tenant_id, user_id, client_ids, product_ids = ids
    timings: list[float] = []
    retries: list[int] = []
    per_user = total // users
    threads = [threading.Thread(target=_work, args=(
        factory, tenant_id, user_id, client_ids, product_ids, per_user, u * per_user, timings,
        retries)) for u in range(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    engine.dispose()
    timings.sort()
    return {"invoices": len(timings), "seconds": elapsed, "retries": len(retries),
            "per_second": len(timings) / elapsed,
            "p50_ms": statistics.median(timings) * 1000,
            "p95_ms": timings[int(len(timings) * 0.95) - 1] * 1000}


def check_numbers(url: str, tenant_id: int) -> int:
    """The number of confirmed invoices; raises when their sequence has a gap or repeat."""
    from plugins.invoicing.models import Invoice

    engine = make_engine(url)
    session = make_session_factory(engine)()
    with session, tenant_scope(session, tenant_id):
        numbers = sorted(session.scalars(sa.select(Invoice.sequence).where(
            Invoice.kind == "invoice", Invoice.sequence.is_not(None))))
    engine.dispose()
    if numbers != list(range(1, len(numbers) + 1)):
        raise SystemExit("invoice numbers have gaps or repeats")
    return len(numbers)


def measure_rendering(url: str, tenant_id: int, count: int) -> dict[str, float]:
    """PDFs and UBL documents per second of confirmed invoices (documents built first)."""
    from pyramid.i18n import make_localizer

    from plugins.invoicing.einvoice.ubl import to_ubl
    from plugins.invoicing.invoices import invoice_document
    from plugins.invoicing.models import Invoice
    from plugins.invoicing.pdf import render_pdf

    engine = make_engine(url)
    session = make_session_factory(engine)()
    with session, tenant_scope(session, tenant_id):
        invoices = session.scalars(sa.select(Invoice).where(Invoice.status == "confirmed")
                                   .limit(count)).all()
        docs = [invoice_document(session, inv) for inv in invoices]
    engine.dispose()
    locale = Path(__file__).resolve().parents[1] / "plugins" / "invoicing" / "locale"
    translate = make_localizer("et", [str(locale)]).translate
    started = time.perf_counter()
    for doc in docs:
        render_pdf(doc, translate)
    pdf_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for doc in docs:
        to_ubl(doc)
    ubl_seconds = time.perf_counter() - started
    return {"documents": len(docs), "pdf_per_second": len(docs) / pdf_seconds,
            "ubl_per_second": len(docs) / ubl_seconds}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--invoices", type=int, default=400)
    parser.add_argument("--documents", type=int, default=100)
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    plugins = PluginSet.discover().load()
    print("| database | users | invoices | per second | p50 ms | p95 ms | retries |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    rendering = None
    for kind in kinds:
        with crm_dataset.fresh_database(kind) as url:
            ids = _setup(url, plugins)
            for users in (1, 8):
                r = measure_confirmations(url, ids, args.invoices, users)
                print(f"| {kind} | {users} | {r['invoices']} | {r['per_second']:.1f} | "
                      f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['retries']} |", flush=True)
            check_numbers(url, ids[0])
            if rendering is None:
                rendering = measure_rendering(url, ids[0], args.documents)
    if rendering:
        print(f"\nPDF: {rendering['pdf_per_second']:.1f}/s, UBL: "
              f"{rendering['ubl_per_second']:.1f}/s ({rendering['documents']} invoices of "
              f"{LINES_PER_INVOICE} lines, one process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
