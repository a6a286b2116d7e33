"""Invoices as a salesperson and an accountant use them (I2, I3, C5, C10): drafts from the
client card, lines with discounts, confirmation with gap-free numbers, refusals that change
nothing, copy and credit, PDF and e-invoice downloads."""

from __future__ import annotations

import datetime as dt
import io
import threading
from decimal import Decimal

import sqlalchemy as sa
from pypdf import PdfReader

from core.db import SQLITE_IMMEDIATE, make_engine, make_session_factory, tenant_scope
from core.models import User
from plugins.invoicing import references
from plugins.invoicing.invoices import InvoiceError, LineInput, add_line, confirm, new_draft
from plugins.invoicing.models import (
    ClientDiscount,
    Invoice,
    Product,
    ProductGroup,
    Series,
    Settings,
)
from plugins.invoicing.totals import TaxedAmount, line_net, summarise


def test_vat_is_rounded_per_rate_not_per_line():
    lines = [TaxedAmount(line_net(Decimal("1"), Decimal("0.1049"), Decimal(0)), "S",
                         Decimal(24)) for _ in range(3)]
    summary = summarise(lines)
    # 3 x 0.10 net; VAT 24 % of 0.30 = 0.072 -> 0.07 (per line it would be 3 x 0.02 = 0.06).
    assert (summary.total_net, summary.total_vat, summary.total) == (
        Decimal("0.30"), Decimal("0.07"), Decimal("0.37"))


def test_whole_invoice_discount_is_split_by_vat_rate():
    summary = summarise([TaxedAmount(Decimal("100.00"), "S", Decimal(24)),
                         TaxedAmount(Decimal("50.00"), "S", Decimal(9))], Decimal(10))
    assert [(a.vat_percent, a.amount) for a in summary.allowances] == [
        (Decimal(24), Decimal("10.00")), (Decimal(9), Decimal("5.00"))]
    assert [(v.taxable_amount, v.tax_amount) for v in summary.vat] == [
        (Decimal("90.00"), Decimal("21.60")), (Decimal("45.00"), Decimal("4.05"))]
    assert summary.total == Decimal("160.65")


def _setup(dbsession, tenant, *, iban="EE382200221020145685"):
    """Seller details, a product group with two products; returns (goods, service)."""
    with tenant_scope(dbsession, tenant.id):
        settings = dbsession.scalar(sa.select(Settings))
        settings.seller_name = "Acme OÜ"
        settings.registry_code = "10137319"
        settings.vat_number = "EE100931558"
        settings.iban = iban
        settings.street, settings.city, settings.postal_code = "Pärnu mnt 10", "Tallinn", "10148"
        group = ProductGroup(name="Mööbel")
        dbsession.add(group)
        dbsession.flush()
        chair = Product(code="TOOL", name="Tool", name_en="Chair", group_id=group.id,
                        price=Decimal("49.90"), vat_code="standard", unit_code="H87")
        install = Product(code="PAIGALDUS", name="Paigaldus", is_service=True,
                          price=Decimal("40.00"), vat_code="standard", unit_code="HUR",
                          service_minutes=120)
        dbsession.add_all([chair, install])
        dbsession.commit()
        return chair.id, install.id, group.id


def _invoice(dbsession, tenant, invoice_id) -> Invoice:
    dbsession.rollback()
    dbsession.expire_all()
    with tenant_scope(dbsession, tenant.id):
        return dbsession.get(Invoice, invoice_id)


