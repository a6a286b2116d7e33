"""Client balances (C11): the balance in the card header, the Payments tab with the
prepayment offered and applied, and the receivables report with its ageing, group filter
and CSV/XLSX exports (B2)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from core.db import make_engine, make_session_factory, tenant_scope
from core.models import RolePermission, Tenant, User
from plugins.bank_import import allocations
from plugins.bank_import.allocations import Part
from plugins.bank_import.balances import client_balance, receivables, receivables_total
from plugins.bank_import.models import Allocation, BankTransaction, Statement
from plugins.bank_import.permissions import PAYMENT_VIEW
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.crm_register.models import ClientGroup, ClientGroupLink
from plugins.invoicing.invoices import after_credit_confirmed, confirm, credit_invoice
from plugins.invoicing.models import Invoice

TERM = 14
"""The default payment term: an invoice is due 14 days after its date."""


def tallinn_today() -> dt.date:
    """Today where the test tenant is (the application's "today")."""
    return dt.datetime.now(ZoneInfo("Europe/Tallinn")).date()


def issued_for_due(days_past_due: int) -> dt.date:
    """The invoice date that makes an invoice ``days_past_due`` days overdue today."""
    return tallinn_today() - dt.timedelta(days=TERM + days_past_due)


@pytest.fixture
def receive(db_url: str, bank_account: Any) -> Iterator[Callable[..., int]]:
    """Record an incoming payment on the tenant's account and allocate it:
    ``receive(tenant, "100.00", [(client, invoice_or_None, "60.00"), ...], payer=...,
    booking_date=...)``; returns the transaction id."""
    engine = make_engine(db_url)
    counter = itertools.count(1)

    def factory(tenant: Any, amount: str, parts: Sequence[tuple[Any, Any, str]] = (), *,
                payer: str = "Maksja OÜ", reference: str | None = None,
                booking_date: dt.date | None = None) -> int:
        session = make_session_factory(engine)()
        with session, session.begin(), tenant_scope(session, tenant.id):
            statement = Statement(account_id=bank_account.id, file_name="test.xml",
                                  file_format="camt.053")
            session.add(statement)
            session.flush()
            transaction = BankTransaction(
                account_id=bank_account.id, statement_id=statement.id,
                entry_key=f"test-{next(counter)}", booking_date=booking_date or tallinn_today(),
                amount=Decimal(amount), credit=True, currency="EUR", counterparty_name=payer,
                reference=reference, description="Arve tasumine")
            session.add(transaction)
            session.flush()
            if parts:
                allocations.allocate(session, transaction, [
                    Part(client.id, invoice.id if invoice is not None else None, Decimal(share))
                    for client, invoice, share in parts], user_id=None)
            session.flush()  # inside the tenant scope (the commit comes after it)
            return transaction.id

    yield factory
    engine.dispose()


@pytest.fixture
def accountant(tenant: Tenant, make_user: Callable[..., User]) -> User:
    return make_user(tenant, "accountant", locale="en")


def _fact(page: Any, name: str) -> Any:
    return page.html.select_one(f'#client-header .facts div[data-fact="{name}"]')


def _invoice(dbsession: Any, invoice_id: int) -> Invoice:
    dbsession.rollback()
    dbsession.expire_all()
    return dbsession.get(Invoice, invoice_id)


def _page_text(page: Any) -> str:
    return " ".join(page.html.get_text(" ").split())


# --- the card header --------------------------------------------------------------------

@pytest.mark.hookspec("client_card_facts")
def test_card_header_shows_the_balance(browser, tenant, accountant, make_client, make_invoice,
                                       receive):
    owing = make_client(tenant, "Võlgnik OÜ")
    make_invoice(tenant, owing, "1200.00", issue_date=tallinn_today())
    late = make_client(tenant, "Hiline OÜ")
    make_invoice(tenant, late, "80.00", issue_date=issued_for_due(5))
    prepaid = make_client(tenant, "Ettemaksja OÜ")
    receive(tenant, "50.00", [(prepaid, None, "50.00")])
    quiet = make_client(tenant, "Vaikne OÜ")
    b = browser(tenant, accountant)

    fact = _fact(b.get(f"/clients/{owing.id}"), "bank.balance")
    assert fact.dt.get_text() == "Balance"
    assert fact.dd.get_text() == "€1,200.00"
    assert fact["class"] == ["fact"]

    fact = _fact(b.get(f"/clients/{late.id}/payments"), "bank.balance")
    assert fact.dd.get_text() == "€80.00"
    assert fact["class"] == ["fact", "danger"]

    fact = _fact(b.get(f"/clients/{prepaid.id}"), "bank.balance")
    assert fact.dd.get_text() == "-€50.00 (prepaid)"
    assert fact["class"] == ["fact"]

    assert _fact(b.get(f"/clients/{quiet.id}"), "bank.balance").dd.get_text() == "€0.00"


def test_card_header_has_no_balance_without_the_permission(browser, tenant, make_user,
                                                           make_client, make_invoice, dbsession):
    dbsession.execute(sa.delete(RolePermission).where(
        RolePermission.tenant_id == tenant.id, RolePermission.role == "secretary",
        RolePermission.permission == PAYMENT_VIEW))
    dbsession.commit()
    client = make_client(tenant, "Salajane OÜ")
    make_invoice(tenant, client, "10.00", issue_date=tallinn_today())
    b = browser(tenant, make_user(tenant, "secretary", locale="en"))
    page = b.get(f"/clients/{client.id}")
    assert _fact(page, "bank.balance") is None
    assert f"/clients/{client.id}/payments" not in page.text
    b.get(f"/clients/{client.id}/payments", status=403)
    b.get("/bank/receivables", status=403)


# --- the Payments tab --------------------------------------------------------------------

def test_payments_tab_lists_the_payments_newest_first(browser, tenant, accountant, make_client,
                                                       make_invoice, receive):
    client = make_client(tenant, "Maksev OÜ")
    today = tallinn_today()
    first = make_invoice(tenant, client, "100.00", issue_date=today - dt.timedelta(days=40))
    second = make_invoice(tenant, client, "200.00", issue_date=today - dt.timedelta(days=10))
    advance = make_invoice(tenant, client, "300.00", issue_date=today - dt.timedelta(days=5),
                           kind="prepayment")
    receive(tenant, "100.00", [(client, first, "100.00")], payer="Maksev OÜ",
            reference=first.reference, booking_date=today - dt.timedelta(days=20))
    receive(tenant, "250.00", [(client, second, "200.00"), (client, None, "50.00")],
            payer="Maksev OÜ", booking_date=today - dt.timedelta(days=3))
    receive(tenant, "300.00", [(client, advance, "300.00")], payer="Juhataja Jaan",
            booking_date=today - dt.timedelta(days=1))

    page = browser(tenant, accountant).get(f"/clients/{client.id}/payments")
    assert page.html.select_one("nav.tabs a.active").get_text(strip=True) == "Payments"
    rows = page.html.select("#payments tbody tr")
    cells = [[td.get_text(" ", strip=True) for td in row.select("td")] for row in rows]
    assert [c[1] for c in cells] == ["Prepayment invoice", "Prepayment", "Invoice payment",
                                     "Invoice payment"]
    assert [c[2] for c in cells] == ["€300.00", "€50.00", "€200.00", "€100.00"]
    assert [c[3] for c in cells] == [advance.number, "–", second.number, first.number]
    assert cells[0][5] == "Juhataja Jaan"
    assert cells[3][6] == first.reference
    links = [row.select_one("td a") for row in rows]
    assert links[1] is None
    assert links[0]["href"].endswith(f"/invoices/{advance.id}")
    assert links[3]["href"].endswith(f"/invoices/{first.id}")
    assert page.html.select_one("#balance-receivable").get_text() == "€0.00"
    assert page.html.select_one("#balance-prepayment").get_text() == "€50.00"
    assert page.html.select_one("#balance-balance").get_text() == "-€50.00"


def test_prepayment_is_offered_and_applied(browser, tenant, accountant, make_client,
                                           make_invoice, receive, dbsession):
    client = make_client(tenant, "Ettemaks AS")
    today = tallinn_today()
    old = make_invoice(tenant, client, "120.00", issue_date=issued_for_due(3))
    new = make_invoice(tenant, client, "80.00", issue_date=today)
    receive(tenant, "150.00", [(client, None, "150.00")], booking_date=today)
    b = browser(tenant, accountant)

    page = b.get(f"/clients/{client.id}/payments")
    assert page.html.select_one("#balance-overdue").get_text() == "€120.00"
    offers = page.html.select("#prepayment-offers li")
    assert [o["id"] for o in offers] == [f"offer-{old.id}", f"offer-{new.id}"]
    assert f"Use the prepayment for invoice {old.number}" in offers[0].get_text(" ")

    response = b.post(f"/clients/{client.id}/payments/apply",
                      {"invoice_id": str(old.id), "csrf_token": b.csrf_token}, status=303)
    page = response.follow()
    assert f"€120.00 of the prepayment was used for invoice {old.number}." in _page_text(page)
    invoice = _invoice(dbsession, old.id)
    assert invoice.status == "paid" and invoice.paid_amount == Decimal("120.00")
    assert page.html.select_one("#balance-prepayment").get_text() == "€30.00"
    assert page.html.select_one("#balance-overdue").get_text() == "€0.00"
    assert page.html.select_one("#balance-balance").get_text() == "€50.00"
    assert _fact(page, "bank.balance")["class"] == ["fact"]
    assert [o["id"] for o in page.html.select("#prepayment-offers li")] == [f"offer-{new.id}"]

    page = b.post(f"/clients/{client.id}/payments/apply",
                  {"invoice_id": str(new.id), "csrf_token": b.csrf_token}, status=303).follow()
    assert f"€30.00 of the prepayment was used for invoice {new.number}." in _page_text(page)
    invoice = _invoice(dbsession, new.id)
    assert invoice.status == "partly_paid" and invoice.paid_amount == Decimal("30.00")
    assert page.html.select_one("#prepayment-offers") is None
    assert _fact(page, "bank.balance").dd.get_text() == "€50.00"
    with tenant_scope(dbsession, tenant.id):
        assert client_balance(dbsession, client.id, today).prepayment == Decimal("0.00")
    rows = page.html.select("#payments tbody tr")
    kinds = sorted(row.select("td")[1].get_text(" ", strip=True) for row in rows)
    assert kinds == ["Invoice payment", "Invoice payment"]


def _state(dbsession: Any, tenant: Tenant) -> list[tuple[Any, ...]]:
    dbsession.rollback()
    dbsession.expire_all()
    allocs = dbsession.execute(
        sa.select(Allocation.id, Allocation.client_id, Allocation.invoice_id, Allocation.amount)
        .where(Allocation.tenant_id == tenant.id).order_by(Allocation.id)).all()
    invoices = dbsession.execute(
        sa.select(Invoice.id, Invoice.status, Invoice.paid_amount)
        .where(Invoice.tenant_id == tenant.id).order_by(Invoice.id)).all()
    return [*map(tuple, allocs), *map(tuple, invoices)]


def test_refused_prepayment_uses_change_nothing(browser, tenant, accountant, make_user,
                                                make_client, make_invoice, receive, dbsession):
    client = make_client(tenant, "Ettemaks AS")
    other = make_client(tenant, "Teine OÜ")
    today = tallinn_today()
    own = make_invoice(tenant, client, "40.00", issue_date=today)
    paid = make_invoice(tenant, client, "10.00", issue_date=today)
    foreign = make_invoice(tenant, other, "60.00", issue_date=today)
    receive(tenant, "10.00", [(client, paid, "10.00")])
    receive(tenant, "25.00", [(client, None, "25.00")])
    b = browser(tenant, accountant)
    before = _state(dbsession, tenant)
    url = f"/clients/{client.id}/payments/apply"

    for value, message in [
        (str(foreign.id), "Choose one of the client's open invoices."),
        ("999999", "Choose one of the client's open invoices."),
        ("abc", "Choose one of the client's open invoices."),
        ("", "Choose one of the client's open invoices."),
        (str(paid.id), f"Invoice {paid.number} has nothing left to pay."),
    ]:
        page = b.post(url, {"invoice_id": value, "csrf_token": b.csrf_token}, status=303).follow()
        assert message in _page_text(page), value
        assert _state(dbsession, tenant) == before

    # the other client has no prepayment to use for its own invoice
    page = b.post(f"/clients/{other.id}/payments/apply",
                  {"invoice_id": str(foreign.id), "csrf_token": b.csrf_token},
                  status=303).follow()
    assert "The client has no prepayment to use." in _page_text(page)
    assert _state(dbsession, tenant) == before

    b.post(url, {"invoice_id": str(own.id)}, status=400)  # no CSRF token
    b.post("/clients/999999/payments/apply",
           {"invoice_id": str(own.id), "csrf_token": b.csrf_token}, status=404)
    sales = browser(tenant, make_user(tenant, "sales", locale="en"))
    page = sales.get(f"/clients/{client.id}/payments")  # sales may look, not match
    assert page.html.select_one("#prepayment-offers") is None
    sales.post(url, {"invoice_id": str(own.id), "csrf_token": sales.csrf_token}, status=403)
    assert _state(dbsession, tenant) == before


# --- the receivables report --------------------------------------------------------------

def _csv_rows(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_receivables_age_the_open_amounts(browser, tenant, accountant, make_client,
                                          make_invoice, receive):
    big = make_client(tenant, "Suur Võlg AS")
    for days_late, amount in [(-5, "100.00"), (0, "1.00"), (1, "200.00"), (30, "2.00"),
                              (31, "300.00"), (60, "3.00"), (61, "400.00"), (90, "4.00"),
                              (91, "500.00"), (400, "5.00")]:
        make_invoice(tenant, big, amount, issue_date=issued_for_due(days_late))
    part = make_invoice(tenant, big, "50.00", issue_date=issued_for_due(10))
    receive(tenant, "20.00", [(big, part, "20.00")])
    small = make_client(tenant, "Väike OÜ")
    make_invoice(tenant, small, "70.00", issue_date=issued_for_due(45))
    receive(tenant, "30.00", [(small, None, "30.00")])
    prepaid = make_client(tenant, "Ettemaksja OÜ")
    receive(tenant, "75.00", [(prepaid, None, "75.00")])
    settled = make_client(tenant, "Tasutud OÜ")
    done = make_invoice(tenant, settled, "10.00", issue_date=issued_for_due(100))
    receive(tenant, "10.00", [(settled, done, "10.00")])
    make_client(tenant, "Uus klient OÜ")
    b = browser(tenant, accountant)

    page = b.get("/bank/receivables")
    rows = page.html.select("#receivables tbody tr")
    assert [r["id"] for r in rows] == [f"client-{big.id}", f"client-{small.id}",
                                       f"client-{prepaid.id}"]
    cells = [[td.get_text(" ", strip=True) for td in r.select("td")] for r in rows]
    assert cells[0][1:] == ["€101.00", "€232.00", "€303.00", "€404.00", "€505.00", "€0.00",
                            "€1,545.00"]
    assert cells[1][1:] == ["€0.00", "€0.00", "€70.00", "€0.00", "€0.00", "€30.00", "€40.00"]
    assert cells[2][1:] == ["€0.00"] * 5 + ["€75.00", "-€75.00"]
    link = rows[0].select_one("td a")
    assert link.get_text() == "Suur Võlg AS"
    assert link["href"].endswith(f"/clients/{big.id}/payments")
    total = [td.get_text(strip=True) for td in page.html.select("#receivables-total td")]
    assert total == ["€101.00", "€232.00", "€373.00", "€404.00", "€505.00", "€105.00",
                     "€1,510.00"]
    headers = [th.get_text(strip=True) for th in page.html.select("#receivables thead th")]
    assert headers == ["Client", "Not due", "1–30 days", "31–60 days", "61–90 days",
                       "Over 90 days", "Prepayment", "Balance"]

    exported = _csv_rows(b.get("/bank/receivables?format=csv").body)
    assert exported[0] == ["Client number", "Client", "Not due", "1–30 days", "31–60 days",
                           "61–90 days", "Over 90 days", "Prepayment", "Balance"]
    assert exported[1] == [str(big.number), "Suur Võlg AS", "101.00", "232.00", "303.00",
                           "404.00", "505.00", "0.00", "1545.00"]
    assert [r[1] for r in exported[1:]] == ["Suur Võlg AS", "Väike OÜ", "Ettemaksja OÜ"]
    assert exported[3][-2:] == ["75.00", "-75.00"]


def test_receivables_xlsx_has_numbers(browser, tenant, accountant, make_client, make_invoice,
                                      receive):
    from openpyxl import load_workbook

    client = make_client(tenant, "=Valem OÜ")
    make_invoice(tenant, client, "1234.56", issue_date=issued_for_due(20))
    prepaid = make_client(tenant, "Ettemaksja OÜ")
    receive(tenant, "10.50", [(prepaid, None, "10.50")])
    response = browser(tenant, accountant).get("/bank/receivables?format=xlsx")
    assert response.content_type == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.body)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][:2] == ["Client number", "Client"]
    assert values[1] == [client.number, "=Valem OÜ", 0, 1234.56, 0, 0, 0, 0, 1234.56]
    assert values[2] == [prepaid.number, "Ettemaksja OÜ", 0, 0, 0, 0, 0, 10.5, -10.5]
    cell = sheet.cell(row=2, column=4)
    assert cell.data_type == "n" and cell.number_format == "#,##0.00"
    assert sheet.cell(row=2, column=2).data_type == "s"  # text, not a formula


