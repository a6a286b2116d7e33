"""The mail outbox and its delivery by the worker, against a real SMTP server (aiosmtpd).

The worker's clock is the ``clock`` fixture: tests move it forward past retry delays and
lock timeouts instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import email
import socket
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa

from core.db import make_engine, tenant_scope
from core.mail import Attachment, claim_messages, queue_mail
from core.models import MailMessage
from core.testing import drain_concurrently

SENDER = "Müük OÜ <myyk@acme.test>"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n\x00\xff\r\n.\r\ntrailer\n%%EOF\n"


def queue(dbsession, tenant, **overrides) -> MailMessage:
    """Queue a message for ``tenant`` in ``dbsession``'s transaction (not committed)."""
    fields = {
        "to": ["mari@klient.test"],
        "subject": "Tere",
        "body_text": "Tere!",
        "sender": SENDER,
    }
    fields.update(overrides)
    with tenant_scope(dbsession, tenant.id):
        return queue_mail(dbsession, **fields)


def queue_many(dbsession, tenant, count: int) -> list[str]:
    """Queue and commit ``count`` messages; returns their Message-IDs in queue order."""
    ids = [
        queue(dbsession, tenant, to=[f"klient{n}@klient.test"], subject=f"Teade {n}").message_id
        for n in range(count)
    ]
    dbsession.commit()
    return ids


def outbox(dbsession) -> list[MailMessage]:
    """Every outbox row, fresh from the database, in id order."""
    dbsession.rollback()  # a new transaction: on SQLite a transaction reads one snapshot
    dbsession.expire_all()
    return list(dbsession.scalars(sa.select(MailMessage).order_by(MailMessage.id)))


def within(value: dt.datetime, earliest: dt.datetime, latest: dt.datetime) -> bool:
    """``earliest <= value <= latest`` (bounds from the test clock around a worker call)."""
    return earliest <= value <= latest


# --- queueing ------------------------------------------------------------------------------

def test_rolled_back_transaction_sends_nothing(
    dbsession, tenant, make_worker, mail_settings, smtp_server
):
    queue(dbsession, tenant, subject="Never")
    dbsession.rollback()

    assert make_worker(mail_settings).run_once() == 0
    assert smtp_server.messages == []
    assert outbox(dbsession) == []


def test_queue_mail_needs_a_recipient(dbsession, tenant):
    with pytest.raises(ValueError, match="recipient"):
        queue(dbsession, tenant, to=["  "])


# --- delivery ------------------------------------------------------------------------------

def test_committed_message_is_delivered_intact(
    dbsession, tenant, make_worker, mail_settings, smtp_server, clock
):
    message = queue(
        dbsession, tenant,
        to=["Mari Maasikas <mari@klient.test>", "jaan@klient.test"],
        cc=["raamatupidaja@acme.test"],
        reply_to="Müügiosakond <myyk@acme.test>",
        subject="Arve nr 2024-17 – tähtaeg 14 päeva",
        body_text="Tere, Mari!\n.\nArve on lisatud.\n",
        body_html="<p>Tere, <b>Mari</b>!</p><p>Arve on lisatud.</p>",
        attachments=[Attachment("arve-2024-17.pdf", "application/pdf", PDF)],
    )
    dbsession.commit()
    before = clock()

    assert make_worker(mail_settings).run_once() == 1

    [received] = smtp_server.messages
    mail = received.message
    assert mail["From"] == SENDER
    assert mail["To"] == "Mari Maasikas <mari@klient.test>, jaan@klient.test"
    assert mail["Cc"] == "raamatupidaja@acme.test"
    assert mail["Reply-To"] == "Müügiosakond <myyk@acme.test>"
    assert mail["Subject"] == "Arve nr 2024-17 – tähtaeg 14 päeva"
    assert mail["Message-ID"] == message.message_id
    date = parsedate_to_datetime(mail["Date"])
    assert date.tzinfo is not None
    assert abs(date - message.created_at) < dt.timedelta(seconds=1)

    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text.get_content() == "Tere, Mari!\n.\nArve on lisatud.\n"
    assert html.get_content().strip() == "<p>Tere, <b>Mari</b>!</p><p>Arve on lisatud.</p>"
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "arve-2024-17.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF

    assert received.mail_from == "myyk@acme.test"
    assert received.rcpt_tos == ["mari@klient.test", "jaan@klient.test",
                                 "raamatupidaja@acme.test"]
    [row] = outbox(dbsession)
    assert row.status == "sent"
    assert row.attempts == 1
    assert row.last_error is None
    assert within(row.sent_at, before, clock())


