"""Bulk sending of invoices (I4, M3): the unsent confirmed invoices, or the chosen ones, go
out by e-mail (PDF attached or as HTML) through a background job whose progress page the
user follows; every message and its outcome is recorded, a failed delivery is retried and
none is sent twice. The mail arrives at a real SMTP server."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from core.db import tenant_scope
from core.models import Job, MailMessage, User
from plugins.invoicing import bulk, sending
from plugins.invoicing.bulk import BULK_SEND, BULK_SEND_NEXT, CHUNK_SETTING, marker
from plugins.invoicing.invoices import LineInput, add_line, confirm, new_draft
from plugins.invoicing.models import Delivery, Invoice, Settings

ADDRESSES = ("arved@kask.ee", "raamat@mets.ee", "info@pold.ee", "arved@jarv.ee")


@dataclass
class Arranged:
    """Five confirmed invoices (the last one's client has no e-mail address) and a draft."""

    user: User
    with_address: list[Invoice]
    no_address: Invoice
    draft: Invoice

    @property
    def confirmed(self) -> list[Invoice]:
        """Every confirmed invoice, oldest first."""
        return [*self.with_address, self.no_address]

    def number_for(self, address: str) -> str:
        """The number of the invoice e-mailed to ``address``."""
        return next(inv.number for inv in self.with_address if inv.invoice_email == address)


def _invoice(dbsession: Any, tenant: Any, client: Any, user: User, amount: str, *,
             confirmed: bool = True) -> Invoice:
    with tenant_scope(dbsession, tenant.id):
        draft = new_draft(dbsession, dbsession.merge(client), dbsession.get(User, user.id))
        add_line(dbsession, draft, LineInput(description="Konsultatsioon",
                                             quantity=Decimal(1), unit_price=Decimal(amount)))
        if confirmed:
            confirm(dbsession, draft, dbsession.get(User, user.id))
        dbsession.commit()
        dbsession.expunge(draft)
        return draft


@pytest.fixture
def arranged(dbsession, tenant, make_user, make_client) -> Arranged:
    user = make_user(tenant, "secretary", locale="en")
    with tenant_scope(dbsession, tenant.id):
        settings = dbsession.scalar(sa.select(Settings))
        settings.seller_name, settings.iban = "Acme OÜ", "EE382200221020145685"
        settings.email = "arved@acme.ee"
        dbsession.commit()
    names = ("Kask OÜ", "Mets AS", "Põld OÜ", "Järv MTÜ")
    with_address = [
        _invoice(dbsession, tenant, make_client(tenant, name, invoice_email=address), user,
                 f"{100 + n}.50")
        for n, (name, address) in enumerate(zip(names, ADDRESSES, strict=True))
    ]
    silent = make_client(tenant, "Vaikne OÜ")  # no e-mail address at all
    no_address = _invoice(dbsession, tenant, silent, user, "80")
    draft = _invoice(dbsession, tenant, silent, user, "10", confirmed=False)
    return Arranged(user, with_address, no_address, draft)


def _worker(make_worker: Any, mail_settings: dict[str, str], chunk: int = 2) -> Any:
    return make_worker({**mail_settings, CHUNK_SETTING: str(chunk)})


def _drain(worker: Any, rounds: int = 10) -> None:
    for _ in range(rounds):
        if worker.run_once() == 0:
            return
    raise AssertionError(f"the worker still had work after {rounds} rounds")


def _fresh(dbsession: Any) -> None:
    dbsession.rollback()
    dbsession.expire_all()


def _job(dbsession: Any, job_id: int) -> Job:
    _fresh(dbsession)
    return dbsession.get(Job, job_id)


def _start(dbsession: Any, tenant: Any, invoices: list[Invoice], fmt: str = "pdf",
           user: User | None = None) -> int:
    with tenant_scope(dbsession, tenant.id):
        job = bulk.start_bulk_send(dbsession, [inv.id for inv in invoices], fmt,
                                   user.id if user else None)
        dbsession.commit()
        return job.id


def _pdf_text(mail: Any) -> str:
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    reader = PdfReader(io.BytesIO(attachment.get_content()))
    return " ".join(page.extract_text() for page in reader.pages)


def _text(page: Any, selector: str) -> str:
    node = page.html.select_one(selector)
    assert node is not None, f"{selector} not on the page"
    return " ".join(node.get_text().split())


def _refresh(page: Any) -> str | None:
    meta = page.html.select_one('meta[http-equiv="refresh"]')
    return meta["content"] if meta is not None else None


@pytest.mark.hookspec("job_handlers")
def test_send_all_unsent_invoices_as_pdf_following_the_progress(
        browser, tenant, arranged, dbsession, make_worker, mail_settings, smtp_server):
    b = browser(tenant, arranged.user)
    page = b.get("/invoices").click("Send invoices")
    assert "To be e-mailed: 4." in _text(page, "#preview-count")
    skipped = _text(page, "#skipped")
    assert arranged.no_address.number in skipped and "no e-mail address" in skipped
    listed = [row["id"] for row in page.html.select("#candidates tbody tr")]
    assert listed == [f"candidate-{inv.id}" for inv in arranged.confirmed]  # not the draft

    form = page.forms["bulk-form"]
    assert (form["mode"].value, form["format"].value) == ("all", "pdf")
    response = form.submit("action", value="send", status=303)
    job_id = int(response.location.rsplit("/", 1)[1])
    assert response.location.endswith(f"/invoices/bulk/{job_id}")
    job = _job(dbsession, job_id)
    assert (job.kind, job.status, job.created_by) == (BULK_SEND, "queued", arranged.user.id)
    assert job.payload == {"invoice_ids": [inv.id for inv in arranged.confirmed],
                           "format": "pdf", "user_id": arranged.user.id}
    page = response.follow()
    assert "Sending 4 invoices in the background." in page.text
    assert "0 of 5 invoices handled" in _text(page, "#progress")
    assert _refresh(page) == "3"

    worker = _worker(make_worker, mail_settings, chunk=2)
    worker.run_once()  # the first chunk: two invoices, committed and delivered
    page = b.get(f"/invoices/bulk/{job_id}")
    assert "2 of 5 invoices handled" in _text(page, "#progress")
    assert _text(page, "#count-sent") == "2"
    assert _refresh(page) == "3"  # still running: reloads itself
    assert len(smtp_server.messages) == 2

    _drain(worker)
    received = smtp_server.messages
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(ADDRESSES)
    assert len(set(smtp_server.message_ids)) == 4
    for mail in received:
        number = arranged.number_for(mail.rcpt_tos[0])
        assert number in mail.message["Subject"]
        assert number in _pdf_text(mail.message)

    page = b.get(f"/invoices/bulk/{job_id}")
    assert "5 of 5 invoices handled" in _text(page, "#progress")
    assert "finished" in _text(page, "#state")
    assert (_text(page, "#count-sent"), _text(page, "#count-no-address"),
            _text(page, "#count-failed"), _text(page, "#count-waiting")) == ("4", "1", "0", "0")
    assert _refresh(page) is None
    row = _text(page, f"#outcome-{arranged.no_address.id}")
    assert arranged.no_address.number in row and "no e-mail address" in row
    for inv in arranged.with_address:
        assert "sent" in _text(page, f"#outcome-{inv.id}")

    job = _job(dbsession, job_id)
    assert job.status == "done" and (job.progress_done, job.progress_total) == (5, 5)
    assert (job.result["queued"], job.result["skipped"], job.result["skipped_no_address"],
            job.result["failed"], job.result["finished"]) == (4, 1, 1, 0, True)
    assert job.result["outcomes"][str(arranged.no_address.id)]["reason"] == "no_address"
    chunks = dbsession.scalars(sa.select(Job).where(Job.kind == BULK_SEND_NEXT)).all()
    assert [(c.status, c.payload) for c in chunks] == [("done", {"batch_job_id": job_id})] * 2
    with tenant_scope(dbsession, tenant.id):
        deliveries = dbsession.scalars(sa.select(Delivery)).all()
        assert sorted(d.invoice_id for d in deliveries) == [i.id for i in arranged.with_address]
        assert {(d.channel, d.detail, d.created_by_id) for d in deliveries} == {
            ("email", marker(job_id), arranged.user.id)}
        statuses = {inv.id: inv.status for inv in dbsession.scalars(sa.select(Invoice))}
        assert [statuses[i.id] for i in arranged.with_address] == ["sent"] * 4
        assert statuses[arranged.no_address.id] == "confirmed"
        assert statuses[arranged.draft.id] == "draft"
    # Nothing is left to send: the form says so.
    page = b.get("/invoices/bulk")
    assert "To be e-mailed: 0." in _text(page, "#preview-count")
    assert page.html.select_one(f'#recent a[href$="/invoices/bulk/{job_id}"]') is not None


@pytest.mark.hookspec("job_handlers")
def test_running_the_job_again_sends_nothing_twice(
        tenant, arranged, dbsession, make_worker, mail_settings, smtp_server):
    job_id = _start(dbsession, tenant, arranged.confirmed, user=arranged.user)
    worker = _worker(make_worker, mail_settings, chunk=3)
    _drain(worker)
    assert len(smtp_server.messages) == 4
    first = _job(dbsession, job_id).result

    # Run as it is: everything is handled already.
    job = _job(dbsession, job_id)
    job.status = "queued"
    dbsession.commit()
    _drain(worker)
    assert len(smtp_server.messages) == 4
    assert _job(dbsession, job_id).result == first

    # Run with its summary lost: the Deliveries of the job show what it queued.
    job = _job(dbsession, job_id)
    job.status, job.result, job.progress_done = "queued", None, 0
    dbsession.commit()
    _drain(worker)
    assert len(smtp_server.messages) == 4
    again = _job(dbsession, job_id).result
    assert (again["queued"], again["skipped_no_address"], again["finished"]) == (4, 1, True)
    assert {k: v["outcome"] for k, v in again["outcomes"].items()} == {
        k: v["outcome"] for k, v in first["outcomes"].items()}

    # A new sending of the same invoices skips them: they are sent already.
    other_id = _start(dbsession, tenant, arranged.confirmed, user=arranged.user)
    _drain(worker)
    assert len(smtp_server.messages) == 4
    other = _job(dbsession, other_id).result
    assert (other["queued"], other["skipped"]) == (0, 5)
    assert other["outcomes"][str(arranged.with_address[0].id)]["reason"] == "not_confirmed"
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 4
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(MailMessage)) == 4


