"""Administration pages and the UI shell's forms, as an administrator uses them."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
import webtest
from pyramid.security import NO_PERMISSION_REQUIRED

from core import make_config
from core.models import RolePermission, User

CORE = Path(__file__).resolve().parent.parent / "core"


def test_new_user_with_bad_values_shows_errors_and_saves_nothing(browser, tenant, make_user,
                                                                 dbsession):
    admin = make_user(tenant, "admin", email="mari@acme.test")
    client = browser(tenant, admin)
    form = client.get("/admin/users/new").forms["user-form"]
    form["name"] = ""
    form["email"] = "not-an-address"
    form["password"] = "short"
    page = form.submit(status=200)
    errors = re.findall(r'<p class="error" id="e-(\w+)"', page.text)
    assert set(errors) == {"name", "email", "password"}
    assert page.forms["user-form"]["email"].value == "not-an-address"

    form = page.forms["user-form"]
    form["name"] = "Teine Mari"
    form["email"] = "MARI@acme.test"
    form["password"] = "long enough password"
    page = form.submit(status=200)
    assert re.findall(r'<p class="error" id="e-(\w+)"', page.text) == ["email"]
    assert dbsession.scalar(sa.select(sa.func.count(User.id))) == 1


def test_new_user_can_log_in(browser, tenant, make_user):
    admin = make_user(tenant, "admin")
    client = browser(tenant, admin)
    form = client.get("/admin/users/new").forms["user-form"]
    form["name"] = "Kadri Saar"
    form["email"] = "kadri@acme.test"
    form["role"] = "sales"
    form["password"] = "kadri parool 123"
    form.submit(status=303).follow()
    page = browser(tenant).login("kadri@acme.test", "kadri parool 123")
    assert "Kadri" in page.text


def test_deactivated_user_is_logged_out_everywhere(browser, tenant, make_user):
    admin = make_user(tenant, "admin")
    user = make_user(tenant, "sales")
    their_browser = browser(tenant, user)
    client = browser(tenant, admin)
    form = client.get(f"/admin/users/{user.id}").forms["user-form"]
    form["active"] = False
    form.submit(status=303)
    their_browser.get("/", status=303)


def test_admin_cannot_demote_self(browser, tenant, make_user, dbsession):
    admin = make_user(tenant, "admin")
    client = browser(tenant, admin)
    form = client.get(f"/admin/users/{admin.id}").forms["user-form"]
    form["role"] = "sales"
    page = form.submit(status=200)
    assert 'id="e-role"' in page.text
    assert dbsession.get(User, admin.id).role == "admin"


def test_roles_page_changes_grants(browser, tenant, make_user, dbsession):
    admin = make_user(tenant, "admin")
    client = browser(tenant, admin)
    form = client.get("/admin/roles").forms["roles-form"]
    assert form["sales|core:dashboard:view"].checked
    form["sales|core:dashboard:view"] = False
    form["secretary|core:audit:view"] = True
    form.submit(status=303)
    grants = set(dbsession.execute(
        sa.select(RolePermission.role, RolePermission.permission)
        .where(RolePermission.tenant_id == tenant.id)).all())
    assert ("sales", "core:dashboard:view") not in grants
    assert ("secretary", "core:audit:view") in grants
    assert ("manager", "core:dashboard:view") in grants


def test_unexpected_error_shows_calm_500_page(app_settings, make_tenant, make_user):
    tenant = make_tenant("Alfa AS", host="alfa.test")

    def broken(request):
        raise RuntimeError("secret internal detail")

    config = make_config(app_settings)
    config.add_route("broken", "/broken")
    config.add_view(broken, route_name="broken", permission=NO_PERMISSION_REQUIRED)
    client = webtest.TestApp(config.make_wsgi_app(), extra_environ={"HTTP_HOST": "alfa.test"})
    page = client.get("/broken", status=500)
    assert "secret internal detail" not in page.text
    assert "Traceback" not in page.text
    assert tenant.name in page.text


def test_pages_use_no_external_resources():
    for path in [*CORE.rglob("*.pt"), *CORE.rglob("*.css"), *CORE.rglob("*.js")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']https?://""", text), path
        assert "@import url(http" not in text, path


def test_database_error_still_renders_the_products_500_page(app_settings, make_tenant,
                                                             make_user):
    tenant = make_tenant("Alfa AS", host="alfa.test")
    make_user(tenant, "sales", email="taken@alfa.test")

    def duplicate(request):
        request.dbsession.add(User(email="taken@alfa.test", name="Twin", role="sales"))
        request.dbsession.flush()  # violates the unique e-mail per tenant

    config = make_config(app_settings)
    config.add_route("duplicate", "/duplicate")
    config.add_view(duplicate, route_name="duplicate", permission=NO_PERMISSION_REQUIRED)
    client = webtest.TestApp(config.make_wsgi_app(), extra_environ={"HTTP_HOST": "alfa.test"})
    page = client.get("/duplicate", status=500)
    assert "Alfa AS" in page.text  # the product's own layout, not the server's bare page
    assert "IntegrityError" not in page.text and "Traceback" not in page.text


def test_static_files_and_health_need_no_tenant_lookup(app, browser, tenant):
    from sqlalchemy import event

    statements = []

    def record(conn, cursor, statement, *args):
        if statement.strip().upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            statements.append(statement)

    engine = app.registry["db_engine"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        browser(tenant).get("/static/app.css")
        assert statements == []
        browser(tenant).get("/healthz")
        assert [s.strip().upper() for s in statements] == ["SELECT 1"]
    finally:
        event.remove(engine, "before_cursor_execute", record)
