"""The phone-order flow (W2): pick products and services on the card, pick a free time,
confirm; a prepayment invoice is issued and e-mailed, the service is booked. Its steps are
hooks a company plugin can change."""

from __future__ import annotations

import datetime as dt
import io
import types
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from core.db import tenant_scope
from core.sdk import OrderStep, hookimpl
from plugins.crm_register.models import Activity
from plugins.invoicing import references
from plugins.invoicing.models import Invoice, Order, Product, Settings


def _catalogue(dbsession, tenant):
    with tenant_scope(dbsession, tenant.id):
        settings = dbsession.scalar(sa.select(Settings))
        settings.seller_name, settings.iban = "Acme OÜ", "EE382200221020145685"
        chair = Product(code="TOOL", name="Tool", price=Decimal("50.00"))
        install = Product(code="PAIGALDUS", name="Paigaldus", is_service=True,
                          price=Decimal("40.00"), unit_code="HUR", service_minutes=90)
        dbsession.add_all([chair, install])
        dbsession.commit()
        return chair.id, install.id


def _start(b, client_id):
    tab = b.get(f"/clients/{client_id}/invoices")
    return tab.forms["new-order-form"].submit().follow()


def _fresh(dbsession):
    dbsession.rollback()
    dbsession.expire_all()


@pytest.mark.hookspec("build_prepayment_invoice")
@pytest.mark.hookspec("invoice_issued")
def test_phone_order_books_the_service_and_mails_the_prepayment_invoice(
        browser, tenant, make_user, make_client, dbsession, smtp_server, mail_settings,
        make_worker):
    chair, install = _catalogue(dbsession, tenant)
    client = make_client(tenant, "Helistaja OÜ", invoice_email="tellimus@helistaja.ee")
    sales = make_user(tenant, "sales", locale="en", name="Mari Müük")
    b = browser(tenant, sales)

    lines = _start(b, client.id)
    form = lines.forms["order-lines"]
    form[f"qty-{chair}"] = "2"
    form[f"qty-{install}"] = "1"
    slots = form.submit().follow()
    assert "The service takes 90 minutes" in slots.text
    buttons = slots.html.select("#order-slots button[name=slot]")
    assert buttons, "free times are offered"
    first = buttons[0]["value"]
    confirm_page = slots.forms["order-slots"].submit("slot", value=first).follow()
    assert "Tool" in confirm_page.html.select_one("#order-summary").get_text()
    done = confirm_page.forms["order-confirm"].submit("confirm", value="1").follow()
    assert "The order is confirmed" in done.text

    _fresh(dbsession)
    with tenant_scope(dbsession, tenant.id):
        order = dbsession.scalar(sa.select(Order))
        invoice = dbsession.get(Invoice, order.invoice_id)
        activity = dbsession.get(Activity, order.activity_id)
        assert (order.status, invoice.kind, invoice.status) == ("confirmed", "prepayment",
                                                                 "sent")
        assert invoice.number == "E0001"
        assert invoice.total == Decimal("173.60")  # (2 x 50 + 40) + 24 % VAT
        assert activity.starts_at == dt.datetime.fromisoformat(first)
        assert activity.ends_at - activity.starts_at == dt.timedelta(minutes=90)
        assert (activity.client_id, activity.performer_id) == (client.id, sales.id)
    assert invoice.number in done.html.select_one("#order-invoice").get_text()

    # The confirmation leaves through the outbox: the PDF shows number and reference.
    assert make_worker(mail_settings).run_once() == 1
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["tellimus@helistaja.ee"]
    [pdf] = list(received.message.iter_attachments())
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_content())).pages)
    assert "Ettemaksuarve nr E0001" in text
    assert references.display(invoice.reference_number) in text

    # The booked time is no longer offered.
    again = _start(b, client.id).forms["order-lines"]
    again[f"qty-{install}"] = "1"
    offered = [x["value"] for x in again.submit().follow().html.select(
        "#order-slots button[name=slot]")]
    assert first not in offered


def test_bad_input_in_the_flow_changes_nothing(browser, tenant, make_user, make_client,
                                               dbsession):
    chair, install = _catalogue(dbsession, tenant)
    client = make_client(tenant, "Kiirustaja OÜ", sales_blocked=True)
    b = browser(tenant, make_user(tenant, "sales", locale="en"))
    lines = _start(b, client.id)
    refused = lines.forms["order-lines"].submit(status=400)
    assert "Pick at least one product or service." in refused.text
    form = refused.forms["order-lines"]
    form[f"qty-{chair}"] = "kaks"
    assert "Check the quantity of: Tool." in form.submit(status=400).text
    form = b.get(lines.request.url).forms["order-lines"]
    form[f"qty-{install}"] = "1"
    slots = form.submit().follow()
    taken = b.post(slots.request.url, {"csrf_token": b.csrf_token, "slot":
                                       "2001-01-01T10:00:00+02:00"}, status=400)
    assert "That time is no longer free" in taken.text
    first = slots.html.select("#order-slots button[name=slot]")[0]["value"]
    confirm_page = slots.forms["order-slots"].submit("slot", value=first).follow()
    # Sales to the client are blocked: confirming the invoice fails, nothing is issued.
    blocked = confirm_page.forms["order-confirm"].submit("confirm", value="1", status=400)
    assert "Sales to Kiirustaja OÜ are blocked." in blocked.text
    _fresh(dbsession)
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 0
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0
        assert dbsession.scalar(sa.select(Order.status)) == "open"


@pytest.mark.hookspec("order_flow_steps")
def test_a_plugin_can_insert_a_step(app, browser, tenant, make_user, make_client, dbsession):
    chair, _install = _catalogue(dbsession, tenant)
    client = make_client(tenant, "Samm OÜ")
    seen = []

    def note(request, order):
        seen.append(order.id)  # a step without a page runs between the others

    plugin = types.SimpleNamespace()

    @hookimpl
    def order_flow_steps(request, steps):
        position = [s.name for s in steps].index("issue_prepayment")
        steps.insert(position, OrderStep("company_note", "Note", note, page=False))

    plugin.order_flow_steps = order_flow_steps
    manager = app.registry["plugins"].pm
    manager.register(plugin, name="test_order_step")
    try:
        b = browser(tenant, make_user(tenant, "sales", locale="en"))
        form = _start(b, client.id).forms["order-lines"]
        form[f"qty-{chair}"] = "1"
        confirm_page = form.submit().maybe_follow()  # no service: the time step is skipped
        confirm_page.forms["order-confirm"].submit("confirm", value="1").follow()
    finally:
        manager.unregister(plugin)
    _fresh(dbsession)
    with tenant_scope(dbsession, tenant.id):
        order = dbsession.scalar(sa.select(Order))
    assert seen == [order.id] and order.status == "confirmed"


def test_another_tenants_order_is_not_found(browser, make_tenant, make_user, make_client,
                                             dbsession):
    a = make_tenant("Alfa AS", host="alfa.test")
    other = make_tenant("Beeta OÜ", host="beeta.test")
    theirs = make_client(other, "Beeta Klient OÜ")
    with tenant_scope(dbsession, other.id):
        order = Order(client_id=theirs.id, step="pick_lines", lines=[])
        dbsession.add(order)
        dbsession.commit()
        order_id = order.id
    b = browser(a, make_user(a, "manager"))
    b.get(f"/orders/{order_id}", status=404)
    b.get(f"/orders/{order_id}/pick_lines", status=404)
    b.post(f"/clients/{theirs.id}/orders", {"csrf_token": b.csrf_token}, status=404)