def test_bcc_is_in_the_envelope_but_not_in_the_headers(
    dbsession, tenant, make_worker, mail_settings, smtp_server
):
    queue(dbsession, tenant, to=["mari@klient.test"], bcc=["arhiiv@acme.test"])
    dbsession.commit()

    make_worker(mail_settings).run_once()

    [received] = smtp_server.messages
    assert received.rcpt_tos == ["mari@klient.test", "arhiiv@acme.test"]
    assert received.message["Bcc"] is None
    assert b"arhiiv@acme.test" not in received.data


def test_one_connection_serves_the_whole_batch(
    dbsession, tenant, make_worker, mail_settings, smtp_server
):
    message_ids = queue_many(dbsession, tenant, 5)

    assert make_worker(mail_settings).run_once() == 5

    assert smtp_server.message_ids == message_ids
    assert len({received.peer for received in smtp_server.messages}) == 1


def test_directory_backend_writes_a_parseable_eml_file(
    dbsession, tenant, make_worker, app_settings, tmp_path
):
    message = queue(
        dbsession, tenant, subject="Pakkumine", body_html="<p>Pakkumine</p>",
        bcc=["arhiiv@acme.test"],
        attachments=[Attachment("pakkumine.pdf", "application/pdf", PDF)],
    )
    dbsession.commit()
    folder = tmp_path / "outbox" / "new"  # created by the worker
    settings = {**app_settings, "mail.backend": "directory", "mail.directory": str(folder)}

    assert make_worker(settings).run_once() == 1

    assert [path.name for path in folder.iterdir()] == [f"{message.id}.eml"]
    parsed = email.message_from_bytes((folder / f"{message.id}.eml").read_bytes(),
                                      policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "Pakkumine"
    assert parsed["Message-ID"] == message.message_id
    assert parsed["Bcc"] is None
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Pakkumine</p>"
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_content() == PDF
    assert outbox(dbsession)[0].status == "sent"


# --- outages and refusals ------------------------------------------------------------------

def answer_421_after_three(server) -> str:
    """The server answers DATA with 421 after three accepted messages."""
    server.fail_after(3)
    return "421"


def crash_after_three(server) -> str:
    """The server goes down (connection cut, port closed) after three messages."""
    server.go_down_after(3)
    return "SMTPServerDisconnected"


@pytest.mark.parametrize("outage", [answer_421_after_three, crash_after_three])
def test_outage_mid_batch_is_retried_later_and_each_message_arrives_once(
    outage, dbsession, tenant, make_worker, mail_settings, smtp_server, clock
):
    message_ids = queue_many(dbsession, tenant, 10)
    worker = make_worker(mail_settings)
    expected_error = outage(smtp_server)
    before = clock()

    assert worker.run_once() == 4  # three sent, the fourth failed, the batch stopped

    after = clock()
    assert smtp_server.message_ids == message_ids[:3]
    rows = outbox(dbsession)
    assert [row.status for row in rows] == ["sent"] * 3 + ["queued"] * 7
    failed = rows[3]
    assert failed.attempts == 1
    assert expected_error in failed.last_error
    minute = dt.timedelta(seconds=60)
    assert within(failed.next_attempt_at, before + minute, after + minute)
    for untried in rows[4:]:  # put back without counting an attempt, not hammering
        assert (untried.attempts, untried.last_error, untried.locked_by) == (0, None, None)
        assert within(untried.next_attempt_at, before + minute, after + minute)

    assert worker.run_once() == 0  # nothing is due before the delay
    if smtp_server.running:
        smtp_server.behave()
    else:
        # Still down a minute later: one more failed try, a longer delay.
        before = clock.advance(seconds=61)
        assert worker.run_once() == 1
        rows = outbox(dbsession)
        assert rows[3].attempts == 2
        assert "Cannot connect to the mail server: ConnectionRefusedError" in rows[3].last_error
        two_minutes = dt.timedelta(seconds=120)
        assert within(rows[3].next_attempt_at, before + two_minutes, clock() + two_minutes)
        smtp_server.start()

    clock.advance(hours=1, minutes=1)
    assert worker.run_once() == 7

    assert sorted(smtp_server.message_ids) == sorted(message_ids)  # each exactly once
    assert len(smtp_server.message_ids) == 10
    assert [row.status for row in outbox(dbsession)] == ["sent"] * 10
    clock.advance(days=1)
    assert worker.run_once() == 0
    assert len(smtp_server.messages) == 10


def test_unreachable_server_counts_attempts_until_max_attempts(
    dbsession, tenant, make_worker, mail_settings, smtp_server, clock
):
    queue(dbsession, tenant)
    dbsession.commit()
    smtp_server.stop()
    worker = make_worker({**mail_settings, "mail.max_attempts": "3"})

    for attempt, delay in ((1, 60), (2, 120)):  # backoff: 60 s, then 120 s
        before = clock()
        assert worker.run_once() == 1
        [row] = outbox(dbsession)
        assert (row.status, row.attempts) == ("queued", attempt)
        wait = dt.timedelta(seconds=delay)
        assert within(row.next_attempt_at, before + wait, clock() + wait)
        assert worker.run_once() == 0  # nothing due before the delay
        clock.advance(seconds=delay + 1)

    assert worker.run_once() == 1
    [row] = outbox(dbsession)
    assert row.status == "failed"
    assert row.attempts == 3
    assert "gave up after 3 attempts" in row.last_error
    assert "ConnectionRefusedError" in row.last_error

    smtp_server.start()
    clock.advance(days=1)
    assert worker.run_once() == 0
    assert smtp_server.messages == []


def test_server_that_does_not_answer_times_out_and_is_retried(
    dbsession, tenant, make_worker, mail_settings, clock
):
    queue_many(dbsession, tenant, 2)
    # Accepts connections (the kernel completes the handshake) but never says a word.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        settings = {**mail_settings, "mail.smtp.port": str(silent.getsockname()[1]),
                    "mail.smtp.timeout": "1"}

        assert make_worker(settings).run_once() == 1

    first, second = outbox(dbsession)
    assert (first.status, first.attempts) == ("queued", 1)
    assert "timed out" in first.last_error
    assert (second.status, second.attempts) == ("queued", 0)


