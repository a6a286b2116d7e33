"""The client register's demo data (issue item 13): realistic, valid and usable at once."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pyramid.threadlocal import manager
from schwifty import BIC, IBAN
from stdnum.ee import ik, kmkr, registrikood

from core import demo
from core.db import all_tenants, tenant_scope, utcnow
from core.models import Tenant, User
from plugins.crm_register import identifiers
from plugins.crm_register.demo import create_demo_data, summary
from plugins.crm_register.models import (
    Activity,
    ActivityType,
    Address,
    Client,
    ClientPerson,
    Document,
    Person,
    Relation,
)
from plugins.crm_register.search import fold


@pytest.fixture
def demo_tenant(app, app_settings, plugin_set, dbsession):
    """``kliendihaldus demo``'s data in the test database, files in the app's storage."""
    settings = {**app_settings, "kliendihaldus.default_plugins": "builtin"}
    manager.push({"registry": app.registry, "request": None})
    try:
        with all_tenants(dbsession):
            assert demo.load(dbsession, plugin_set, settings) is True
            dbsession.commit()
    finally:
        manager.pop()
    return dbsession.scalar(sa.select(Tenant).where(Tenant.slug == demo.DEMO_SLUG))


@pytest.mark.hookspec("demo_data")
def test_demo_clients_have_valid_identifiers_and_contacts(demo_tenant, dbsession):
    with tenant_scope(dbsession, demo_tenant.id):
        counts = summary(dbsession)
        clients = dbsession.scalars(sa.select(Client)).all()
        links = dbsession.scalars(sa.select(ClientPerson)).all()
        persons = dbsession.scalars(sa.select(Person)).all()
        addresses = dbsession.scalars(sa.select(Address)).all()
        relations = dbsession.scalars(sa.select(Relation)).all()
        users = {u.id: u for u in dbsession.scalars(sa.select(User))}
    assert counts["crm_client"] == 200
    kinds = Counter(c.kind for c in clients)
    assert kinds == {"company": 180, "person": 20}
    assert sorted(c.number for c in clients) == list(range(1, 201))
    assert len({c.registry_code for c in clients}) == 200
    for client in clients:
        if client.kind == "company":
            assert registrikood.is_valid(client.registry_code), client.registry_code
            assert client.name.endswith((" OÜ", " AS", " MTÜ"))
        else:
            assert ik.is_valid(client.registry_code), client.registry_code
        # The same checks as the client form accept every identifier unchanged.
        if client.vat_number:
            assert kmkr.is_valid(client.vat_number)
            assert identifiers.vat_number(client.vat_number) == client.vat_number
        if client.iban:
            assert IBAN(client.iban).compact == identifiers.iban(client.iban) == client.iban
            assert client.iban[4:6] in {"22", "10", "17", "77"}
            assert BIC(client.bic).country_code == "EE"
        assert (client.phone or client.mobile).startswith("+372 ")
        assert "@" in client.email
        assert client.search_text.startswith(fold(client.name))
        assert users[client.salesperson_id].role == "sales"
        assert client.addresses and client.addresses[0].postal_code.isdigit()
    assert sum(1 for c in clients if c.vat_number) > 100
    assert sum(1 for c in clients if c.website) > 100
    groups_per_client = Counter(len(c.group_links) for c in clients)
    assert groups_per_client[2] + groups_per_client[3] > 10  # several groups at once
    assert {a.county for a in addresses} >= {"Harju maakond", "Tartu maakond", "Pärnu maakond"}
    assert {"Tallinn", "Tartu", "Pärnu", "Kuressaare"} <= {a.city for a in addresses}

    per_company = Counter(link.client_id for link in links)
    companies = [c for c in clients if c.kind == "company"]
    assert all(1 <= per_company[c.id] <= 4 for c in companies)
    boards = Counter(link.person_id for link in links if link.role == "juhatuse liige")
    assert sum(1 for n in boards.values() if n >= 2) >= 5  # one person, two boards (C12)
    assert all(ik.is_valid(p.personal_code) for p in persons if p.personal_code)
    assert sum(1 for p in persons if p.personal_code) == 20
    assert all(p.name_search == fold(p.full_name) for p in persons)
    assert {r.kind for r in relations} == {"subsidiary", "branch", "partner"}


@pytest.mark.hookspec("demo_data")
def test_demo_activities_fill_the_calendar_and_the_front_page(demo_tenant, dbsession,
                                                              browser, app):
    tz = ZoneInfo("Europe/Tallinn")
    today = utcnow().astimezone(tz).date()
    with tenant_scope(dbsession, demo_tenant.id):
        activities = dbsession.scalars(sa.select(Activity)).all()
        types = {t.id: t for t in dbsession.scalars(sa.select(ActivityType))}
        mari = dbsession.scalar(sa.select(User).where(User.email == demo.DEMO_LOGIN))
        documents = dbsession.scalars(sa.select(Document)).all()
        versions = [(d, v) for d in documents for v in d.versions]
        client = dbsession.scalar(sa.select(Client).where(Client.kind == "company")
                                  .order_by(Client.number))
        contact = client.contacts[0].person
    assert len(activities) == 1500
    assert sorted(a.number for a in activities) == list(range(1, 1501))
    days = [a.starts_at.astimezone(tz).date() for a in activities]
    assert min(days) >= today - dt.timedelta(days=183)
    assert max(days) <= today + dt.timedelta(days=29)
    assert sum(1 for d in days if d > today) > 100
    assert len({(d.year, d.month) for d in days}) >= 7
    todays = [a for a in activities
              if a.performer_id == mari.id and a.starts_at.astimezone(tz).date() == today]
    assert len(todays) >= 5
    assert {types[a.type_id].code for a in todays} >= {"call", "meeting"}
    assert all(a.kilometres is not None for a in activities
               if types[a.type_id].requires_kilometres)
    assert all(a.actual_minutes for a in activities if a.status == "done")
    assert {a.status for a in activities if a.starts_at > utcnow() + dt.timedelta(hours=1)} \
        == {"planned"}
    assert sum(1 for a in activities if a.follow_up_of_id) > 50
    assert sum(1 for a in activities if a.project_id) > 20

    # Documents: registered with a real file in the storage service.
    assert len(documents) >= 10
    storage = app.registry["file_storage"]
    for _document, version in versions:
        content = storage.read(version.storage_key)
        assert hashlib.sha256(content).hexdigest() == version.sha256
        assert len(content) == version.size

    # The demo login sees it all: search finds clients by name and by a contact's name.
    page = browser(demo_tenant)
    page.login(demo.DEMO_LOGIN, demo.DEMO_PASSWORD)
    found = page.get("/clients/search.json", {"q": fold(client.name)[:6]}).json["results"]
    assert client.id in [r["id"] for r in found]
    by_contact = page.get("/clients/search.json", {"q": contact.last_name}).json["results"]
    assert by_contact
    assert page.get("/clients").status_int == 200
    card = page.get(f"/clients/{client.id}")
    assert client.name in card.text


def test_demo_data_is_the_same_every_time(make_tenant, make_user, dbsession):
    """Two tenants with the same demo users get the same clients (a seeded generator)."""
    names = []
    day = dt.date(2026, 3, 2)
    for label in ("Üks", "Kaks"):
        tenant = make_tenant(f"{label} OÜ", host=f"{fold(label)}.test")
        for role in ("admin", "manager", "sales", "sales", "accountant", "secretary"):
            make_user(tenant, role)
        with tenant_scope(dbsession, tenant.id):
            create_demo_data(dbsession, dbsession.get(Tenant, tenant.id), today=day)
            dbsession.commit()
            names.append([(c.name, c.registry_code, c.vat_number, c.iban) for c in
                          dbsession.scalars(sa.select(Client).order_by(Client.number))])
            assert dbsession.scalar(sa.select(sa.func.count(Document.id))) == 0  # no store
            dbsession.rollback()  # end the read before the next tenant is written
    assert names[0] == names[1]
    assert len(names[0]) == 200
