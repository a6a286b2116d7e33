"""The mail outbox: messages are queued in the business transaction, delivered by the worker.

:func:`queue_mail` adds a :class:`~core.models.MailMessage` row in the caller's transaction,
so a rolled-back transaction sends nothing. The worker delivers queued messages with
:class:`MailDelivery` through the transport chosen by ``mail.backend``: ``smtp``
(:class:`SMTPTransport`) or ``directory`` (:class:`DirectoryTransport`, one ``<id>.eml``
file per message).

Delivery is at most once. A batch of due messages is claimed (``queued`` -> ``sending``)
and committed *before* the server is contacted; each message is marked ``sent`` and
committed right after the server accepted it. A message still ``sending`` after the lock
timeout belonged to a worker that died mid-delivery: it may or may not have been sent, so
it is marked ``failed`` for a person to check, never sent again automatically.

Message states: ``queued`` -> ``sending`` -> ``sent`` | ``failed`` (or back to ``queued``
after a temporary failure, with exponential backoff, until ``mail.max_attempts``).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import smtplib
import ssl
import uuid
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from pathlib import Path
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from core.jobs import MAX_ERROR_LENGTH, backoff, describe_error
from core.models import MailAttachment, MailMessage
from core.settings import DEFAULTS, as_bool, as_int

log = logging.getLogger(__name__)

MAIL_DEFAULTS: dict[str, str] = {k: v for k, v in DEFAULTS.items() if k.startswith("mail.")}
"""Defaults of the ``mail.*`` settings (from :data:`core.settings.DEFAULTS`)."""

UNCERTAIN = (
    "Delivery uncertain: {what}. The message may or may not have reached the recipients; "
    "check with them and re-queue it by hand if it did not arrive."
)


@dataclass(frozen=True)
class Attachment:
    """A file to attach to a message."""

    filename: str
    content_type: str
    data: bytes


def _domain_of(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">")
    return address.rsplit("@", 1)[-1] or "localhost"


def queue_mail(
    dbsession: Session,
    *,
    to: Iterable[str],
    subject: str,
    body_text: str,
    sender: str,
    body_html: str | None = None,
    cc: Iterable[str] = (),
    bcc: Iterable[str] = (),
    reply_to: str | None = None,
    attachments: Iterable[Attachment] = (),
) -> MailMessage:
    """Add a message to the outbox in the caller's transaction; nothing is sent on rollback."""
    recipients = [address.strip() for address in to if address.strip()]
    if not recipients:
        raise ValueError("a message needs at least one recipient")
    message = MailMessage(
        message_id=f"<{uuid.uuid4().hex}@{_domain_of(sender)}>",
        sender=sender,
        recipients=recipients,
        cc=list(cc),
        bcc=list(bcc),
        reply_to=reply_to,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        attachments=[
            MailAttachment(filename=a.filename, content_type=a.content_type, data=a.data)
            for a in attachments
        ],
    )
    dbsession.add(message)
    dbsession.flush()
    return message


# --- building the e-mail -------------------------------------------------------------------

def build_email(message: MailMessage) -> EmailMessage:
    """The e-mail for an outbox row: headers (no Bcc), text, optional HTML, attachments."""
    email = EmailMessage()
    email["From"] = message.sender
    email["To"] = ", ".join(message.recipients)
    if message.cc:
        email["Cc"] = ", ".join(message.cc)
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message.message_id
    email.set_content(message.body_text or "")
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        if not (maintype and subtype):
            maintype, subtype = "application", "octet-stream"
        email.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return email


def envelope(message: MailMessage) -> tuple[str, list[str]]:
    """The SMTP envelope: sender address and every recipient address (To, Cc and Bcc)."""
    sender = parseaddr(message.sender)[1]
    everyone = [*message.recipients, *message.cc, *message.bcc]
    addresses = [address for _, address in getaddresses(everyone) if address]
    return sender, list(dict.fromkeys(addresses))


# --- transports ----------------------------------------------------------------------------

