"""Tenant isolation: resolution by host, automatic ORM scoping, plugins per tenant."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import webtest
from pyramid.security import NO_PERMISSION_REQUIRED

from core import make_config
from core.db import TenantContextError, make_engine, make_session_factory, tenant_scope
from core.models import Tenant, TenantPlugin, User
from core.plugins import Manifest, PluginSet
from core.tenancy import (
    PluginStateError,
    disable_plugin,
    enable_plugin,
    enabled_plugins,
    resolve_tenant,
)

# --- a view that forgets the tenant filter ------------------------------------------------

def leaky_list(request):
    """Lists every user, forgetting to filter by tenant."""
    return {"emails": sorted(request.dbsession.scalars(sa.select(User.email)))}


def leaky_get(request):
    """Loads a user by primary key, whoever's it is."""
    user = request.dbsession.get(User, int(request.matchdict["id"]))
    return {"found": user is not None}


def leaky_rename(request):
    """Renames every user with a bulk UPDATE, no tenant filter."""
    result = request.dbsession.execute(sa.update(User).values(name="Renamed"))
    return {"rows": result.rowcount}


def leaky_delete(request):
    """Deletes every user with a bulk DELETE, no tenant filter."""
    result = request.dbsession.execute(sa.delete(User).where(User.role == "sales"))
    return {"rows": result.rowcount}


@pytest.fixture(scope="module")
def leaky_app(app_settings):
    config = make_config(app_settings)
    config.add_route("leaky_list", "/leaky")
    config.add_route("leaky_get", "/leaky/{id}")
    config.add_route("leaky_rename", "/leaky-rename")
    config.add_route("leaky_delete", "/leaky-delete")
    for name, view in (("leaky_list", leaky_list), ("leaky_get", leaky_get),
                       ("leaky_rename", leaky_rename), ("leaky_delete", leaky_delete)):
        config.add_view(view, route_name=name, renderer="json",
                        permission=NO_PERMISSION_REQUIRED, require_csrf=False)
    return config.make_wsgi_app()


def test_view_forgetting_the_filter_reads_only_its_tenant(leaky_app, make_tenant, make_user):
    a = make_tenant("Alfa AS", host="alfa.test")
    b = make_tenant("Beeta OÜ", host="beeta.test")
    make_user(a, "sales", email="anna@alfa.test")
    other = make_user(b, "sales", email="boris@beeta.test")
    client = webtest.TestApp(leaky_app, extra_environ={"HTTP_HOST": "alfa.test"})
    assert client.get("/leaky").json == {"emails": ["anna@alfa.test"]}
    assert client.get(f"/leaky/{other.id}").json == {"found": False}


def test_bulk_update_and_delete_stay_in_the_tenant(leaky_app, make_tenant, make_user, dbsession):
    a = make_tenant("Alfa AS", host="alfa.test")
    b = make_tenant("Beeta OÜ", host="beeta.test")
    make_user(a, "sales", email="anna@alfa.test", name="Anna")
    make_user(b, "sales", email="boris@beeta.test", name="Boris")
    client = webtest.TestApp(leaky_app, extra_environ={"HTTP_HOST": "alfa.test"})
    assert client.post("/leaky-rename").json == {"rows": 1}
    assert client.post("/leaky-delete").json == {"rows": 1}
    names = dict(dbsession.execute(sa.select(User.email, User.name)).all())
    assert names == {"boris@beeta.test": "Boris"}


def test_query_without_tenant_is_refused(db_url):
    engine = make_engine(db_url)
    session = make_session_factory(engine)()
    try:
        with pytest.raises(TenantContextError):
            session.scalars(sa.select(User)).all()
        with pytest.raises(TenantContextError):
            session.execute(sa.update(User).values(name="x"))
    finally:
        session.close()
        engine.dispose()


def test_insert_is_stamped_and_foreign_tenant_refused(db_url, make_tenant):
    a = make_tenant("Alfa AS", host="alfa.test")
    b = make_tenant("Beeta OÜ", host="beeta.test")
    engine = make_engine(db_url)
    session = make_session_factory(engine)()
    try:
        with tenant_scope(session, a.id):
            user = User(email="new@alfa.test", name="New", role="sales")
            session.add(user)
            session.flush()
            assert user.tenant_id == a.id
            session.add(User(tenant_id=b.id, email="x@beeta.test", name="X", role="sales"))
            with pytest.raises(TenantContextError):
                session.flush()
        session.rollback()
    finally:
        session.close()
        engine.dispose()


def test_resolution_by_host_default_and_inactive(dbsession, make_tenant):
    a = make_tenant("Alfa AS", host="alfa.test")
    make_tenant("Demo", host="demo.test")
    assert resolve_tenant(dbsession, "ALFA.test:8080").id == a.id
    assert resolve_tenant(dbsession, "unknown.test") is None
    assert resolve_tenant(dbsession, "unknown.test", default_slug="demo").slug == "demo"
    dbsession.get(Tenant, a.id).active = False
    dbsession.flush()
    assert resolve_tenant(dbsession, "alfa.test") is None


# --- enabling and disabling plugins --------------------------------------------------------

def _manifest(name: str, depends: tuple[str, ...] = ()) -> Manifest:
    return Manifest(name=name, version="1", module=f"fake_{name}", path=Path("."),
                    depends=depends)