def test_receivables_group_filter(browser, tenant, accountant, make_client, make_invoice,
                                  dbsession):
    key = make_client(tenant, "Võtmeklient AS")
    plain = make_client(tenant, "Tavaline OÜ")
    make_invoice(tenant, key, "10.00", issue_date=tallinn_today())
    make_invoice(tenant, plain, "20.00", issue_date=tallinn_today())
    with tenant_scope(dbsession, tenant.id):
        group = ClientGroup(name="Võtmekliendid")
        dbsession.add_all([group, ClientGroup(name="Tühi grupp")])
        dbsession.flush()
        dbsession.add(ClientGroupLink(client_id=key.id, group_id=group.id))
        dbsession.commit()
        group_id = group.id
    b = browser(tenant, accountant)

    page = b.get("/bank/receivables")
    options = [o.get_text() for o in page.html.select("#receivables-filter option")]
    assert options[0] == "all clients"
    assert {"Tühi grupp", "Võtmekliendid"} <= set(options)
    assert len(page.html.select("#receivables tbody tr")) == 2

    form = page.forms["receivables-filter"]
    form["group"] = str(group_id)
    page = form.submit()
    assert [r["id"] for r in page.html.select("#receivables tbody tr")] == [f"client-{key.id}"]
    assert page.html.select_one("#receivables-total td.balance").get_text() == "€10.00"
    csv_link = page.html.select_one("#export-csv")["href"]
    assert f"group={group_id}" in csv_link
    exported = _csv_rows(b.get(csv_link).body)
    assert [r[1] for r in exported[1:]] == ["Võtmeklient AS"]
    xlsx = b.get(page.html.select_one("#export-xlsx")["href"])
    assert xlsx.content_type.endswith("spreadsheetml.sheet")

    # an unknown group shows every client; an unknown format is not found
    assert len(b.get("/bank/receivables?group=999999").html.select("#receivables tbody tr")) == 2
    b.get("/bank/receivables?format=pdf", status=404)


