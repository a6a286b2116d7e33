"""The plugin's logic, shared by its views, hooks and background job."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_datetime
from pyramid.i18n import Localizer, make_localizer
from sqlalchemy.orm import Session, joinedload

from acme_plugin import _
from acme_plugin.models import AcmeNote
from core.jobs import JobContext
from core.mail import queue_mail
from core.models import Tenant, User

LOCALE_DIR = Path(__file__).parent / "locale"
DIGEST_JOB = "acme.notes_digest"
"""The job kind of the e-mailed notes digest (prefixed with the plugin name)."""
DIGEST_SIZE = 10
FALLBACK_SENDER = "Kliendihaldus <noreply@localhost>"


@functools.cache
def localizer_for(locale: str) -> Localizer:
    """A localizer with the plugin's catalogue, for texts made outside a request."""
    return make_localizer(locale, [str(LOCALE_DIR)])


def count_notes(dbsession: Session) -> int:
    """How many notes the session's tenant has."""
    return dbsession.scalar(sa.select(sa.func.count(AcmeNote.id))) or 0


def latest_notes_query(limit: int | None = None) -> sa.Select[tuple[AcmeNote]]:
    """Notes newest first, with their authors loaded (the tenant filter is automatic)."""
    stmt = (
        sa.select(AcmeNote)
        .options(joinedload(AcmeNote.author))
        .order_by(AcmeNote.created_at.desc(), AcmeNote.id.desc())
    )
    return stmt if limit is None else stmt.limit(limit)


def latest_notes(dbsession: Session, limit: int = 5) -> list[AcmeNote]:
    """The ``limit`` newest notes of the session's tenant."""
    return list(dbsession.scalars(latest_notes_query(limit)))


def add_note(
    dbsession: Session, title: str, body: str | None = None, author_id: int | None = None
) -> AcmeNote:
    """Save a new note for the session's tenant."""
    note = AcmeNote(title=title, body=body or "", author_id=author_id)
    dbsession.add(note)
    dbsession.flush()
    return note


def ensure_welcome_note(dbsession: Session, tenant: Tenant) -> AcmeNote | None:
    """Create the welcome note, in the tenant's language, unless the tenant has notes.

    Idempotent: enabling the plugin again (its notes are kept when it is disabled) adds
    nothing. Returns the new note, or None when there was nothing to do.
    """
    if count_notes(dbsession) > 0:
        return None
    translate = localizer_for(tenant.locale).translate
    return add_note(
        dbsession,
        translate(_("Welcome to ACME notes")),
        translate(_("Notes written here are shared with everyone in the company who may "
                    "read notes. The newest ones are also shown on the front page.")),
    )


DEMO_NOTES = (
    (_("New price list from January"),
     _("The new price list takes effect on 1 January. Check the discounts of key "
       "customers before sending offers.")),
    (_("Trade fair in Tartu"),
     _("We have a stand at the spring trade fair. Tell the office if you can help on "
       "the stand.")),
    (_("Office closed on public holidays"),
     _("The office is closed on public holidays; urgent orders are handled by the "
       "person on duty.")),
)


def create_demo_notes(dbsession: Session, tenant: Tenant) -> list[AcmeNote]:
    """Add a few realistic notes in the tenant's language, written by its first users."""
    translate = localizer_for(tenant.locale).translate
    authors = list(dbsession.scalars(
        sa.select(User.id).where(User.role != "admin").order_by(User.id).limit(len(DEMO_NOTES))
    ))
    notes = []
    for index, (title, body) in enumerate(DEMO_NOTES):
        author = authors[index % len(authors)] if authors else None
        notes.append(add_note(dbsession, translate(title), translate(body), author))
    return notes


def run_digest(context: JobContext) -> dict[str, Any]:
    """Job handler: e-mail the newest notes to the user named in the payload."""
    dbsession = context.dbsession
    user = dbsession.get(User, int(context.job.payload.get("user_id", 0)))
    if user is None or not user.active:
        return {"sent": False}
    tenant = dbsession.get(Tenant, context.job.tenant_id)
    locale = user.locale or (tenant.locale if tenant is not None else "et")
    zone = ZoneInfo(tenant.timezone if tenant is not None else "Europe/Tallinn")
    translate = localizer_for(locale).translate
    notes = latest_notes(dbsession, DIGEST_SIZE)
    lines = [translate(_("The newest notes of ${company}:",
                         mapping={"company": tenant.name if tenant else ""})), ""]
    for note in notes:
        when = format_datetime(note.created_at, "short", tzinfo=zone, locale=locale)
        lines.append(f"* {note.title} ({when})")
    if not notes:
        lines.append(translate(_("There are no notes yet.")))
    message = queue_mail(
        dbsession,
        to=[user.email],
        subject=translate(_("ACME notes digest")),
        body_text="\n".join(lines) + "\n",
        sender=context.settings.get("mail.default_sender") or FALLBACK_SENDER,
    )
    return {"sent": True, "notes": len(notes), "message_id": message.message_id}


def note_as_json(note: AcmeNote) -> dict[str, Any]:
    """The API representation of a note."""
    return {
        "id": note.id,
        "title": note.title,
        "body": note.body,
        "created_at": note.created_at.isoformat(),
        "author_id": note.author_id,
    }
