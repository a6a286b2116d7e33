"""The installed ACME plugin, per tenant: tenant A has it enabled, tenant B does not.

These tests use the real plugin as installed in the virtualenv (entry point, migrations,
catalogue) and the core's harness fixtures (``app``, ``browser``, ``make_tenant``, ...).
Which plugins' hook implementations run is observed with :class:`core.testing.HookCalls`,
which watches the plugin manager of the running app.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from acme_plugin.models import AcmeNote
from acme_plugin.services import DIGEST_JOB

from core.db import tenant_scope
from core.jobs import enqueue
from core.models import Job, RolePermission, Tenant, User
from core.security import new_api_token
from core.tenancy import disable_plugin, enable_plugin
from core.testing import HookCalls

NOTES_URL = "/acme/notes"
API_URL = "/api/v1/acme/notes"


@pytest.fixture
def tenant_a(make_tenant: Any) -> Tenant:
    """A tenant with only the ACME plugin enabled."""
    return make_tenant("Alfa OÜ", host="alfa.test", plugins=["acme"])


@pytest.fixture
def tenant_b(make_tenant: Any) -> Tenant:
    """A tenant without any plugin."""
    return make_tenant("Beeta OÜ", host="beeta.test", plugins=[])


def _notes(dbsession: Any, tenant: Tenant) -> list[AcmeNote]:
    dbsession.rollback()  # end the read snapshot: see what the app committed since
    return list(dbsession.scalars(
        sa.select(AcmeNote).where(AcmeNote.tenant_id == tenant.id).order_by(AcmeNote.id)
    ))


def _note_form(page: Any) -> Any:
    return page.forms["acme-note-form"]


def _menu_links(page: Any) -> list[str]:
    nav = re.search(r'<nav id="mainnav".*?</nav>', page.text, re.S)
    return re.findall(r'href="([^"]+)"', nav.group(0)) if nav else []


# --- tenant A: the plugin is enabled -------------------------------------------------------

@pytest.mark.hookspec("plugin_enabled")
def test_enabling_creates_one_welcome_note(tenant_a, dbsession, plugin_set):
    notes = _notes(dbsession, tenant_a)
    assert [n.title for n in notes] == ["Tere tulemast ACME märkmetesse"]
    assert notes[0].author_id is None
    # Disabling and enabling again keeps the note and adds no second one.
    tenant = dbsession.get(Tenant, tenant_a.id)
    disable_plugin(dbsession, plugin_set, tenant, "acme")
    assert enable_plugin(dbsession, plugin_set, tenant, "acme") == ["acme"]
    dbsession.commit()
    assert len(_notes(dbsession, tenant_a)) == 1


@pytest.mark.hookspec("permissions")
def test_default_grants_follow_the_declared_roles(tenant_a, tenant_b, dbsession):
    grants = {
        (rp.role, rp.permission)
        for rp in dbsession.scalars(sa.select(RolePermission).where(
            RolePermission.tenant_id == tenant_a.id, RolePermission.permission.like("acme:%")))
    }
    assert grants == {
        ("manager", "acme:note:view"), ("sales", "acme:note:view"),
        ("secretary", "acme:note:view"),
        ("manager", "acme:note:edit"), ("sales", "acme:note:edit"),
    }
    assert dbsession.scalar(sa.select(sa.func.count(RolePermission.id)).where(
        RolePermission.tenant_id == tenant_b.id,
        RolePermission.permission.like("acme:%"))) == 0


@pytest.mark.hookspec("permissions")
def test_roles_page_lists_the_permissions_only_where_enabled(
        app, browser, tenant_a, tenant_b, make_user):
    page_a = browser(tenant_a, make_user(tenant_a, "admin")).get("/admin/roles")
    assert "acme:note:view" in page_a.text and "acme:note:edit" in page_a.text
    with HookCalls(app) as calls:
        page_b = browser(tenant_b, make_user(tenant_b, "admin")).get("/admin/roles")
    assert "acme:note" not in page_b.text
    assert calls.called("core", "permissions")
    assert not calls.called("acme")


def test_notes_page_lists_and_creates_notes(browser, tenant_a, make_user, dbsession):
    user = make_user(tenant_a, "sales", name="Kadri Saar")
    b = browser(tenant_a, user)
    page = b.get(NOTES_URL)
    assert "<title>Märkmed" in page.text  # the plugin's Estonian catalogue is used
    assert "Tere tulemast ACME märkmetesse" in page.text
    form = _note_form(page)
    form["title"] = "Kliendikohtumine Tartus"
    form["body"] = "Kohtumine on neljapäeval kell 10."
    response = form.submit(status=303)
    assert response.location == "http://alfa.test/acme/notes"
    page = response.follow()
    assert "Märkus salvestati." in page.text
    assert "Kliendikohtumine Tartus" in page.text and "Kadri Saar" in page.text
    saved = _notes(dbsession, tenant_a)[-1]
    assert (saved.title, saved.body, saved.author_id) == (
        "Kliendikohtumine Tartus", "Kohtumine on neljapäeval kell 10.", user.id)
    assert saved.created_at.tzinfo is not None


@pytest.mark.parametrize(("title", "error"), [
    ("", "This field is required."),
    ("   ", "This field is required."),
    ("x" * 201, "At most 200 characters."),
])
def test_bad_note_shows_field_errors_and_saves_nothing(
        browser, tenant_a, make_user, dbsession, title, error):
    b = browser(tenant_a, make_user(tenant_a, "manager", locale="en"))
    form = _note_form(b.get(NOTES_URL))
    form["title"] = title
    form["body"] = "Some text"
    page = form.submit(status=400)
    field = re.search(r'<div class="field has-error field-text">.*?</div>', page.text, re.S)
    assert field is not None and 'name="title"' in field.group(0)
    assert f'<p class="error" id="e-title" role="alert">{error}</p>' in page.text
    assert 'aria-invalid="true"' in page.text
    assert "Some text" in page.text  # the user's input is kept
    assert len(_notes(dbsession, tenant_a)) == 1  # only the welcome note


def test_post_without_csrf_token_saves_nothing(browser, tenant_a, make_user, dbsession):
    b = browser(tenant_a, make_user(tenant_a, "sales"))
    b.post(NOTES_URL, {"title": "No token"}, status=400)
    b.post(NOTES_URL, {"title": "Wrong token", "csrf_token": "x" * 40}, status=400)
    assert len(_notes(dbsession, tenant_a)) == 1


def test_role_without_view_permission_gets_403(browser, tenant_a, make_user):
    b = browser(tenant_a, make_user(tenant_a, "accountant"))
    b.get(NOTES_URL, status=403)
    page = b.get("/")
    assert "http://alfa.test/acme/notes" not in _menu_links(page)
    assert "widget-acme-notes" not in page.text


def test_reader_without_edit_permission_cannot_write(browser, tenant_a, make_user, dbsession):
    b = browser(tenant_a, make_user(tenant_a, "secretary"))
    page = b.get(NOTES_URL)
    assert "acme-note-form" not in page.text
    b.post(NOTES_URL, {"title": "Not allowed", "csrf_token": b.csrf_token}, status=403)
    assert len(_notes(dbsession, tenant_a)) == 1


@pytest.mark.hookspec("menu_items")
def test_menu_has_the_notes_item(app, browser, tenant_a, make_user):
    b = browser(tenant_a, make_user(tenant_a, "sales"))
    with HookCalls(app) as calls:
        page = b.get("/")
    assert "http://alfa.test/acme/notes" in _menu_links(page)
    assert '>Märkmed</a>' in page.text
    assert calls.called("acme", "menu_items")


@pytest.mark.hookspec("dashboard_widgets")
def test_dashboard_shows_the_widget_with_count_and_latest(
        app, browser, tenant_a, make_user, dbsession):
    with tenant_scope(dbsession, tenant_a.id):
        for n in range(6):
            dbsession.add(AcmeNote(title=f"Märge {n}", body=""))
        dbsession.commit()
    b = browser(tenant_a, make_user(tenant_a, "secretary"))
    with HookCalls(app) as calls:
        page = b.get("/")
    widget = re.search(r'<section[^>]*id="widget-acme-notes".*?</section>', page.text, re.S)
    assert widget is not None
    body = widget.group(0)
    assert '<strong class="acme-count">7</strong>' in body
    assert "Märkmeid kokku" in body
    assert "Märge 5" in body and "Märge 1" in body
    assert "Märge 0" not in body  # only the five newest notes
    assert calls.called("acme", "dashboard_widgets")


# --- tenant B: the plugin is not enabled ---------------------------------------------------

@pytest.mark.hookspec("menu_items")
@pytest.mark.hookspec("dashboard_widgets")
@pytest.mark.hookspec("permissions")
def test_disabled_tenant_sees_nothing_and_no_acme_hook_runs(
        app, browser, tenant_a, tenant_b, make_user):
    b = browser(tenant_b, make_user(tenant_b, "admin"))
    with HookCalls(app) as calls:
        b.get(NOTES_URL, status=404)
        b.get("/acme/static/acme.css", status=404)
        page = b.get("/")
        b.get("/admin/roles")
    assert "/acme/notes" not in page.text
    assert "widget-acme-notes" not in page.text
    assert calls.called("core", "menu_items") and calls.called("core", "dashboard_widgets")
    assert not calls.called("acme"), calls.calls
    # The same requests on tenant A do reach the plugin, so the recorder sees its calls.
    a = browser(tenant_a, make_user(tenant_a, "admin"))
    with HookCalls(app) as calls:
        a.get(NOTES_URL)
        a.get("/acme/static/acme.css")
        page = a.get("/")
    assert "widget-acme-notes" in page.text
    assert calls.plugins() >= {"core", "acme"}
    assert calls.called("acme", "dashboard_widgets") and calls.called("acme", "menu_items")


def test_disabled_tenant_gets_404_for_every_plugin_url(browser, tenant_b, make_user):
    b = browser(tenant_b, make_user(tenant_b, "admin"))
    b.post(NOTES_URL, {"title": "X", "csrf_token": b.csrf_token}, status=404)
    b.post("/acme/notes/digest", {"csrf_token": b.csrf_token}, status=404)
    anonymous = browser(tenant_b)
    anonymous.get(NOTES_URL, status=404)


@pytest.mark.hookspec("plugin_enabled")
@pytest.mark.hookspec("menu_items")
@pytest.mark.hookspec("dashboard_widgets")
def test_modules_page_switches_the_plugin_without_restart(
        app, browser, tenant_b, make_user, dbsession):
    b = browser(tenant_b, make_user(tenant_b, "admin"))
    b.get(NOTES_URL, status=404)
    modules = b.get("/admin/modules")
    assert 'id="module-acme"' in modules.text
    response = b.post("/admin/modules/acme", {"action": "enable", "csrf_token": b.csrf_token},
                      status=303)
    assert response.location == "http://beeta.test/admin/modules"
    page = b.get(NOTES_URL)
    assert "Tere tulemast ACME märkmetesse" in page.text
    form = _note_form(page)
    form["title"] = "Beeta märge"
    form.submit(status=303)
    with HookCalls(app) as calls:
        front = b.get("/")
    assert "http://beeta.test/acme/notes" in _menu_links(front)
    assert "widget-acme-notes" in front.text
    assert calls.called("acme", "dashboard_widgets")

    b.post("/admin/modules/acme", {"action": "disable", "csrf_token": b.csrf_token},
           status=303)
    b.get(NOTES_URL, status=404)
    with HookCalls(app) as calls:
        front = b.get("/")
    assert "/acme/notes" not in front.text and "widget-acme-notes" not in front.text
    assert not calls.called("acme")
    # The data is kept while the plugin is off, and comes back when it is enabled again.
    assert [n.title for n in _notes(dbsession, tenant_b)] == [
        "Tere tulemast ACME märkmetesse", "Beeta märge"]
    b.post("/admin/modules/acme", {"action": "enable", "csrf_token": b.csrf_token},
           status=303)
    assert "Beeta märge" in b.get(NOTES_URL).text
    assert len(_notes(dbsession, tenant_b)) == 2


def test_notes_never_cross_tenants(browser, tenant_a, make_tenant, make_user, dbsession):
    tenant_c = make_tenant("Gamma OÜ", host="gamma.test", plugins=["acme"])
    with tenant_scope(dbsession, tenant_a.id):
        dbsession.add(AcmeNote(title="Ainult Alfale", body=""))
        dbsession.commit()
    page = browser(tenant_c, make_user(tenant_c, "sales")).get(NOTES_URL)
    assert "Ainult Alfale" not in page.text
    api_user = make_user(tenant_c, "sales")
    token = _token(dbsession, tenant_c, api_user)
    data = _api(browser(tenant_c), token).json
    assert data["total"] == 1
    assert "Ainult Alfale" not in [item["title"] for item in data["items"]]


# --- API, demo data and the digest job -----------------------------------------------------

def _token(dbsession: Any, tenant: Tenant, user: User) -> str:
    with tenant_scope(dbsession, tenant.id):
        _row, secret = new_api_token(dbsession, dbsession.get(User, user.id), "test")
        dbsession.commit()
    return secret


def _api(client: Any, token: str, url: str = API_URL, status: int | str = 200) -> Any:
    return client.get(url, headers={"Authorization": f"Bearer {token}"}, status=status)


@pytest.mark.hookspec("openapi_paths")
def test_api_lists_notes_and_is_documented_for_enabled_tenants(
        browser, tenant_a, tenant_b, make_user, dbsession):
    token_a = _token(dbsession, tenant_a, make_user(tenant_a, "sales"))
    client_a = browser(tenant_a)
    data = _api(client_a, token_a, API_URL + "?limit=1").json
    assert data["total"] == 1
    assert [item["title"] for item in data["items"]] == ["Tere tulemast ACME märkmetesse"]
    assert set(data["items"][0]) == {"id", "title", "body", "created_at", "author_id"}
    spec = _api(client_a, token_a, "/api/v1/openapi.json").json
    assert "get" in spec["paths"][API_URL]
    assert {"AcmeNote", "AcmeNoteList"} <= set(spec["components"]["schemas"])
    assert "/api/v1/me" in spec["paths"]  # the core's own paths stay

    token_b = _token(dbsession, tenant_b, make_user(tenant_b, "admin"))
    client_b = browser(tenant_b)
    _api(client_b, token_b, status=404)
    spec_b = _api(client_b, token_b, "/api/v1/openapi.json").json
    assert API_URL not in spec_b["paths"]
    assert "AcmeNote" not in spec_b["components"]["schemas"]


def test_api_needs_a_token_and_the_permission(browser, tenant_a, make_user, dbsession):
    client = browser(tenant_a)
    response = client.get(API_URL, status=401)
    assert response.json["error"]
    token = _token(dbsession, tenant_a, make_user(tenant_a, "accountant"))
    _api(client, token, status=403)


@pytest.mark.hookspec("demo_data")
def test_demo_data_adds_notes_in_the_tenant_language(app_settings, plugin_set, dbsession):
    from core import demo
    from core.db import all_tenants

    settings = {**app_settings, "kliendihaldus.default_plugins": "acme"}
    with all_tenants(dbsession):
        assert demo.load(dbsession, plugin_set, settings) is True
        dbsession.commit()
    tenant = dbsession.scalar(sa.select(Tenant).where(Tenant.slug == demo.DEMO_SLUG))
    notes = _notes(dbsession, tenant)
    titles = [n.title for n in notes]
    assert titles[0] == "Tere tulemast ACME märkmetesse"
    assert {"Uus hinnakiri alates jaanuarist", "Mess Tartus"} <= set(titles)
    authors = {n.author_id for n in notes[1:]}
    assert None not in authors
    names = set(dbsession.scalars(sa.select(User.role).where(User.id.in_(authors))))
    assert "admin" not in names


@pytest.mark.hookspec("job_handlers")
def test_digest_job_runs_in_the_worker_and_mails_the_notes(
        browser, tenant_a, make_user, dbsession, make_worker, mail_settings, smtp_server):
    user = make_user(tenant_a, "sales", email="kadri@alfa.test")
    b = browser(tenant_a, user)
    page = b.post("/acme/notes/digest", {"csrf_token": b.csrf_token}, status=303).follow()
    assert "kadri@alfa.test" in page.text
    job = dbsession.scalar(sa.select(Job).where(Job.tenant_id == tenant_a.id))
    assert (job.kind, job.payload, job.created_by, job.status) == (
        DIGEST_JOB, {"user_id": user.id}, user.id, "queued")

    dbsession.rollback()
    make_worker(settings=mail_settings).run_once()
    job = dbsession.get(Job, job.id)
    assert job.status == "done", job.last_error
    assert job.result["sent"] is True and job.result["notes"] == 1
    (received,) = smtp_server.messages
    assert received.rcpt_tos == ["kadri@alfa.test"]
    assert received.message["Subject"] == "ACME märkmete kokkuvõte"
    body = received.message.get_content()
    assert "Alfa OÜ uusimad märkmed:" in body
    assert "Tere tulemast ACME märkmetesse" in body


@pytest.mark.hookspec("job_handlers")
def test_digest_job_waits_while_the_plugin_is_disabled(
        tenant_a, make_user, dbsession, plugin_set, make_worker, mail_settings, smtp_server,
        clock):
    user = make_user(tenant_a, "manager")
    tenant = dbsession.get(Tenant, tenant_a.id)
    with tenant_scope(dbsession, tenant_a.id):
        job_id = enqueue(dbsession, DIGEST_JOB, {"user_id": user.id}).id
    disable_plugin(dbsession, plugin_set, tenant, "acme")
    dbsession.commit()
    worker = make_worker(settings=mail_settings)
    with HookCalls(plugin_set) as calls:
        worker.run_once()
    assert calls.hook_called("job_handlers") and not calls.called("acme")
    assert dbsession.get(Job, job_id).status == "queued"
    assert smtp_server.messages == []

    enable_plugin(dbsession, plugin_set, tenant, "acme")
    dbsession.commit()
    clock.advance(hours=1)  # past the delay of a job whose handler was missing
    worker.run_once()
    dbsession.rollback()
    assert dbsession.get(Job, job_id).status == "done"
    assert [m.rcpt_tos for m in smtp_server.messages] == [[user.email]]