class Transport(Protocol):
    """Hands e-mails over for delivery. ``open`` is called before each message (a no-op
    while connected), ``close`` once after the batch."""

    content_sent: bool
    """Whether the last ``send`` transmitted the whole message before it failed (then the
    server may have accepted it although no answer came back)."""

    def open(self) -> None:
        """Connect (when not connected)."""

    def send(
        self, outbox_id: int, email: EmailMessage, sender: str, recipients: list[str]
    ) -> dict[str, tuple[int, bytes]]:
        """Deliver one e-mail; returns the refused recipients (the others accepted it)."""

    def close(self) -> None:
        """Disconnect."""


class _ContentTracking:
    """Mixin for :class:`smtplib.SMTP`: notes when a message's content (ending with the
    ``CRLF.CRLF`` terminator of ``DATA``) has been written to the socket."""

    content_sent = False

    def send(self, s: str | bytes) -> None:
        """Send ``s``; remember when it was a complete message body."""
        super().send(s)  # type: ignore[misc]
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.content_sent = True


class _SMTP(_ContentTracking, smtplib.SMTP):
    pass


class _SMTPSSL(_ContentTracking, smtplib.SMTP_SSL):
    pass


class SMTPTransport:
    """Delivery over SMTP (settings ``mail.smtp.*``), one connection per batch."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.host = str(settings.get("mail.smtp.host") or "localhost")
        self.port = as_int(settings, "mail.smtp.port", 1)
        self.username = str(settings.get("mail.smtp.username") or "")
        self.password = str(settings.get("mail.smtp.password") or "")
        self.starttls = as_bool(settings, "mail.smtp.starttls")
        self.ssl = as_bool(settings, "mail.smtp.ssl")
        self.timeout = as_int(settings, "mail.smtp.timeout", 1)
        self._connection: _SMTP | _SMTPSSL | None = None

    @property
    def content_sent(self) -> bool:
        """See :attr:`Transport.content_sent`."""
        return bool(self._connection and self._connection.content_sent)

    def _connect(self) -> _SMTP | _SMTPSSL:
        if self.ssl:
            return _SMTPSSL(self.host, self.port, timeout=self.timeout,
                            context=ssl.create_default_context())
        return _SMTP(self.host, self.port, timeout=self.timeout)

    def open(self) -> None:
        """Connect, say EHLO, STARTTLS and log in as configured (no-op when connected)."""
        if self._connection is not None and self._connection.sock is not None:
            return
        connection = self._connect()
        try:
            if self.starttls and not self.ssl:
                connection.ehlo()
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if self.username:
                self._login(connection)
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    def _login(self, connection: smtplib.SMTP) -> None:
        """Log in; non-ASCII credentials (which smtplib cannot encode) go as UTF-8 with
        AUTH PLAIN (RFC 4616)."""
        if (self.username + self.password).isascii():
            connection.login(self.username, self.password)
            return
        connection.ehlo_or_helo_if_needed()
        mechanisms = connection.esmtp_features.get("auth", "").upper().split()
        if "PLAIN" not in mechanisms:
            raise smtplib.SMTPNotSupportedError(
                "the server offers no AUTH PLAIN, needed for a non-ASCII user name or password"
            )
        secret = b"\0" + self.username.encode() + b"\0" + self.password.encode()
        code, reply = connection.docmd("AUTH", "PLAIN " + base64.b64encode(secret).decode())
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, reply)

    def send(
        self, outbox_id: int, email: EmailMessage, sender: str, recipients: list[str]
    ) -> dict[str, tuple[int, bytes]]:
        """Send one e-mail on the open connection."""
        if self._connection is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        self._connection.content_sent = False
        return self._connection.send_message(email, from_addr=sender, to_addrs=recipients)

    def close(self) -> None:
        """Say QUIT (or just drop a broken connection)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()


class DirectoryTransport:
    """Writes every e-mail to ``<mail.directory>/<outbox id>.eml`` (development, tests)."""

    content_sent = False

    def __init__(self, directory: str | Path) -> None:
        if not str(directory):
            raise ValueError("mail.directory must be set when mail.backend = directory")
        self.directory = Path(directory)

    def open(self) -> None:
        """Create the folder if needed."""
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(
        self, outbox_id: int, email: EmailMessage, sender: str, recipients: list[str]
    ) -> dict[str, tuple[int, bytes]]:
        """Write the file atomically (a reader never sees half a message)."""
        target = self.directory / f"{outbox_id}.eml"
        partial = self.directory / f".{outbox_id}.eml.partial"
        partial.write_bytes(email.as_bytes())
        os.replace(partial, target)
        return {}

    def close(self) -> None:
        """Nothing to close."""