def test_permanent_refusal_fails_the_message_and_the_batch_goes_on(
    dbsession, tenant, make_worker, mail_settings, smtp_server, clock
):
    smtp_server.reject_recipient("nobody@klient.test")
    queue(dbsession, tenant, to=["nobody@klient.test"], subject="Refused")
    good = queue(dbsession, tenant, to=["mari@klient.test"], subject="Fine")
    dbsession.commit()
    worker = make_worker(mail_settings)

    assert worker.run_once() == 2

    refused, delivered = outbox(dbsession)
    assert refused.status == "failed"
    assert refused.attempts == 1
    assert "All recipients refused" in refused.last_error
    assert "550" in refused.last_error
    assert delivered.status == "sent"
    assert smtp_server.message_ids == [good.message_id]
    clock.advance(days=2)
    smtp_server.behave()
    assert worker.run_once() == 0  # failed is final
    assert smtp_server.message_ids == [good.message_id]


def test_permanent_refusal_of_the_content_fails_the_message(
    dbsession, tenant, make_worker, mail_settings, smtp_server, clock
):
    smtp_server.fail_after(0, reply="554 5.7.1 Message rejected as spam")
    queue(dbsession, tenant)
    dbsession.commit()
    worker = make_worker(mail_settings)

    assert worker.run_once() == 1

    [row] = outbox(dbsession)
    assert row.status == "failed"
    assert "554" in row.last_error
    clock.advance(days=1)
    assert worker.run_once() == 0


def test_refused_recipient_among_others_is_reported_on_a_sent_message(
    dbsession, tenant, make_worker, mail_settings, smtp_server
):
    smtp_server.reject_recipient("nobody@klient.test")
    queue(dbsession, tenant, to=["mari@klient.test", "nobody@klient.test"])
    dbsession.commit()

    make_worker(mail_settings).run_once()

    [received] = smtp_server.messages
    assert received.rcpt_tos == ["mari@klient.test"]
    [row] = outbox(dbsession)
    assert row.status == "sent"
    assert "nobody@klient.test (550" in row.last_error


