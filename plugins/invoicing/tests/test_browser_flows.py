"""The invoicing plugin's two user flows in a real browser (Playwright driving Debian's
Chromium against the live server), with the e-mail delivered by the real worker to a real
SMTP server:

* W1 "the client didn't get the invoice": a secretary finds the client, opens the envelope
  on the card's invoices tab, corrects the address in place and sends the invoice again;
* W2 "the client phones to order": a salesperson takes a phone order of a product and a
  service, picks a free time and confirms; the service is booked in the calendar and the
  prepayment invoice is e-mailed.

The live server only queues mail in the outbox; each test runs the worker itself.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import sqlalchemy as sa
from pypdf import PdfReader

from core.db import tenant_scope
from core.models import User
from plugins.crm_register.models import Activity, Client
from plugins.invoicing import references
from plugins.invoicing.invoices import LineInput, add_line, confirm, new_draft
from plugins.invoicing.models import Invoice, Order, Series, Settings


def _seller(dbsession, tenant, series: str) -> None:
    """The invoicing settings of the tenant (a PDF needs the seller's details); the
    ``series`` has issued 1233 numbers already, so the reference number of the next one is
    long enough to be printed in groups of four digits."""
    with tenant_scope(dbsession, tenant.id):
        settings = dbsession.scalar(sa.select(Settings))
        settings.seller_name = tenant.name
        settings.registry_code, settings.vat_number = "12345678", "EE101234568"
        settings.iban = "EE382200221020145685"
        settings.email = "arved@brauser.ee"
        dbsession.scalar(sa.select(Series).where(Series.code == series)).last_number = 1233
        dbsession.commit()


def _open_invoices_tab(page) -> None:
    page.locator("nav.tabs a[href$='/invoices']").click()
    page.wait_for_url(re.compile(r".*/clients/\d+/invoices$"))


def _deliver(make_worker, mail_settings, smtp_server) -> list:
    """Run the worker until it finds nothing to do; the mails the SMTP server accepted."""
    worker = make_worker(mail_settings)
    assert worker.run_once() >= 1, "the outbox held the message"
    while worker.run_once():
        pass
    return smtp_server.messages


def _pdf_text(mail) -> str:
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    reader = PdfReader(io.BytesIO(attachment.get_content()))
    return " ".join(page.extract_text() for page in reader.pages)


def test_w1_secretary_resends_the_invoice_to_a_corrected_address(
        live_server, chromium_page, make_tenant, make_user, make_client, dbsession,
        smtp_server, mail_settings, make_worker):
    tenant = make_tenant("Brauseri OÜ", host="127.0.0.1")
    secretary = make_user(tenant, "secretary", email="liis@brauser.ee", name="Liis Õunapuu")
    client = make_client(tenant, "Mets & Põld OÜ", invoice_email="vana@metsjapold.ee")
    make_client(tenant, "Muu Firma AS", invoice_email="arved@muu.ee")
    _seller(dbsession, tenant, "invoice")
    with tenant_scope(dbsession, tenant.id):
        author = dbsession.get(User, secretary.id)
        invoice = new_draft(dbsession, dbsession.merge(client), author)
        add_line(dbsession, invoice, LineInput(description="Konsultatsioon",
                                               quantity=Decimal(2), unit_price=Decimal(60)))
        confirm(dbsession, invoice, author)
        dbsession.commit()
        invoice_id, number = invoice.id, invoice.number
        reference = references.display(invoice.reference_number)
    assert number == "1234"
    assert re.fullmatch(r"1234 \d\d", reference)  # e.g. "1234 16"
    page = chromium_page

    live_server.log_in(page, "liis@brauser.ee")

    # Search while typing, without Estonian letters, and open the card from the results.
    page.goto(live_server.url + "/clients")
    page.fill("#client-search", "pold")
    result = page.locator("#search-results a[role=option]").first
    result.wait_for()
    assert result.inner_text().startswith("Mets & Põld OÜ")
    assert page.locator("#search-results a[role=option]").count() == 1
    result.click()
    page.wait_for_url(re.compile(rf".*/clients/{client.id}$"))
    assert "Mets & Põld OÜ" in page.locator("#client-header").inner_text()

    # The invoices tab ("Arved"): the envelope opens a form with the old address in it.
    _open_invoices_tab(page)
    row = page.locator(f"#invoice-{invoice_id}")
    assert number in row.inner_text()
    address = page.locator(f"#send-{invoice_id} input[name=email]")
    assert not address.is_visible()  # the envelope is closed
    row.locator("details.send-again > summary").click()
    address.wait_for(state="visible")
    assert address.input_value() == "vana@metsjapold.ee"
    address.fill("arved@metsjapold.ee")  # the client says the address has changed
    with page.expect_navigation():  # back to the same tab, with the confirmation
        page.locator(f"#send-{invoice_id} button[type=submit]").click()
    assert re.search(rf"/clients/{client.id}/invoices$", page.url)
    flash = page.locator(".flash-success")
    assert flash.inner_text().strip() \
        == f"Arve {number} saadetakse aadressile arved@metsjapold.ee."
    assert page.locator(f"#send-{invoice_id} input[name=email]").input_value() \
        == "arved@metsjapold.ee"

    # The worker delivers the queued message to the real SMTP server.
    [received] = _deliver(make_worker, mail_settings, smtp_server)
    assert received.rcpt_tos == ["arved@metsjapold.ee"]
    assert number in received.message["Subject"]
    text = _pdf_text(received.message)
    assert number in text
    assert reference in text

    dbsession.rollback()
    dbsession.expire_all()
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.get(Invoice, invoice_id).status == "sent"
        # "Save as the client's invoice address" was ticked (the default).
        assert dbsession.get(Client, client.id).invoice_email == "arved@metsjapold.ee"


def test_w2_salesperson_takes_a_phone_order(
        live_server, chromium_page, make_tenant, make_user, make_client, make_product,
        dbsession, smtp_server, mail_settings, make_worker):
    tenant = make_tenant("Brauseri OÜ", host="127.0.0.1")
    sales = make_user(tenant, "sales", email="mari@brauser.ee", name="Mari Müük")
    client = make_client(tenant, "Helistaja OÜ", invoice_email="tellimus@helistaja.ee")
    _seller(dbsession, tenant, "prepayment")
    chair = make_product(tenant, "TOOL", "Kontoritool", "50.00")
    install = make_product(tenant, "PAIGALDUS", "Paigaldus", "40.00", is_service=True,
                           unit_code="HUR", service_minutes=90)
    page = chromium_page

    live_server.log_in(page, "mari@brauser.ee")

    # The card -> the invoices tab -> "Telefonitellimus".
    page.goto(f"{live_server.url}/clients/{client.id}")
    assert "Helistaja OÜ" in page.locator("#client-header").inner_text()
    _open_invoices_tab(page)
    order_button = page.locator("#new-order-form button[type=submit]")
    assert order_button.inner_text().strip() == "Telefonitellimus"
    order_button.click()

    # Quantities of a product and a service, then "Edasi".
    lines = page.locator("#order-lines")
    lines.wait_for()
    lines.locator(f"#qty-{chair.id}").fill("2")
    lines.locator(f"#qty-{install.id}").fill("1")
    lines.locator("button[type=submit]").click()

    # The first free time of the salesperson.
    first = page.locator("#order-slots button[name=slot]").first
    first.wait_for()
    slot = first.get_attribute("value")
    slot_start = dt.datetime.fromisoformat(slot)  # in the tenant's time zone
    first.click()

    # Confirm the order: the done page names the prepayment invoice.
    summary = page.locator("#order-summary")
    summary.wait_for()
    assert "Kontoritool" in summary.inner_text() and "Paigaldus" in summary.inner_text()
    assert slot_start.strftime("%H:%M") in page.locator("#order-time").inner_text()
    page.locator("#order-confirm button[name=confirm]").click()
    done = page.locator("#order-invoice")
    done.wait_for()
    assert page.locator("h2", has_text="Tellimus on kinnitatud").is_visible()
    number = done.locator("a").inner_text().strip()
    assert number == "E1234"
    assert done.inner_text().startswith(f"Ettemaksuarve {number}, viitenumber ")

    # In the database: the invoice, and the service booked for the client at that time.
    dbsession.rollback()
    dbsession.expire_all()
    with tenant_scope(dbsession, tenant.id):
        order = dbsession.scalar(sa.select(Order))
        invoice = dbsession.get(Invoice, order.invoice_id)
        assert (invoice.number, invoice.kind) == (number, "prepayment")
        assert invoice.total == Decimal("173.60")  # (2 x 50 + 40) + 24 % VAT
        reference = references.display(invoice.reference_number)
        assert re.fullmatch(r"1234 3\d", reference)  # sequence, series digit, check digit
        [activity] = dbsession.scalars(sa.select(Activity)).all()
        assert activity.id == order.activity_id
        assert (activity.client_id, activity.performer_id) == (client.id, sales.id)
        assert activity.starts_at == slot_start
        assert activity.ends_at - activity.starts_at == dt.timedelta(minutes=90)
        assert activity.name == "Paigaldus"  # the services of the order
    assert reference in done.inner_text()

    # The day view of the calendar shows the booked service.
    page.goto(f"{live_server.url}/calendar?view=day&date={slot_start.date().isoformat()}")
    day = page.locator("#calendar-day").inner_text()
    assert "Paigaldus" in day
    assert "Helistaja OÜ" in day
    end = slot_start + dt.timedelta(minutes=90)
    assert f"{slot_start:%H:%M}–{end:%H:%M}" in day

    # The worker e-mails the prepayment invoice to the client's invoice address.
    [received] = _deliver(make_worker, mail_settings, smtp_server)
    assert received.rcpt_tos == ["tellimus@helistaja.ee"]
    text = _pdf_text(received.message)
    assert f"Ettemaksuarve nr {number}" in text
    assert reference in text