def make_transport(settings: Mapping[str, Any]) -> Transport:
    """The transport named by ``mail.backend`` (``smtp`` or ``directory``)."""
    backend = str(settings.get("mail.backend") or "smtp")
    if backend == "smtp":
        return SMTPTransport(settings)
    if backend == "directory":
        return DirectoryTransport(str(settings.get("mail.directory") or ""))
    raise ValueError(f"unknown mail.backend '{backend}' (use smtp or directory)")


# --- outcomes ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What happened to one message: ``sent``, ``retry`` (temporary) or ``failed``.

    ``stop_batch`` ends the batch: the server seems unwell, the rest waits.
    """

    status: Literal["sent", "retry", "failed"]
    error: str | None = None
    stop_batch: bool = False


AUTH_PROBLEMS = frozenset({530, 534, 535, 538})
"""Answers about logging in (required, too weak, refused, needs TLS): the settings are
wrong, not the message, so it is retried once an administrator has fixed them."""


def _recipients_refused(exc: smtplib.SMTPRecipientsRefused) -> Outcome:
    detail = _refusals(exc.recipients)
    codes = [code for code, _ in exc.recipients.values()]
    if codes and all(code >= 500 for code in codes):
        return Outcome("failed", f"All recipients refused: {detail}")
    return Outcome("retry", f"Recipients refused for now: {detail}", stop_batch=True)


def _refusals(refused: Mapping[str, tuple[int, bytes | str]]) -> str:
    parts = []
    for address, (code, text) in refused.items():
        reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        parts.append(f"{address} ({code} {reply})")
    return "; ".join(parts)


def _connection_failure(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"Mail server login problem: {describe_error(exc)}"
    return f"Cannot connect to the mail server: {describe_error(exc)}"


def classify_failure(exc: Exception, *, content_sent: bool) -> Outcome:
    """Decide what a failed ``send`` means for the message.

    A 4xx answer, a refused or broken connection or a timeout is temporary (retry later,
    stop the batch), and so is a login problem (:data:`AUTH_PROBLEMS`); any other 5xx
    answer is permanent. When the connection broke after the
    whole message had been transmitted the server may have accepted it: the message is
    failed as uncertain rather than risk sending it twice.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _recipients_refused(exc)
    error = describe_error(exc)
    if isinstance(exc, smtplib.SMTPResponseException):
        if exc.smtp_code in AUTH_PROBLEMS:
            return Outcome("retry", f"Mail server login problem: {error}", stop_batch=True)
        if exc.smtp_code >= 500:
            return Outcome("failed", f"Refused by the mail server: {error}")
        return Outcome("retry", error, stop_batch=True)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Outcome("failed", f"Not supported by the mail server: {error}")
    if content_sent:
        what = f"the connection broke before the server confirmed the message ({error})"
        return Outcome("failed", UNCERTAIN.format(what=what), stop_batch=True)
    return Outcome("retry", error, stop_batch=True)


# --- database operations -------------------------------------------------------------------

@dataclass(frozen=True)
class MailDeliveryConfig:
    """Delivery settings, read once by the worker."""

    batch_size: int
    lock_timeout: dt.timedelta
    retry_base: dt.timedelta
    retry_max: dt.timedelta
    max_attempts: int

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> MailDeliveryConfig:
        """Read ``mail.*`` settings, with :data:`MAIL_DEFAULTS` for the missing ones."""
        merged = ChainMap(dict(settings), MAIL_DEFAULTS)
        return cls(
            batch_size=as_int(merged, "mail.batch_size", 1),
            lock_timeout=dt.timedelta(minutes=as_int(merged, "mail.lock_timeout_minutes", 1)),
            retry_base=dt.timedelta(seconds=as_int(merged, "mail.retry_seconds", 1)),
            retry_max=dt.timedelta(seconds=as_int(merged, "mail.retry_max_seconds", 1)),
            max_attempts=as_int(merged, "mail.max_attempts", 1),
        )


