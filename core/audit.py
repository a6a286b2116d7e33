"""The audit log: who inserted, changed or deleted which audited row, when, and how.

Entries are written by a session listener in the same transaction as the change (so a
rolled-back change leaves no entry). The acting user is ``session.info["user_id"]``, set
when a request is authenticated; ``None`` means the system (command line, worker).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from core.db import AppSession, TenantScoped, mark_changed, utcnow
from core.models import Audited, AuditEntry

REDACTED = "***"


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


def _column_keys(obj: Any) -> list[str]:
    return [attr.key for attr in inspect(obj).mapper.column_attrs]


def _entity_id(obj: Any) -> str:
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join(str(part) for part in key)


def _shown(obj: Any, key: str, value: Any) -> Any:
    return REDACTED if key in type(obj).__audit_exclude__ else _json_value(value)


def _insert_changes(obj: Any) -> dict[str, Any]:
    return {key: [None, _shown(obj, key, getattr(obj, key))] for key in _column_keys(obj)}


def _update_changes(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    changes: dict[str, Any] = {}
    ignored = type(obj).__audit_ignore__
    for key in _column_keys(obj):
        if key in ignored:
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        changes[key] = [_shown(obj, key, old), _shown(obj, key, new)]
    return changes


def _delete_changes(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    return {
        key: [_shown(obj, key, state.attrs[key].loaded_value), None]
        for key in _column_keys(obj)
        if state.attrs[key].loaded_value is not sa.orm.base.NO_VALUE
    }


def _parent(obj: Any, action: str) -> str | None:
    spec = type(obj).__audit_parent__
    if spec is None:
        return None
    table, column = spec
    state = inspect(obj)
    value = getattr(obj, column) if action != "delete" else state.attrs[column].loaded_value
    if value is None or value is sa.orm.base.NO_VALUE:
        return None
    return f"{table}:{value}"


def _row(session: Session, obj: Any, action: str, changes: dict[str, Any]) -> dict[str, Any]:
    tenant_id = obj.tenant_id if isinstance(obj, TenantScoped) else session.info.get("tenant_id")
    return {
        "tenant_id": tenant_id,
        "at": utcnow(),
        "user_id": session.info.get("user_id"),
        "entity": type(obj).__tablename__,
        "entity_id": _entity_id(obj),
        "action": action,
        "changes": changes,
        "parent": _parent(obj, action),
    }


def _write_audit(session: Session, flush_context: Any) -> None:
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if isinstance(obj, Audited):
            rows.append(_row(session, obj, "insert", _insert_changes(obj)))
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            changes = _update_changes(obj)
            if changes:
                rows.append(_row(session, obj, "update", changes))
    for obj in session.deleted:
        if isinstance(obj, Audited):
            rows.append(_row(session, obj, "delete", _delete_changes(obj)))
    rows = [row for row in rows if row["tenant_id"] is not None]
    if rows:
        session.connection().execute(sa.insert(AuditEntry.__table__), rows)


event.listen(AppSession, "after_flush", _write_audit)


def record_bulk(session: Session, model: type, action: str,
                changes: Iterable[tuple[Any, dict[str, list[Any]]]],
                parent: Callable[[Any], str | None] | None = None) -> int:
    """Write audit entries for rows changed with bulk SQL (which bypasses the listener).

    ``changes`` are ``(entity id, {column: [old, new]})`` pairs; values are stored as the
    listener stores them. ``parent(entity_id)`` may name the parent record (see
    ``Audited.__audit_parent__``). Entries go to the session's tenant and acting user;
    returns how many were written.
    """
    tenant_id = session.info.get("tenant_id")
    if tenant_id is None:
        raise ValueError("record_bulk needs a tenant-scoped session")
    at = utcnow()
    user_id = session.info.get("user_id")
    rows = [{
        "tenant_id": tenant_id, "at": at, "user_id": user_id, "entity": model.__tablename__,
        "entity_id": str(entity_id), "action": action,
        "changes": {key: [_json_value(old), _json_value(new)]
                    for key, (old, new) in change.items()},
        "parent": parent(entity_id) if parent is not None else None,
    } for entity_id, change in changes]
    if rows:
        session.connection().execute(sa.insert(AuditEntry.__table__), rows)
        mark_changed(session)
    return len(rows)


def history(
    dbsession: Session,
    entity: type | str,
    entity_id: Any,
    limit: int = 200,
    *,
    with_children: bool = False,
) -> list[AuditEntry]:
    """Audit entries of one record, newest first (scoped to the session's tenant).

    With ``with_children`` the entries of the records that belong to it (see
    ``Audited.__audit_parent__``) are included, e.g. a client's addresses and contacts.
    """
    name = entity if isinstance(entity, str) else entity.__tablename__
    condition = sa.and_(AuditEntry.entity == name, AuditEntry.entity_id == str(entity_id))
    if with_children:
        condition = sa.or_(condition, AuditEntry.parent == f"{name}:{entity_id}")
    return list(
        dbsession.scalars(
            sa.select(AuditEntry).where(condition).order_by(AuditEntry.id.desc()).limit(limit)
        )
    )


def includeme(config: Any) -> None:
    """Nothing to wire: the listener is attached to the product's session class on import."""