@pytest.fixture
def chain():
    """base <- middle <- top, plus a loner."""
    return PluginSet({
        "base": _manifest("base"),
        "middle": _manifest("middle", ("base",)),
        "top": _manifest("top", ("middle",)),
        "loner": _manifest("loner"),
    })


def test_enabling_cascades_to_dependencies(dbsession, make_tenant, chain):
    tenant = make_tenant("Alfa AS", host="alfa.test", plugins=[])
    newly = enable_plugin(dbsession, chain, tenant, "top")
    assert newly == ["base", "middle", "top"]
    assert enabled_plugins(dbsession, tenant.id) == {"base", "middle", "top"}
    assert enable_plugin(dbsession, chain, tenant, "top") == []


def test_disabling_is_refused_while_needed_and_keeps_rows(dbsession, make_tenant, chain):
    tenant = make_tenant("Alfa AS", host="alfa.test", plugins=[])
    enable_plugin(dbsession, chain, tenant, "top")
    with pytest.raises(PluginStateError) as refused:
        disable_plugin(dbsession, chain, tenant, "base")
    assert refused.value.others == ["middle", "top"]
    disable_plugin(dbsession, chain, tenant, "top")
    disable_plugin(dbsession, chain, tenant, "middle")
    disable_plugin(dbsession, chain, tenant, "base")
    assert enabled_plugins(dbsession, tenant.id) == frozenset()
    with tenant_scope(dbsession, tenant.id):
        rows = dbsession.scalars(sa.select(TenantPlugin.plugin)).all()
    assert sorted(rows) == ["base", "middle", "top"]


def test_plugins_of_one_tenant_do_not_leak_to_another(dbsession, make_tenant, chain):
    a = make_tenant("Alfa AS", host="alfa.test", plugins=[])
    b = make_tenant("Beeta OÜ", host="beeta.test", plugins=[])
    dbsession.info["all_tenants"] = True
    enable_plugin(dbsession, chain, a, "loner")
    assert enabled_plugins(dbsession, b.id) == frozenset()
    assert enable_plugin(dbsession, chain, b, "loner") == ["loner"]


def test_unknown_plugin_is_refused(dbsession, make_tenant, chain):
    tenant = make_tenant("Alfa AS", host="alfa.test", plugins=[])
    with pytest.raises(PluginStateError):
        enable_plugin(dbsession, chain, tenant, "nope")


def test_transient_database_error_is_retried(app_settings, make_tenant, dbsession):
    """A concurrent writer on SQLite ("database is locked") or a serialization failure on
    PostgreSQL makes the request run again in a new transaction, not answer 500."""
    import sqlite3

    make_tenant("Alfa AS", host="alfa.test")
    attempts = []

    def flaky(request):
        attempts.append(request.environ["retry.attempt"])
        request.dbsession.add(User(email=f"try{len(attempts)}@alfa.test", name="T",
                                   role="sales"))
        request.dbsession.flush()
        if len(attempts) == 1:
            raise sa.exc.OperationalError("UPDATE ...", {}, sqlite3.OperationalError(
                "database is locked"))
        return {"attempts": len(attempts)}

    config = make_config(app_settings)
    config.add_route("flaky", "/flaky")
    config.add_view(flaky, route_name="flaky", renderer="json",
                    permission=NO_PERMISSION_REQUIRED, require_csrf=False)
    client = webtest.TestApp(config.make_wsgi_app(), extra_environ={"HTTP_HOST": "alfa.test"})
    assert client.post("/flaky").json == {"attempts": 2}
    assert attempts == [0, 1]
    # The first attempt's insert was rolled back; only the second one is kept.
    emails = dbsession.scalars(sa.select(User.email)).all()
    assert emails == ["try2@alfa.test"]


@pytest.mark.parametrize("shape", ["count", "exists", "in_subquery", "join", "scalar_subquery"])
def test_every_query_shape_is_scoped(shape, db_url, make_tenant, make_user):
    """Counts, EXISTS, IN and scalar subqueries and joins see only the current tenant."""
    a = make_tenant("Alfa AS", host="alfa.test")
    b = make_tenant("Beeta OÜ", host="beeta.test")
    make_user(a, "sales", email="anna@alfa.test")
    make_user(b, "sales", email="boris@beeta.test")
    make_user(b, "sales", email="berit@beeta.test")
    queries = {
        "count": (sa.select(sa.func.count()).select_from(User), 1),
        "exists": (sa.select(sa.exists().where(User.email == "boris@beeta.test")), False),
        "in_subquery": (sa.select(sa.func.count(Tenant.id)).where(
            Tenant.id.in_(sa.select(User.tenant_id))), 1),
        "join": (sa.select(sa.func.count()).select_from(Tenant).join(
            User, User.tenant_id == Tenant.id), 1),
        "scalar_subquery": (sa.select(
            sa.select(sa.func.count(User.id)).scalar_subquery()), 1),
    }
    statement, expected = queries[shape]
    engine = make_engine(db_url)
    session = make_session_factory(engine)()
    try:
        with tenant_scope(session, a.id):
            assert session.scalar(statement) == expected
        with pytest.raises(TenantContextError):
            session.execute(statement)
    finally:
        session.close()
        engine.dispose()
