"""Every route is protected; logins are throttled; API tokens work and can be revoked."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from pyramid.security import NO_PERMISSION_REQUIRED

from core.models import ApiToken, LoginFailure, RolePermission
from core.security import SELF_SERVICE

PUBLIC_ROUTES = {"login", "healthz"}
"""The explicit allow-list of routes anyone may open, besides static files."""


def _is_static(route_name: str) -> bool:
    return route_name.startswith("__") and route_name.endswith("static/")


def _fill_placeholders(pattern: str) -> str:
    """Replace ``{name}`` with ``x`` and ``{name:regex}`` (braces may nest) with ``1``."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] != "{":
            out.append(pattern[i])
            i += 1
            continue
        depth, j = 0, i
        while True:
            depth += {"{": 1, "}": -1}.get(pattern[j], 0)
            if depth == 0:
                break
            j += 1
        out.append("1" if ":" in pattern[i:j] else "x")
        i = j + 1
    return "".join(out)


def _route_views(app):
    """(route name, URL path, HTTP method, permission) for every view of every route."""
    introspector = app.registry.introspector
    found = []
    for route_intr in introspector.get_category("routes"):
        route = route_intr["introspectable"]
        name = route["name"]
        pattern = route["pattern"]
        path = "/" + _fill_placeholders(pattern.lstrip("/"))
        path = path.replace("*subpath", "app.css")
        views = [r for r in route_intr["related"] if r.category_name == "views"]
        for view in views:
            methods = view["request_methods"] or ("GET",)
            methods = (methods,) if isinstance(methods, str) else tuple(methods)
            method = "GET" if "GET" in methods else sorted(methods)[0]
            perms = [r["value"] for r in introspector.related(view)
                     if r.category_name == "permissions"]
            permission = perms[0] if perms else None
            found.append((name, path, method, permission))
    return found


def test_every_route_view_has_a_permission(app):
    views = _route_views(app)
    assert views, "no routes found"
    for name, _path, _method, permission in views:
        assert permission is not None, f"route {name} has a view without a permission"


def test_only_the_allow_list_is_public(app):
    public = {name for name, _p, _m, perm in _route_views(app)
              if perm == NO_PERMISSION_REQUIRED and not _is_static(name)}
    assert public == PUBLIC_ROUTES


def _call(client, method, path, status="*"):
    if method == "GET":
        return client.get(path, status=status)
    return client._gen_request(method, path, params=b"", status=status)


def test_anonymous_gets_login_page_or_401(app, browser, tenant):
    client = browser(tenant)
    checked = 0
    for name, path, method, permission in _route_views(app):
        if permission == NO_PERMISSION_REQUIRED:
            continue
        response = _call(client, method, path)
        if path.startswith("/api/"):
            assert response.status_int == 401, f"{name} {method} {path}"
            assert response.json["error"]
        else:
            assert response.status_int == 303, f"{name} {method} {path}: {response.status}"
            assert "/login?next=" in response.location, name
        checked += 1
    assert checked >= 10


def test_user_without_permissions_gets_403(app, browser, tenant, make_user, dbsession):
    dbsession.execute(sa.delete(RolePermission).where(RolePermission.tenant_id == tenant.id))
    dbsession.commit()
    user = make_user(tenant, "secretary")
    client = browser(tenant, user)
    checked = 0
    for name, path, method, permission in _route_views(app):
        if permission in (NO_PERMISSION_REQUIRED, SELF_SERVICE) or path.startswith("/api/"):
            continue
        response = _call(client, method, path)
        assert response.status_int == 403, f"{name} {method} {path}: {response.status}"
        assert "Traceback" not in response.text
        checked += 1
    assert checked >= 8


def test_self_service_routes_are_open_to_every_user(app, browser, tenant, make_user, dbsession):
    dbsession.execute(sa.delete(RolePermission).where(RolePermission.tenant_id == tenant.id))
    dbsession.commit()
    client = browser(tenant, make_user(tenant, "secretary"))
    assert client.get("/account").status_int == 200


def test_granting_a_permission_opens_the_page(browser, tenant, make_user, dbsession):
    user = make_user(tenant, "secretary")
    client = browser(tenant, user)
    client.get("/admin/audit", status=403)
    dbsession.add(RolePermission(tenant_id=tenant.id, role="secretary",
                                 permission="core:audit:view"))
    dbsession.commit()
    client.get("/admin/audit", status=200)


def test_login_is_throttled_after_repeated_failures(app_settings, browser, tenant, make_user,
                                                    dbsession):
    user = make_user(tenant, "sales")
    limit = int(app_settings.get("security.login.max_failures", 5))
    client = browser(tenant)
    for _ in range(limit):
        form = client.get("/login").forms[0]
        form["email"] = user.email
        form["password"] = "wrong password"
        form.submit(status=400)
    form = client.get("/login").forms[0]
    form["email"] = user.email
    form["password"] = "correct horse battery"
    response = form.submit(status=400)
    assert 'class="form-error"' in response.text
    assert client.get("/", status=303)
    assert dbsession.scalar(sa.select(sa.func.count(LoginFailure.id))) == limit
    # Once the failures are old enough the right password works again.
    dbsession.execute(sa.delete(LoginFailure))
    dbsession.commit()
    form = client.get("/login").forms[0]
    form["email"] = user.email
    form["password"] = "correct horse battery"
    assert form.submit().status_int == 303


def test_password_is_stored_hashed_with_argon2(dbsession, tenant, make_user):
    from core.models import User

    user = make_user(tenant, "sales")
    stored = dbsession.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert "correct horse battery" not in stored


@pytest.fixture
def api_token(browser, tenant, make_user, dbsession):
    """A token created through the tokens page by a manager."""
    user = make_user(tenant, "manager")
    client = browser(tenant, user)
    form = client.get("/account/tokens").forms["token-form"]
    form["name"] = "Raamatupidamisprogramm"
    page = form.submit()
    secret = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
    return client, user, secret


def test_api_accepts_bearer_token(api_token, browser, tenant):
    _client, user, secret = api_token
    api = browser(tenant)
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json
    assert me["email"] == user.email
    assert "core:api:use" in me["permissions"]
    spec = api.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {secret}"}).json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/me" in spec["paths"]


def test_api_ignores_session_cookie_and_bad_tokens(api_token, browser, tenant):
    client, _user, _secret = api_token
    client.get("/api/v1/me", status=401)
    client.get("/api/v1/me", headers={"Authorization": "Bearer kh_nonsense"}, status=401)


def test_revoked_token_stops_working(api_token, browser, tenant, dbsession):
    client, _user, secret = api_token
    token_id = dbsession.scalar(sa.select(ApiToken.id))
    client.post(f"/account/tokens/{token_id}/revoke", {"csrf_token": client.csrf_token},
                status=303)
    browser(tenant).get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"},
                        status=401)


def test_token_of_one_tenant_is_useless_on_another(api_token, browser, make_tenant):
    _client, _user, secret = api_token
    other = make_tenant("Beeta OÜ", host="beeta.test")
    browser(other).get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"},
                       status=401)