def test_invoice_from_the_card_with_group_discount_confirm_and_download(
        browser, tenant, make_user, make_client, dbsession):
    chair, install, group = _setup(dbsession, tenant)
    client = make_client(tenant, "Õun & Pirn OÜ", registry_code="10137319",
                         invoice_email="arved@oun.ee", payment_term_days=7)
    with tenant_scope(dbsession, tenant.id):
        dbsession.add(ClientDiscount(client_id=client.id, group_id=group, percent=Decimal(10)))
        dbsession.commit()
    b = browser(tenant, make_user(tenant, "sales", locale="en"))
    tab = b.get(f"/clients/{client.id}/invoices")
    page = tab.forms["new-invoice-form"].submit("kind", value="invoice").follow()
    invoice_id = int(page.request.path.rsplit("/", 1)[1])
    form = page.forms["line-form"]
    form["product_id"] = str(chair)
    form["quantity"] = "2"
    form["discount_percent"] = "25"  # the client's group discount wins
    page = form.submit().follow()
    form = page.forms["line-form"]
    form["product_id"] = str(install)
    form["quantity"] = "1,5"
    form["discount_percent"] = "5"
    page = form.submit().follow()
    invoice = _invoice(dbsession, tenant, invoice_id)
    assert [(li.discount_percent, li.group_discount, li.net_amount) for li in invoice.lines] == [
        (Decimal(10), True, Decimal("89.82")), (Decimal(5), False, Decimal("57.00"))]
    assert invoice.due_date == invoice.issue_date + dt.timedelta(days=7)
    assert (invoice.total_net, invoice.total_vat) == (Decimal("146.82"), Decimal("35.24"))

    page = page.forms["confirm-form"].submit().follow()
    invoice = _invoice(dbsession, tenant, invoice_id)
    assert invoice.status == "confirmed" and invoice.number == "0001"
    assert references.is_valid_estonian(invoice.reference_number)
    assert references.display(invoice.reference_number) in page.text
    assert invoice.snapshot["buyer"]["name"] == "Õun & Pirn OÜ"
    assert "line-form" not in page.forms  # immutable now
    b.post(f"/invoices/{invoice_id}/lines", {"description": "x", "unit_price": "1",
                                             "csrf_token": b.csrf_token}, status=400)
    assert len(_invoice(dbsession, tenant, invoice_id).lines) == 2

    pdf = b.get(f"/invoices/{invoice_id}/pdf")
    assert pdf.content_type == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body)).pages)
    # The client's language (Estonian) decides the PDF's, not the user's.
    assert "Arve nr 0001" in text and references.display(invoice.reference_number) in text
    assert "Õun & Pirn OÜ" in text
    ubl = b.get(f"/invoices/{invoice_id}/ubl.xml")
    assert b"<cbc:ID>0001</cbc:ID>" in ubl.body
    assert b"E_Invoice" in b.get(f"/invoices/{invoice_id}/earve.xml").body
    listing = b.get(f"/clients/{client.id}/invoices")
    row = listing.html.select_one(f"#invoice-{invoice_id}").get_text(" ", strip=True)
    assert "0001" in row and "€182.06" in row and "sent" not in row