@pytest.mark.hookspec("job_handlers")
def test_a_crashed_chunk_is_rolled_back_and_sent_once(
        tenant, arranged, dbsession, make_worker, mail_settings, smtp_server, clock,
        monkeypatch):
    job_id = _start(dbsession, tenant, arranged.confirmed, user=arranged.user)
    calls = []
    real_enqueue = bulk.enqueue

    def crash_on_the_second_chunk(*args: Any, **kwargs: Any) -> Job:
        calls.append(args[1])
        if len(calls) == 2:  # the second chunk dies after queueing its e-mails
            raise RuntimeError("worker killed")
        return real_enqueue(*args, **kwargs)

    monkeypatch.setattr(bulk, "enqueue", crash_on_the_second_chunk)
    worker = _worker(make_worker, mail_settings, chunk=2)
    worker.run_once()
    worker.run_once()
    job = _job(dbsession, job_id)
    assert (job.progress_done, len(smtp_server.messages)) == (2, 2)
    [chunk] = dbsession.scalars(sa.select(Job).where(Job.kind == BULK_SEND_NEXT)).all()
    assert chunk.status == "queued" and "worker killed" in chunk.last_error
    with tenant_scope(dbsession, tenant.id):  # the crashed chunk left nothing behind
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(MailMessage)) == 2

    clock.advance(minutes=5)  # past the job's retry delay
    _drain(worker)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.messages) == sorted(ADDRESSES)
    job = _job(dbsession, job_id)
    assert (job.result["queued"], job.result["finished"]) == (4, True)
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(MailMessage)) == 4