def claim_messages(session: Session, *, worker: str, now: dt.datetime, limit: int) -> list[int]:
    """Mark up to ``limit`` due messages ``sending`` for ``worker``; returns their ids.

    ``UPDATE ... WHERE id IN (SELECT id ... FOR UPDATE SKIP LOCKED) RETURNING id``: two
    workers never claim the same message. The caller must commit before sending.
    """
    due = (
        sa.select(MailMessage.id)
        .where(MailMessage.status == "queued", MailMessage.next_attempt_at <= now)
        .order_by(MailMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        sa.update(MailMessage)
        .where(MailMessage.id.in_(due.scalar_subquery()))
        .values(status="sending", locked_by=worker, locked_at=now)
        .returning(MailMessage.id)
    )
    return sorted(session.scalars(claim, execution_options={"synchronize_session": False}))


def fail_stale_messages(session: Session, *, now: dt.datetime, timeout: dt.timedelta) -> int:
    """Mark ``failed`` the messages left ``sending`` longer than ``timeout``.

    Their worker died while delivering them: they may have been sent. They are never
    re-sent automatically. Returns how many.
    """
    stale = session.scalars(
        sa.select(MailMessage)
        .where(MailMessage.status == "sending", MailMessage.locked_at < now - timeout)
        .order_by(MailMessage.id)
        .with_for_update(skip_locked=True)
    ).all()
    for message in stale:
        what = (
            f"worker {message.locked_by} stopped while sending it "
            f"(claimed {message.locked_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
        message.status = "failed"
        message.last_error = UNCERTAIN.format(what=what)
        log.warning("mail %s: %s", message.id, message.last_error)
    return len(stale)


def load_message(session: Session, outbox_id: int) -> MailMessage | None:
    """An outbox row with its attachments."""
    return session.scalar(
        sa.select(MailMessage)
        .options(selectinload(MailMessage.attachments))
        .where(MailMessage.id == outbox_id)
    )


def record_outcome(
    session: Session,
    outbox_id: int,
    outcome: Outcome,
    *,
    worker: str,
    now: dt.datetime,
    config: MailDeliveryConfig,
) -> bool:
    """Store the outcome of one delivery attempt; False if the claim was lost meanwhile."""
    message = session.scalar(
        sa.select(MailMessage)
        .where(MailMessage.id == outbox_id, MailMessage.status == "sending",
               MailMessage.locked_by == worker)
        .with_for_update()
    )
    if message is None:
        log.warning("mail %s: no longer claimed by %s; outcome %s not recorded",
                    outbox_id, worker, outcome)
        return False
    message.attempts += 1
    message.locked_at = None
    message.last_error = outcome.error[:MAX_ERROR_LENGTH] if outcome.error else None
    if outcome.status == "sent":
        message.status = "sent"
        message.sent_at = now
    elif outcome.status == "failed":
        message.status = "failed"
    elif message.attempts >= config.max_attempts:
        message.status = "failed"
        message.last_error = f"{outcome.error} (gave up after {message.attempts} attempts)"
    else:
        message.status = "queued"
        message.locked_by = None
        message.next_attempt_at = now + backoff(
            message.attempts, config.retry_base, config.retry_max
        )
    return True


def release_messages(
    session: Session, outbox_ids: list[int], *, worker: str, not_before: dt.datetime | None
) -> None:
    """Give back claimed messages that were not tried: ``queued`` again, no attempt counted,
    due again at ``not_before`` (or unchanged)."""
    if not outbox_ids:
        return
    values: dict[str, Any] = {"status": "queued", "locked_by": None, "locked_at": None}
    if not_before is not None:
        values["next_attempt_at"] = not_before
    session.execute(
        sa.update(MailMessage)
        .where(MailMessage.id.in_(outbox_ids), MailMessage.status == "sending",
               MailMessage.locked_by == worker)
        .values(**values),
        execution_options={"synchronize_session": False},
    )


# --- the delivery loop ---------------------------------------------------------------------

SessionSource = Callable[[], AbstractContextManager[Session]]
"""Gives a new session over all tenants (as a context manager closing it)."""


class MailDelivery:
    """Delivers the due part of the outbox for one worker, batch by batch.

    ``sessions`` opens sessions over all tenants (on SQLite taking the write lock at
    BEGIN); ``now`` is the worker's clock; ``should_stop`` is checked between messages.
    """

    def __init__(
        self,
        settings: Mapping[str, Any],
        sessions: SessionSource,
        *,
        worker: str,
        now: Callable[[], dt.datetime],
        should_stop: Callable[[], bool] = lambda: False,
        transport_factory: Callable[[Mapping[str, Any]], Transport] = make_transport,
    ) -> None:
        self.settings = settings
        self.config = MailDeliveryConfig.from_settings(settings)
        self.sessions = sessions
        self.worker = worker
        self.now = now
        self.should_stop = should_stop
        self.transport_factory = transport_factory

    def run_all(self) -> int:
        """Deliver batch after batch until nothing is due, the server fails or the worker
        stops; returns how many messages were tried."""
        total = 0
        while not self.should_stop():
            tried, more = self.run_batch()
            total += tried
            if not more:
                break
        return total

    def run_batch(self) -> tuple[int, bool]:
        """Fail stale ``sending`` messages, claim one batch and deliver it.

        Returns how many messages were tried (sent, failed or postponed) and whether more
        may be due (the batch was full and went through without a server failure).
        """
        # Made before claiming: a settings error must not leave messages "sending".
        transport = self.transport_factory(self.settings)
        with self.sessions() as session, session.begin():
            now = self.now()
            fail_stale_messages(session, now=now, timeout=self.config.lock_timeout)
            claimed = claim_messages(
                session, worker=self.worker, now=now, limit=self.config.batch_size
            )
        if not claimed:
            return 0, False
        tried, completed = self._deliver(transport, claimed)
        return tried, completed and len(claimed) == self.config.batch_size

    def _deliver(self, transport: Transport, claimed: list[int]) -> tuple[int, bool]:
        """Send the claimed messages one by one on one connection; returns how many were
        tried and whether the batch went through to its end."""
        pending = list(claimed)
        tried = 0
        postpone = True  # the untried rest waits, unless the batch ends normally or on request
        try:
            while pending and not self.should_stop():
                outbox_id = pending.pop(0)  # from here on it counts as tried
                outcome = self._deliver_one(transport, outbox_id)
                tried += 1
                if outcome is not None and outcome.stop_batch:
                    break
            else:
                postpone = False
        finally:
            transport.close()
            self._release(pending, postpone)
        return tried, not postpone and not pending

    def _release(self, pending: list[int], postpone: bool) -> None:
        if not pending:
            return
        with self.sessions() as session, session.begin():
            not_before = self.now() + self.config.retry_base if postpone else None
            release_messages(session, pending, worker=self.worker, not_before=not_before)

    def _deliver_one(self, transport: Transport, outbox_id: int) -> Outcome | None:
        with self.sessions() as session:
            # Closing the session ends the read transaction before the server is contacted;
            # the detached message keeps its loaded attributes.
            message = load_message(session, outbox_id)
        if message is None:
            return None  # deleted meanwhile
        outcome = self._attempt(transport, message)
        if outcome.status != "sent":
            log.warning("mail %s to %s: %s: %s", outbox_id, message.recipients,
                        outcome.status, outcome.error)
        with self.sessions() as session, session.begin():
            record_outcome(session, outbox_id, outcome, worker=self.worker, now=self.now(),
                           config=self.config)
        return outcome

    def _attempt(self, transport: Transport, message: MailMessage) -> Outcome:
        try:
            email = build_email(message)
            sender, recipients = envelope(message)
        except Exception as exc:
            return Outcome("failed", f"Cannot build the message: {describe_error(exc)}")
        if not recipients:
            return Outcome("failed", "The message has no valid recipient address")
        try:
            transport.open()
        except Exception as exc:
            return Outcome("retry", _connection_failure(exc), stop_batch=True)
        try:
            refused = transport.send(message.id, email, sender, recipients)
        except Exception as exc:
            return classify_failure(exc, content_sent=transport.content_sent)
        if refused:
            return Outcome("sent", f"Not delivered to: {_refusals(refused)}")
        return Outcome("sent")


def includeme(config: Any) -> None:
    """Make ``request.queue_mail(...)`` available with the tenant's default sender."""

    def request_queue_mail(request: Any, **kwargs: Any) -> MailMessage:
        kwargs.setdefault("sender", request.registry.settings["mail.default_sender"])
        return queue_mail(request.dbsession, **kwargs)

    config.add_request_method(request_queue_mail, "queue_mail")
