"""Sending invoices by e-mail (I4, W1): the envelope on the card's invoices tab re-sends an
invoice to the client's invoice address, which can be corrected right there; the message
goes through the outbox to a real SMTP server with the PDF attached."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from core.db import tenant_scope
from core.models import MailMessage, User
from plugins.crm_register.models import Client
from plugins.invoicing import references
from plugins.invoicing.invoices import LineInput, add_line, confirm, new_draft
from plugins.invoicing.models import Delivery, Invoice, Settings


def _confirmed_invoice(dbsession, tenant, client, user) -> Invoice:
    with tenant_scope(dbsession, tenant.id):
        settings = dbsession.scalar(sa.select(Settings))
        settings.seller_name, settings.iban = "Acme OÜ", "EE382200221020145685"
        settings.email = "arved@acme.ee"
        settings.registry_code, settings.vat_number = "12345678", "EE101234568"
        draft = new_draft(dbsession, dbsession.merge(client), dbsession.get(User, user.id))
        add_line(dbsession, draft, LineInput(description="Konsultatsioon",
                                             quantity=Decimal(2), unit_price=Decimal("60")))
        confirm(dbsession, draft, dbsession.get(User, user.id))
        dbsession.commit()
        return draft


def test_envelope_resends_the_invoice_to_a_corrected_address(
        browser, tenant, make_user, make_client, dbsession, smtp_server, mail_settings,
        make_worker):
    secretary = make_user(tenant, "secretary", locale="en")
    client = make_client(tenant, "Mets & Põld OÜ", invoice_email="vana@metsjapold.ee")
    invoice = _confirmed_invoice(dbsession, tenant, client, secretary)
    b = browser(tenant, secretary)
    tab = b.get(f"/clients/{client.id}/invoices")
    form = tab.forms[f"send-{invoice.id}"]
    assert form["email"].value == "vana@metsjapold.ee"
    form["email"] = "arved@metsjapold.ee"  # the client says the address changed
    page = form.submit().follow()
    assert "is on its way to arved@metsjapold.ee" in page.text

    assert make_worker(mail_settings).run_once() == 1
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["arved@metsjapold.ee"]
    mail = received.message
    assert invoice.number in mail["Subject"]
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(
        attachment.get_content())).pages)
    assert invoice.number in text
    assert references.display(invoice.reference_number) in text
    assert "Mets & Põld OÜ" in mail.get_body(("html",)).get_content().replace("&amp;", "&")

    dbsession.rollback()
    dbsession.expire_all()
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.get(Client, client.id).invoice_email == "arved@metsjapold.ee"
        sent = dbsession.get(Invoice, invoice.id)
        assert sent.status == "sent" and sent.sent_at is not None
        [delivery] = dbsession.scalars(sa.select(Delivery)).all()
        assert (delivery.channel, delivery.recipient) == ("email", "arved@metsjapold.ee")
    with tenant_scope(dbsession, tenant.id):
        message = dbsession.get(MailMessage, delivery.mail_message_id)
        assert message.status == "sent"
    # The invoice page lists the sending with the outbox's outcome.
    assert "arved@metsjapold.ee" in b.get(f"/invoices/{invoice.id}").html.select_one(
        "#deliveries").get_text()


def test_a_bad_address_sends_nothing(browser, tenant, make_user, make_client, dbsession):
    secretary = make_user(tenant, "secretary", locale="en")
    client = make_client(tenant, "Kuusk OÜ", invoice_email="arved@kuusk.ee")
    invoice = _confirmed_invoice(dbsession, tenant, client, secretary)
    b = browser(tenant, secretary)
    form = b.get(f"/clients/{client.id}/invoices").forms[f"send-{invoice.id}"]
    form["email"] = "arved@kuusk"
    page = form.submit().follow()
    assert "arved@kuusk is not a valid e-mail address." in page.text
    dbsession.rollback()
    dbsession.expire_all()
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(MailMessage)) == 0
        assert dbsession.get(Client, client.id).invoice_email == "arved@kuusk.ee"
        assert dbsession.get(Invoice, invoice.id).status == "confirmed"


@pytest.mark.hookspec("einvoice_channels")
def test_einvoice_goes_to_the_operator_folder(app, browser, tenant, make_user, make_client,
                                              dbsession, tmp_path, monkeypatch):
    monkeypatch.setitem(app.registry.settings, "invoicing.einvoice_path", str(tmp_path))
    accountant = make_user(tenant, "accountant", locale="en")
    client = make_client(tenant, "E-arve OÜ", registry_code="10137319")
    invoice = _confirmed_invoice(dbsession, tenant, client, accountant)
    b = browser(tenant, accountant)
    page = b.get(f"/invoices/{invoice.id}")
    assert [o["value"] for o in page.html.select("#einvoice-form option")] == ["file"]
    page = page.forms["einvoice-form"].submit().follow()
    assert f"Invoice {invoice.number} was handed to the e-invoice channel." in page.text
    [written] = list(tmp_path.rglob("*.xml"))
    assert written.name == f"{invoice.number}.xml"
    assert f"<cbc:ID>{invoice.number}</cbc:ID>".encode() in written.read_bytes()
    dbsession.rollback()
    dbsession.expire_all()
    with tenant_scope(dbsession, tenant.id):
        [delivery] = dbsession.scalars(sa.select(Delivery)).all()
    assert (delivery.channel, delivery.detail) == ("file", str(written))
    # A draft cannot be sent; nothing is written.
    with tenant_scope(dbsession, tenant.id):
        draft = new_draft(dbsession, dbsession.merge(client), None)
        dbsession.commit()
    refused = b.post(f"/invoices/{draft.id}/einvoice", {"channel": "file",
                                                        "csrf_token": b.csrf_token}).follow()
    assert "Confirm the invoice before sending it." in refused.text
    assert len(list(tmp_path.rglob("*.xml"))) == 1
