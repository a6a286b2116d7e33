"""The UI shell as a user meets it: login, front page, errors, health."""

from __future__ import annotations

import re

import sqlalchemy as sa

from core.models import AuthSession


def test_healthz_answers_without_tenant(browser, tenant):
    response = browser(tenant).get("/healthz")
    assert response.json == {"status": "ok", "database": "ok"}


def test_unknown_host_gets_404_page(app):
    import webtest

    client = webtest.TestApp(app, extra_environ={"HTTP_HOST": "nobody.example"})
    response = client.get("/", status=404)
    assert "404" in response.text
    assert "Traceback" not in response.text
    client.get("/login", status=404)


def test_anonymous_is_sent_to_login(browser, tenant):
    response = browser(tenant).get("/admin/users", status=303)
    assert response.location.endswith("/login?next=%2Fadmin%2Fusers")


def test_login_shows_dashboard_with_menu(browser, tenant, make_user):
    admin = make_user(tenant, "admin", name="Mari Tamm")
    page = browser(tenant, admin).get("/")
    assert "Mari" in page.text
    assert 'href="http://acme.test/admin/modules"' in page.text
    assert "widget-core-welcome" in page.text


def test_wrong_password_is_refused_and_recorded(browser, tenant, make_user):
    user = make_user(tenant, "sales")
    b = browser(tenant)
    form = b.get("/login").forms[0]
    form["email"] = user.email
    form["password"] = "not the password"
    response = form.submit(status=400)
    assert 'class="form-error"' in response.text
    assert b.get("/", status=303)


def test_login_redirects_only_to_local_paths(browser, tenant, make_user):
    user = make_user(tenant, "admin")
    b = browser(tenant)
    form = b.get("/login?next=https://evil.example/").forms[0]
    form["email"] = user.email
    form["password"] = "correct horse battery"
    response = form.submit(status=303)
    assert response.location == "http://acme.test/"


def test_logout_invalidates_the_server_session(browser, tenant, make_user, dbsession):
    user = make_user(tenant, "sales")
    b = browser(tenant, user)
    cookie = b.cookies["kh_session"]
    token = b.csrf_token
    b.post("/logout", {"csrf_token": token}, status=303)
    assert dbsession.scalar(sa.select(sa.func.count(AuthSession.id))) == 0
    # Replaying the old cookie does not log anyone in.
    b.set_cookie("kh_session", cookie)
    assert b.get("/", status=303).location.startswith("http://acme.test/login")


def test_session_cookie_flags(browser, tenant):
    response = browser(tenant).get("/login")
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_post_without_csrf_token_is_refused(browser, tenant, make_user):
    user = make_user(tenant, "admin")
    b = browser(tenant, user)
    response = b.post("/admin/modules/core", {"action": "disable"}, status=400)
    assert "Traceback" not in response.text
    response = b.post("/account", {"name": "X"}, status=400)


def test_login_form_requires_csrf(browser, tenant, make_user):
    user = make_user(tenant, "admin")
    b = browser(tenant)
    b.get("/login")
    b.post("/login", {"email": user.email, "password": "correct horse battery"}, status=400)


def test_error_page_has_no_traceback(browser, tenant, make_user):
    user = make_user(tenant, "admin")
    page = browser(tenant, user).get("/no/such/page", status=404)
    assert "Traceback" not in page.text
    assert re.search(r"<title>.*</title>", page.text)


def test_security_headers_forbid_foreign_code_and_framing(browser, tenant):
    response = browser(tenant).get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