def test_login_with_the_configured_credentials(
    dbsession, tenant, make_worker, mail_settings, smtp_server
):
    smtp_server.require_login("myyk@acme.test", "salasõna-123")
    message = queue(dbsession, tenant)
    dbsession.commit()
    settings = {**mail_settings, "mail.smtp.username": "myyk@acme.test",
                "mail.smtp.password": "salasõna-123"}

    assert make_worker(settings).run_once() == 1

    assert smtp_server.message_ids == [message.message_id]


@pytest.mark.parametrize("password", ["", "vale-parool"], ids=["no login", "wrong password"])
def test_login_problems_keep_the_message_queued(
    password, dbsession, tenant, make_worker, mail_settings, smtp_server, clock
):
    smtp_server.require_login("myyk@acme.test", "salasõna-123")
    queue_many(dbsession, tenant, 2)
    settings = {**mail_settings, "mail.smtp.username": "myyk@acme.test" if password else "",
                "mail.smtp.password": password}

    assert make_worker(settings).run_once() == 1  # the batch stops at the first message

    first, second = outbox(dbsession)
    assert (first.status, first.attempts) == ("queued", 1)
    assert ("535" if password else "530") in first.last_error
    assert "login problem" in first.last_error.lower()
    assert (second.status, second.attempts) == ("queued", 0)
    assert smtp_server.messages == []


# --- exactly once ----------------------------------------------------------------------------

def test_claim_is_committed_before_sending_and_each_message_marked_sent_at_once(
    db_url, dbsession, tenant, make_worker, mail_settings, smtp_server
):
    queue_many(dbsession, tenant, 3)
    engine = make_engine(db_url)
    seen: list[list[str]] = []

    def look_at_the_outbox(received) -> None:
        # What another connection sees while the server holds the message.
        with engine.connect() as conn:
            seen.append(list(conn.scalars(
                sa.select(MailMessage.status).order_by(MailMessage.id)
            )))

    smtp_server.on_data(look_at_the_outbox)
    try:
        assert make_worker(mail_settings).run_once() == 3
    finally:
        smtp_server.on_data(None)
        engine.dispose()

    assert seen == [
        ["sending", "sending", "sending"],
        ["sent", "sending", "sending"],
        ["sent", "sent", "sending"],
    ]
    assert [row.status for row in outbox(dbsession)] == ["sent"] * 3


def test_message_left_sending_by_a_crashed_worker_is_failed_not_resent(
    dbsession, tenant, make_worker, mail_settings, smtp_server, clock
):
    queue(dbsession, tenant)
    dbsession.commit()
    # A worker claims the message (committed) and dies before recording the outcome.
    claimed = claim_messages(dbsession, worker="crashed:1:dead", now=clock(), limit=10)
    dbsession.commit()
    assert len(claimed) == 1
    worker = make_worker(mail_settings)

    assert worker.run_once() == 0  # not yet stale: it may still be being sent
    assert outbox(dbsession)[0].status == "sending"

    clock.advance(minutes=31)
    worker.run_once()

    [row] = outbox(dbsession)
    assert row.status == "failed"
    assert "Delivery uncertain" in row.last_error
    assert "crashed:1:dead" in row.last_error
    assert "re-queue it by hand" in row.last_error
    clock.advance(days=1)
    assert worker.run_once() == 0
    assert smtp_server.messages == []


def test_connection_lost_after_the_content_was_sent_is_not_retried(
    dbsession, tenant, make_worker, mail_settings, smtp_server, clock
):
    message = queue(dbsession, tenant)
    dbsession.commit()
    smtp_server.drop_after_data(1)  # the server keeps the message but never answers
    worker = make_worker(mail_settings)

    assert worker.run_once() == 1

    [row] = outbox(dbsession)
    assert row.status == "failed"
    assert "Delivery uncertain" in row.last_error
    clock.advance(days=1)
    assert worker.run_once() == 0
    assert smtp_server.message_ids == [message.message_id]  # one copy, never two


def test_several_workers_deliver_each_message_once(
    dbsession, tenant, make_worker, mail_settings, smtp_server
):
    message_ids = queue_many(dbsession, tenant, 40)
    settings = {**mail_settings, "mail.batch_size": "3"}
    workers = [make_worker(settings) for _ in range(3)]
    assert drain_concurrently(workers, timeout=120) == []
    assert sorted(smtp_server.message_ids) == sorted(message_ids)
    assert len(smtp_server.message_ids) == 40
    rows = outbox(dbsession)
    assert {row.status for row in rows} == {"sent"}
    assert {row.attempts for row in rows} == {1}