def test_receivables_show_only_the_users_clients_and_tenant(
        browser, tenant, make_tenant, make_user, make_client, make_invoice, dbsession):
    sales = make_user(tenant, "sales", locale="en")
    mine = make_client(tenant, "Minu klient OÜ", salesperson_id=sales.id)
    theirs = make_client(tenant, "Teiste klient OÜ")
    make_invoice(tenant, mine, "10.00", issue_date=tallinn_today())
    make_invoice(tenant, theirs, "20.00", issue_date=tallinn_today())
    elsewhere = make_tenant("Muu OÜ", host="muu.test")
    stranger = make_client(elsewhere, "Võõras OÜ")
    make_invoice(elsewhere, stranger, "30.00", issue_date=tallinn_today())
    row = dbsession.get(Tenant, tenant.id)
    row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
    dbsession.commit()

    page = browser(tenant, sales).get("/bank/receivables")
    assert [r["id"] for r in page.html.select("#receivables tbody tr")] == [f"client-{mine.id}"]
    accountant = browser(tenant, make_user(tenant, "accountant", locale="en"))
    page = accountant.get("/bank/receivables")
    assert sorted(r["id"] for r in page.html.select("#receivables tbody tr")) == sorted(
        [f"client-{mine.id}", f"client-{theirs.id}"])
    assert "Võõras" not in page.text
    accountant.get(f"/clients/{stranger.id}/payments", status=404)