@pytest.mark.hookspec("job_handlers")
@pytest.mark.parametrize("outage", ["down", "421"])
def test_smtp_trouble_at_first_is_retried_and_each_invoice_delivered_once(
        outage, browser, tenant, arranged, dbsession, make_worker, mail_settings, smtp_server,
        clock):
    if outage == "down":
        smtp_server.stop()
    else:
        smtp_server.fail_after(0)  # every message gets "421 try again later"
    job_id = _start(dbsession, tenant, arranged.confirmed, user=arranged.user)
    worker = _worker(make_worker, mail_settings, chunk=25)
    worker.run_once()
    assert smtp_server.messages == []
    job = _job(dbsession, job_id)
    assert job.status == "done" and job.result["queued"] == 4
    with tenant_scope(dbsession, tenant.id):
        messages = dbsession.scalars(sa.select(MailMessage)).all()
        assert {m.status for m in messages} == {"queued"}
        assert any(m.last_error for m in messages)

    b = browser(tenant, arranged.user)
    page = b.get(f"/invoices/bulk/{job_id}")
    assert _text(page, "#count-waiting") == "4" and _text(page, "#count-sent") == "0"
    assert "waiting for the mail server" in _text(page, "#state")
    assert "trying again" in _text(page, "#outcomes")
    assert _refresh(page) == "15"

    worker.run_once()  # not due yet: nothing is tried
    assert smtp_server.messages == []
    if outage == "down":
        smtp_server.start()
    else:
        smtp_server.behave()
    clock.advance(minutes=10)
    _drain(worker)
    clock.advance(hours=3)
    _drain(worker)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.messages) == sorted(ADDRESSES)
    assert len(set(smtp_server.message_ids)) == 4
    _fresh(dbsession)
    with tenant_scope(dbsession, tenant.id):
        assert {m.status for m in dbsession.scalars(sa.select(MailMessage))} == {"sent"}
    page = b.get(f"/invoices/bulk/{job_id}")
    assert (_text(page, "#count-sent"), _text(page, "#count-waiting")) == ("4", "0")
    assert _refresh(page) is None