def test_refusals_change_nothing_and_use_no_number(browser, tenant, make_user, make_client,
                                                    dbsession):
    chair, _install, _group = _setup(dbsession, tenant)
    blocked = make_client(tenant, "Blokeeritud OÜ", sales_blocked=True)
    limited = make_client(tenant, "Piiratud OÜ", credit_limit=Decimal("50.00"))
    fine = make_client(tenant, "Korras OÜ")
    sales = make_user(tenant, "sales", locale="en")
    with tenant_scope(dbsession, tenant.id):
        user = dbsession.get(User, sales.id)
        empty = new_draft(dbsession, dbsession.merge(fine), user)
        drafts = {}
        for name, c in (("blocked", blocked), ("limited", limited), ("old", fine),
                        ("badref", fine)):
            draft = new_draft(dbsession, dbsession.merge(c), user)
            add_line(dbsession, draft, LineInput(product_id=chair, quantity=Decimal(2)))
            drafts[name] = draft.id
        old = dbsession.get(Invoice, drafts["old"])
        old.issue_date = dt.date(2001, 5, 1)  # no standard rate was entered for 2001
        dbsession.get(Invoice, drafts["badref"]).reference_number = "121312953"
        dbsession.commit()
        empty_id = empty.id
    b = browser(tenant, sales)
    messages = {
        empty_id: "An invoice without lines cannot be confirmed.",
        drafts["blocked"]: "Sales to Blokeeritud OÜ are blocked.",
        drafts["limited"]: "over the credit limit",
        drafts["old"]: "No VAT rate standard is valid on 2001-05-01",
        drafts["badref"]: "The reference number 121312953 is not valid.",
    }
    for invoice_id, message in messages.items():
        page = b.get(f"/invoices/{invoice_id}")
        page.forms["confirm-form"]["csrf_token"] = b.csrf_token
        refused = page.forms["confirm-form"].submit(status=400)
        assert message in refused.html.select_one("#invoice-error").get_text(), message
        invoice = _invoice(dbsession, tenant, invoice_id)
        assert (invoice.status, invoice.number) == ("draft", None)
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.scalar(sa.select(Series.last_number).where(
            Series.code == "invoice")) == 0
    # A manager may override the credit limit; the reason stays on the invoice.
    manager = browser(tenant, make_user(tenant, "manager", locale="en"))
    page = manager.get(f"/invoices/{drafts['limited']}")
    page.forms["confirm-form"]["override"] = True
    page.forms["confirm-form"].submit().follow()
    invoice = _invoice(dbsession, tenant, drafts["limited"])
    assert invoice.number == "0001"  # the first number: the refusals used none
    assert "credit limit" in invoice.override_reason


def test_copy_and_credit_from_the_card(browser, tenant, make_user, make_client, dbsession):
    chair, install, _group = _setup(dbsession, tenant)
    client = make_client(tenant, "Kask OÜ")
    accountant = make_user(tenant, "accountant", locale="en")
    with tenant_scope(dbsession, tenant.id):
        user = dbsession.get(User, accountant.id)
        draft = new_draft(dbsession, dbsession.merge(client), user)
        add_line(dbsession, draft, LineInput(product_id=chair, quantity=Decimal(3)))
        add_line(dbsession, draft, LineInput(product_id=install, quantity=Decimal(2)))
        confirm(dbsession, draft, user)
        dbsession.commit()
        source_id, line_ids = draft.id, [li.id for li in draft.lines]
    b = browser(tenant, accountant)
    copy = b.post(f"/invoices/{source_id}/copy", {"csrf_token": b.csrf_token}).follow()
    copied = _invoice(dbsession, tenant, int(copy.request.path.rsplit("/", 1)[1]))
    assert copied.status == "draft" and len(copied.lines) == 2 and copied.number is None

    form = b.get(f"/invoices/{source_id}/credit").forms["credit-form"]
    form[f"qty-{line_ids[0]}"] = "1"
    credit_page = form.submit("mode", value="lines").follow()
    credit_id = int(credit_page.request.path.rsplit("/", 1)[1])
    credit_page.forms["confirm-form"].submit().follow()
    credit = _invoice(dbsession, tenant, credit_id)
    assert (credit.kind, credit.number, credit.total_net) == ("credit", "K0001",
                                                               Decimal("-49.90"))
    assert credit.credited_invoice_id == source_id
    assert _invoice(dbsession, tenant, source_id).status == "confirmed"  # partly credited
    form = b.get(f"/invoices/{source_id}/credit").forms["credit-form"]
    form[f"qty-{line_ids[0]}"] = "3"  # only 2 are left
    refused = form.submit("mode", value="lines", status=400)
    assert "has only 2" in refused.text
    rest = b.get(f"/invoices/{source_id}/credit").forms["credit-form"].submit(
        "mode", value="all").follow()
    rest.forms["confirm-form"].submit().follow()
    assert _invoice(dbsession, tenant, source_id).status == "credited"
    pdf = b.get(f"/invoices/{credit_id}/pdf")
    assert pdf.body.startswith(b"%PDF")
    assert b"CreditNote" in b.get(f"/invoices/{credit_id}/ubl.xml").body