def test_secretary_may_see_payments_but_not_receivables(browser, tenant, make_user,
                                                       make_client):
    client = make_client(tenant, "Klient OÜ")
    b = browser(tenant, make_user(tenant, "secretary", locale="en"))
    b.get(f"/clients/{client.id}/payments", status=200)
    b.get("/bank/receivables", status=403)
    b.get("/bank/receivables?format=csv", status=403)


# --- the services ------------------------------------------------------------------------

def test_credit_invoices_lower_the_balance_in_the_credited_invoices_bucket(
        tenant, make_client, make_invoice, receive, dbsession):
    client = make_client(tenant, "Krediit OÜ")
    today = tallinn_today()
    partly = make_invoice(tenant, client, "100.00", issue_date=issued_for_due(40))
    whole = make_invoice(tenant, client, "60.00", issue_date=issued_for_due(70))
    paid_then_credited = make_invoice(tenant, client, "25.00", issue_date=issued_for_due(100))
    receive(tenant, "25.00", [(client, paid_then_credited, "25.00")])
    with tenant_scope(dbsession, tenant.id):
        user = dbsession.scalar(sa.select(User).order_by(User.id).limit(1))
        for invoice_id, lines in [(partly.id, "some"), (whole.id, None),
                                  (paid_then_credited.id, None)]:
            source = dbsession.get(Invoice, invoice_id)
            quantities = None
            if lines == "some":
                quantities = {source.lines[0].id: Decimal("0.4")}
            draft = credit_invoice(dbsession, source, user, quantities)
            draft.issue_date = today
            confirm(dbsession, draft, user, can_override=True)
            after_credit_confirmed(dbsession, draft)
        dbsession.commit()

    with tenant_scope(dbsession, tenant.id):
        statuses = dict(dbsession.execute(sa.select(Invoice.id, Invoice.status)).all())
        assert statuses[whole.id] == "credited"
        assert statuses[paid_then_credited.id] == "credited"
        balance = client_balance(dbsession, client.id, today)
        # 100 - 40 credited; the whole 60 credited; 25 paid and then credited: owed back
        assert balance.receivable == Decimal("35.00")
        assert balance.overdue == Decimal("35.00")
        assert balance.balance == Decimal("35.00")
        [row] = receivables(dbsession, today)
        assert (row.not_due, row.days_1_30, row.days_31_60, row.days_61_90, row.over_90) == (
            Decimal("0.00"), Decimal("0.00"), Decimal("60.00"), Decimal("0.00"),
            Decimal("-25.00"))
        totals = receivables_total([row, row])
        assert totals.balance == Decimal("70.00")


def test_receivables_stay_grouped_queries(tenant, make_client, make_invoice, dbsession):
    """Two grouped sub-queries in one statement, whatever the number of invoices."""
    clients = [make_client(tenant, f"Klient {n} OÜ") for n in range(3)]
    for n, client in enumerate(clients):
        for k in range(n + 1):
            make_invoice(tenant, client, "10.00", issue_date=issued_for_due(k * 40))
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    engine = dbsession.get_bind()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with tenant_scope(dbsession, tenant.id):
            rows = receivables(dbsession, tallinn_today())
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert [r.balance for r in rows] == [Decimal("30.00"), Decimal("20.00"), Decimal("10.00")]
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1
    assert len(re.findall(r"GROUP BY", selects[0], re.IGNORECASE)) == 2
    # every table of the statement is scoped to the tenant
    assert len(re.findall(r"\.tenant_id = ", selects[0])) == 4
