"""The audit log records who changed what, in the same transaction as the change."""

from __future__ import annotations

import sqlalchemy as sa

from core.audit import REDACTED, history
from core.db import tenant_scope
from core.models import AuditEntry, User


def test_user_form_changes_are_logged_with_author(browser, tenant, make_user, dbsession):
    admin = make_user(tenant, "admin", name="Mari Tamm")
    target = make_user(tenant, "sales", name="Kadri Saar")
    client = browser(tenant, admin)
    form = client.get(f"/admin/users/{target.id}").forms["user-form"]
    form["name"] = "Kadri Kask"
    form["role"] = "manager"
    form.submit(status=303)
    with tenant_scope(dbsession, tenant.id):
        entries = history(dbsession, User, target.id)
    update = entries[0]
    assert update.action == "update"
    assert update.user_id == admin.id
    assert update.changes == {"name": ["Kadri Saar", "Kadri Kask"], "role": ["sales", "manager"]}
    assert entries[-1].action == "insert"
    assert update.at.tzinfo is not None


def test_secrets_are_never_written(dbsession, tenant, make_user):
    user = make_user(tenant, "sales")
    with tenant_scope(dbsession, tenant.id):
        entry = history(dbsession, User, user.id)[-1]
    assert entry.changes["password_hash"] == [None, REDACTED]


def test_delete_is_logged_with_old_values(dbsession, tenant, make_user):
    user = make_user(tenant, "sales", name="Ants")
    with tenant_scope(dbsession, tenant.id):
        dbsession.delete(dbsession.get(User, user.id))
        dbsession.commit()
        entry = history(dbsession, User, user.id)[0]
    assert entry.action == "delete"
    assert entry.changes["name"] == ["Ants", None]


def test_rolled_back_change_leaves_no_entry(dbsession, tenant, make_user):
    user = make_user(tenant, "sales")
    before = dbsession.scalar(sa.select(sa.func.count(AuditEntry.id)))
    with tenant_scope(dbsession, tenant.id):
        dbsession.get(User, user.id).name = "Never saved"
        dbsession.flush()
        dbsession.rollback()
    assert dbsession.scalar(sa.select(sa.func.count(AuditEntry.id))) == before


def test_audit_of_one_tenant_is_invisible_to_another(dbsession, make_tenant, make_user):
    a = make_tenant("Alfa AS", host="alfa.test")
    b = make_tenant("Beeta OÜ", host="beeta.test")
    user = make_user(a, "sales")
    with tenant_scope(dbsession, b.id):
        assert history(dbsession, User, user.id) == []


def test_audit_page_filters_by_record(browser, tenant, make_user):
    admin = make_user(tenant, "admin")
    target = make_user(tenant, "sales", name="Peeter Mets")
    page = browser(tenant, admin).get(
        "/admin/audit", {"entity": "core_user", "entity_id": str(target.id)})
    assert "Peeter Mets" in page.text
    assert f"core_user #{admin.id}<" not in page.text


def test_command_line_changes_are_logged_too(db_url, dbsession):
    """The audit listener works without the web app: here the CLI creates a user."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, DATABASE_URL=db_url)
    for args in (["tenant", "create", "Näide OÜ", "--host", "naide.test", "--plugins", ""],
                 ["user", "create", "--tenant", "naide", "--email", "juku@naide.test",
                  "--role", "sales"]):
        subprocess.run([sys.executable, "-m", "core", "--config", "config/test.ini", *args],
                       cwd=root, env=env, check=True, capture_output=True, timeout=120)
    entry = dbsession.scalar(sa.select(AuditEntry).where(AuditEntry.entity == "core_user"))
    assert entry.action == "insert"
    assert entry.user_id is None  # the system, not a logged-in user
    assert entry.changes["email"] == [None, "juku@naide.test"]


def test_login_bookkeeping_is_not_logged(browser, tenant, make_user, dbsession):
    user = make_user(tenant, "sales")
    browser(tenant, user)
    with tenant_scope(dbsession, tenant.id):
        actions = [e.action for e in history(dbsession, User, user.id)]
    assert actions == ["insert"]
