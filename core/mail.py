"""The mail outbox: messages are queued in the business transaction, delivered by the worker."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from core.models import MailAttachment, MailMessage


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


def includeme(config: Any) -> None:
    """Make ``request.queue_mail(...)`` available with the tenant's default sender."""

    def request_queue_mail(request: Any, **kwargs: Any) -> MailMessage:
        kwargs.setdefault("sender", request.registry.settings["mail.default_sender"])
        return queue_mail(request.dbsession, **kwargs)

    config.add_request_method(request_queue_mail, "queue_mail")