@pytest.mark.hookspec("job_handlers")
def test_selected_invoices_as_html(
        browser, tenant, arranged, dbsession, make_worker, mail_settings, smtp_server):
    b = browser(tenant, arranged.user)
    chosen = [arranged.with_address[1], arranged.with_address[3], arranged.no_address]
    params = [("csrf_token", b.csrf_token), ("mode", "selected"), ("format", "html"),
              *[("invoice_id", str(inv.id)) for inv in chosen]]
    page = b.post("/invoices/bulk", [*params, ("action", "preview")])
    assert "Chosen invoices: 3." in _text(page, "#preview")
    assert "To be e-mailed: 2." in _text(page, "#preview-count")
    assert arranged.no_address.number in _text(page, "#skipped")
    form = page.forms["bulk-form"]
    assert (form["mode"].value, form["format"].value) == ("selected", "html")
    ticked = [f._value for f in form.fields["invoice_id"] if f.checked]
    assert ticked == sorted((str(inv.id) for inv in chosen), key=int)

    response = form.submit("action", value="send", status=303)
    job_id = int(response.location.rsplit("/", 1)[1])
    _drain(_worker(make_worker, mail_settings))
    received = smtp_server.messages
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(
        inv.invoice_email for inv in chosen[:2])
    for mail in received:
        number = arranged.number_for(mail.rcpt_tos[0])
        assert list(mail.message.iter_attachments()) == []
        assert number in mail.message.get_body(("html",)).get_content()
    job = _job(dbsession, job_id)
    assert job.payload["format"] == "html"
    assert (job.result["queued"], job.result["skipped_no_address"]) == (2, 1)
    with tenant_scope(dbsession, tenant.id):
        statuses = {inv.id: inv.status for inv in dbsession.scalars(sa.select(Invoice))}
    assert [statuses[inv.id] for inv in arranged.with_address] == [
        "confirmed", "sent", "confirmed", "sent"]
    page = b.get(f"/invoices/bulk/{job_id}")
    assert "HTML in the message body" in page.text
    assert len(page.html.select("#outcomes tbody tr")) == 3


@pytest.mark.hookspec("job_handlers")
def test_an_invoice_that_cannot_be_made_fails_alone(
        browser, tenant, arranged, dbsession, make_worker, mail_settings, smtp_server,
        monkeypatch):
    broken = arranged.with_address[2]
    real_render = sending.render_pdf_of

    def render(registry: Any, doc: Any) -> bytes:
        if doc.number == broken.number:
            raise ValueError("font missing")
        return real_render(registry, doc)

    monkeypatch.setattr(sending, "render_pdf_of", render)
    job_id = _start(dbsession, tenant, arranged.with_address, user=arranged.user)
    _drain(_worker(make_worker, mail_settings))
    assert len(smtp_server.messages) == 3
    assert broken.invoice_email not in [r.rcpt_tos[0] for r in smtp_server.messages]
    job = _job(dbsession, job_id)
    assert (job.result["queued"], job.result["failed"]) == (3, 1)
    assert "font missing" in job.result["outcomes"][str(broken.id)]["error"]
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.get(Invoice, broken.id).status == "confirmed"  # rolled back
    page = browser(tenant, arranged.user).get(f"/invoices/bulk/{job_id}")
    assert _text(page, "#count-failed") == "1"
    assert "font missing" in _text(page, f"#outcome-{broken.id}")


def test_refusals_and_other_tenants(browser, tenant, make_tenant, make_user, arranged,
                                    dbsession):
    b = browser(tenant, arranged.user)
    token = b.csrf_token
    page = b.post("/invoices/bulk", {"csrf_token": token, "mode": "selected",
                                     "action": "send"}, status=400)
    assert "Choose the invoices to send." in _text(page, "#bulk-error")
    page = b.post("/invoices/bulk", {"csrf_token": token, "mode": "selected",
                                     "invoice_id": str(arranged.no_address.id),
                                     "action": "send"}, status=400)
    assert "None of the chosen invoices can be e-mailed." in page.text
    # A draft or another tenant's invoice cannot be chosen at all.
    page = b.post("/invoices/bulk", {"csrf_token": token, "mode": "selected",
                                     "invoice_id": str(arranged.draft.id),
                                     "action": "send"}, status=400)
    assert "There are no unsent confirmed invoices to send." in page.text
    _fresh(dbsession)
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Job)) == 0

    job_id = _start(dbsession, tenant, arranged.confirmed, user=arranged.user)
    assert b.get(f"/invoices/bulk/{job_id}").status_int == 200
    b.get("/invoices/bulk/999999", status=404)
    other = make_tenant("Muu OÜ", host="muu.test")
    stranger = browser(other, make_user(other, "manager", locale="en"))
    stranger.get(f"/invoices/bulk/{job_id}", status=404)
    stranger.post("/invoices/bulk", [("csrf_token", stranger.csrf_token), ("mode", "selected"),
                                     ("invoice_id", str(arranged.with_address[0].id)),
                                     ("action", "send")], status=400)