def test_invoices_of_another_tenant_or_a_hidden_client_are_not_found(
        browser, make_tenant, make_user, make_client, dbsession):
    a = make_tenant("Alfa AS", host="alfa.test")
    other = make_tenant("Beeta OÜ", host="beeta.test")
    theirs = make_client(other, "Beeta Klient OÜ")
    with tenant_scope(dbsession, other.id):
        invoice = new_draft(dbsession, dbsession.merge(theirs), None)
        dbsession.commit()
        invoice_id = invoice.id
    b = browser(a, make_user(a, "manager", locale="en"))
    for path in (f"/invoices/{invoice_id}", f"/invoices/{invoice_id}/pdf",
                 f"/clients/{theirs.id}/invoices"):
        b.get(path, status=404)
    b.post(f"/invoices/{invoice_id}/confirm", {"csrf_token": b.csrf_token}, status=404)


def test_concurrent_confirmations_get_consecutive_numbers(tenant, make_client, dbsession,
                                                          db_url, make_user):
    """Eight users confirm at the same moment (run on both databases; on PostgreSQL the
    series row lock does the work, on SQLite the single writer)."""
    chair, _install, _group = _setup(dbsession, tenant)
    client = make_client(tenant, "Kiire OÜ")
    seller = make_user(tenant, "sales", locale="en")
    workers = 8
    with tenant_scope(dbsession, tenant.id):
        user = dbsession.get(User, seller.id)
        ids = []
        for _ in range(workers * 3):
            draft = new_draft(dbsession, dbsession.merge(client), user)
            add_line(dbsession, draft, LineInput(product_id=chair, quantity=Decimal(1)))
            ids.append(draft.id)
        # One draft of every three fails (no lines left): its number must not be lost.
        for invoice_id in ids[::3]:
            emptied = dbsession.get(Invoice, invoice_id)
            emptied.lines.clear()
        dbsession.commit()
    engine = make_engine(db_url)
    # On SQLite each confirmation is a writer from its first statement (as the worker does).
    factory = make_session_factory(engine.execution_options(**{SQLITE_IMMEDIATE: True}))
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(chunk: list[int]) -> None:
        barrier.wait()
        for invoice_id in chunk:
            session = factory()
            try:
                with session.begin(), tenant_scope(session, tenant.id):
                    invoice = session.get(Invoice, invoice_id)
                    confirm(session, invoice, session.get(User, seller.id))
            except InvoiceError:
                pass  # refused (no lines): rolled back, no number used
            except BaseException as exc:  # collected and re-raised below
                errors.append(exc)
            finally:
                session.close()

    threads = [threading.Thread(target=work, args=(ids[i::workers],)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert not errors
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        numbers = sorted(dbsession.scalars(sa.select(Invoice.sequence).where(
            Invoice.sequence.is_not(None))))
    assert numbers == list(range(1, workers * 2 + 1))


def test_demo_has_products_and_numbered_invoices(app, app_settings, plugin_set, dbsession):
    from pyramid.threadlocal import manager

    from core import demo
    from core.db import all_tenants
    from core.models import Tenant

    manager.push({"registry": app.registry, "request": None})
    try:
        with all_tenants(dbsession):
            settings = {**app_settings, "kliendihaldus.default_plugins": "builtin"}
            assert demo.load(dbsession, plugin_set, settings) is True
            dbsession.commit()
    finally:
        manager.pop()
    tenant = dbsession.scalar(sa.select(Tenant).where(Tenant.slug == demo.DEMO_SLUG))
    with tenant_scope(dbsession, tenant.id):
        invoices = dbsession.scalars(sa.select(Invoice)).all()
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(Product)) == 10
    numbered = sorted(i.sequence for i in invoices if i.kind == "invoice" and i.number)
    assert numbered == list(range(1, 58))
    statuses = {i.status for i in invoices}
    assert {"draft", "paid", "sent", "credited"} <= statuses
    assert all(references.is_valid_estonian(i.reference_number) for i in invoices if i.number)
