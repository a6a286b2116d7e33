"""The client register's settings page: catalogues and the "own clients only" switch."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import tenant_scope, utcnow
from core.models import Tenant
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.crm_register.models import (
    Activity,
    ActivityItem,
    ActivityType,
    CatalogueItem,
    ClientGroup,
    ClientGroupLink,
    ClientType,
    Document,
    DocumentType,
)
from plugins.crm_register.numbering import next_number


@pytest.fixture
def admin(browser, tenant, make_user):
    return browser(tenant, make_user(tenant, "manager", locale="en"))


def _one(dbsession, tenant, model, **where):
    """A fresh copy of one row, detached; the read transaction is ended (SQLite locks)."""
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        stmt = sa.select(model).where(*(getattr(model, k) == v for k, v in where.items()))
        row = dbsession.scalar(stmt)
        if row is not None:
            dbsession.expunge(row)
    dbsession.rollback()
    return row


def _names(dbsession, tenant, model):
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        names = set(dbsession.scalars(sa.select(model.name)))
    dbsession.rollback()
    return names


def test_settings_page_needs_the_permission(browser, tenant, make_user, admin):
    browser(tenant, make_user(tenant, "sales")).get("/admin/client-register", status=403)
    page = admin.get("/admin/client-register")
    for section in ("access", "groups", "types", "activity-types", "catalogue",
                    "document-types"):
        assert page.html.find(id=section) is not None
    assert "Kuldklient" in page.text  # the defaults of the tenant
    admin.get("/admin/client-register/robots/add", status=404)
    admin.post("/admin/client-register/groups/add", {"name": "X"}, status=400)  # no CSRF


def test_client_groups_add_rename_and_delete_when_unused(admin, tenant, make_client,
                                                         dbsession):
    page = admin.get("/admin/client-register")
    form = page.forms["groups-new"]
    form["name"] = "Hõbeklient"
    form.submit(status=303)
    assert "Hõbeklient" in _names(dbsession, tenant, ClientGroup)

    again = admin.get("/admin/client-register").forms["groups-new"]
    again["name"] = "Hõbeklient"
    refused = again.submit(status=400)
    assert "already a client group with this name" in refused.text
    again = refused.forms["groups-new"]
    again["name"] = ""
    assert "required" in again.submit(status=400).text

    silver = _one(dbsession, tenant, ClientGroup, name="Hõbeklient")
    form = admin.get("/admin/client-register").forms[f"groups-{silver.id}"]
    form["name"] = "Pronksklient"
    form["position"] = "7"
    form.submit("action", value="save", status=303)
    renamed = _one(dbsession, tenant, ClientGroup, id=silver.id)
    assert (renamed.name, renamed.position) == ("Pronksklient", 7)

    gold = _one(dbsession, tenant, ClientGroup, name="Kuldklient")
    client = make_client(tenant, "Kuldne OÜ")
    with tenant_scope(dbsession, tenant.id):
        dbsession.add(ClientGroupLink(client_id=client.id, group_id=gold.id))
        dbsession.commit()
    form = admin.get("/admin/client-register").forms[f"groups-{gold.id}"]
    page = form.submit("action", value="delete", status=303).follow()
    assert "Kuldklient cannot be deleted: 1 clients are in this group." in page.text
    assert "Kuldklient" in _names(dbsession, tenant, ClientGroup)
    form = page.forms[f"groups-{silver.id}"]
    form.submit("action", value="delete", status=303)
    assert "Pronksklient" not in _names(dbsession, tenant, ClientGroup)


def test_client_types_and_document_types(admin, tenant, make_client, dbsession):
    form = admin.get("/admin/client-register").forms["types-new"]
    form["name"] = "Hulgimüüja"
    form.submit(status=303)
    assert "Hulgimüüja" in _names(dbsession, tenant, ClientType)

    form = admin.get("/admin/client-register").forms["document-types-new"]
    form["name"] = "Hinnapäring"
    form.submit(status=303)
    offer = _one(dbsession, tenant, DocumentType, name="Pakkumine")
    form = admin.get("/admin/client-register").forms[f"document-types-{offer.id}"]
    form["name"] = "Hinnapakkumine"
    form.submit("action", value="save", status=303)
    assert {"Hinnapäring", "Hinnapakkumine"} <= _names(dbsession, tenant, DocumentType)

    client = make_client(tenant, "Dokumendiga OÜ")
    with tenant_scope(dbsession, tenant.id):
        dbsession.add(Document(number=next_number(dbsession, "document"), client_id=client.id,
                               title="Pakkumine nr 1", type_id=offer.id))
        dbsession.commit()
    form = admin.get("/admin/client-register").forms[f"document-types-{offer.id}"]
    page = form.submit("action", value="delete", status=303).follow()
    assert "Hinnapakkumine cannot be deleted: 1 documents are of this type." in page.text
    assert "Hinnapakkumine" in _names(dbsession, tenant, DocumentType)
    request = _one(dbsession, tenant, DocumentType, name="Hinnapäring")
    page.forms[f"document-types-{request.id}"].submit("action", value="delete", status=303)
    assert "Hinnapäring" not in _names(dbsession, tenant, DocumentType)


def test_activity_types_with_kilometres_and_minutes(admin, tenant, make_client, dbsession):
    form = admin.get("/admin/client-register").forms["activity-types-new"]
    form["name"] = "Videokõne"
    form["code"] = "kõne!"
    form["default_minutes"] = "2000"
    refused = form.submit(status=400)
    assert "lower-case letters" in refused.text and "between 0 and 1440" in refused.text
    form = refused.forms["activity-types-new"]
    form["code"] = "Video"
    form["default_minutes"] = "45"
    form["requires_kilometres"] = True
    form.submit(status=303)
    video = _one(dbsession, tenant, ActivityType, code="video")
    assert (video.name, video.default_minutes, video.requires_kilometres) == (
        "Videokõne", 45, True)

    form = admin.get("/admin/client-register").forms["activity-types-new"]
    form["name"] = "Teine kõne"
    form["code"] = "call"
    assert "already an activity type with this code" in form.submit(status=400).text

    client = make_client(tenant, "Tegevusega OÜ")
    with tenant_scope(dbsession, tenant.id):
        dbsession.add(Activity(number=next_number(dbsession, "activity"), name="Kõne",
                               client_id=client.id, type_id=video.id, starts_at=utcnow()))
        dbsession.commit()
    page = admin.get("/admin/client-register").forms[f"activity-types-{video.id}"].submit(
        "action", value="delete", status=303).follow()
    assert "Videokõne cannot be deleted: 1 activities are of this type." in page.text
    assert _one(dbsession, tenant, ActivityType, id=video.id) is not None
    form = page.forms[f"activity-types-{video.id}"]
    form["requires_kilometres"] = False
    form.submit("action", value="save", status=303)
    assert _one(dbsession, tenant, ActivityType, id=video.id).requires_kilometres is False


def test_catalogue_items_cost_active_and_delete_when_unused(admin, tenant, make_client,
                                                            dbsession):
    form = admin.get("/admin/client-register").forms["catalogue-new"]
    form["kind"] = "service"
    form["name"] = "Hooldus"
    form["unit"] = "h"
    form["unit_cost"] = "-1"
    assert "cannot be negative" in form.submit(status=400).text
    form["unit_cost"] = "1 234,5"
    form.submit(status=303)
    item = _one(dbsession, tenant, CatalogueItem, name="Hooldus")
    assert (item.kind, item.unit, item.unit_cost, item.active) == (
        "service", "h", Decimal("1234.50"), True)

    form = admin.get("/admin/client-register").forms["catalogue-new"]
    form["kind"] = "service"
    form["name"] = "Hooldus"
    form["unit"] = "h"
    assert "already an item of this kind" in form.submit(status=400).text

    client = make_client(tenant, "Hooldatav OÜ")
    with tenant_scope(dbsession, tenant.id):
        call = dbsession.scalar(sa.select(ActivityType).where(ActivityType.code == "call"))
        activity = Activity(number=next_number(dbsession, "activity"), name="Hooldus",
                            client_id=client.id, type_id=call.id,
                            starts_at=utcnow() - dt.timedelta(days=1))
        activity.items.append(ActivityItem(item_id=item.id, quantity=Decimal("2")))
        dbsession.add(activity)
        dbsession.commit()
    page = admin.get("/admin/client-register").forms[f"catalogue-{item.id}"].submit(
        "action", value="delete", status=303).follow()
    assert "Make it inactive instead" in page.text
    form = page.forms[f"catalogue-{item.id}"]
    form["active"] = False
    form.submit("action", value="save", status=303)
    assert _one(dbsession, tenant, CatalogueItem, id=item.id).active is False


def test_own_clients_toggle_limits_a_salesperson(browser, tenant, make_user, make_client,
                                                 admin, dbsession):
    seller = make_user(tenant, "sales")
    mine = make_client(tenant, "Minu Klient OÜ", salesperson_id=seller.id)
    theirs = make_client(tenant, "Kolleegi Klient OÜ")
    b = browser(tenant, seller)
    assert "Kolleegi Klient OÜ" in b.get("/clients").text
    b.get(f"/clients/{theirs.id}", status=200)

    form = admin.get("/admin/client-register").forms["access-form"]
    assert form["own_clients_only"].checked is False
    form["own_clients_only"] = True
    form.submit(status=303)
    dbsession.rollback()
    assert dbsession.get(Tenant, tenant.id).settings[OWN_CLIENTS_ONLY] is True

    page = b.get("/clients")
    assert "Minu Klient OÜ" in page.text and "Kolleegi Klient OÜ" not in page.text
    b.get(f"/clients/{mine.id}", status=200)
    b.get(f"/clients/{theirs.id}", status=404)
    # the manager holds "see every client" and is not limited
    assert "Kolleegi Klient OÜ" in admin.get("/clients").text

    form = admin.get("/admin/client-register").forms["access-form"]
    assert form["own_clients_only"].checked is True
    form["own_clients_only"] = False
    form.submit(status=303)
    b.get(f"/clients/{theirs.id}", status=200)


def test_items_of_another_tenant_cannot_be_changed(admin, make_tenant, dbsession):
    other = make_tenant("Beeta OÜ", host="beeta.test")
    with tenant_scope(dbsession, other.id):
        group_id = dbsession.scalar(sa.select(ClientGroup.id).where(
            ClientGroup.name == "Kuldklient"))
    admin.post(f"/admin/client-register/groups/{group_id}",
               {"csrf_token": admin.csrf_token, "action": "delete"}, status=404)
    with tenant_scope(dbsession, other.id):
        assert dbsession.get(ClientGroup, group_id) is not None


def test_enabling_again_keeps_what_a_manager_removed(dbsession, make_tenant, plugin_set):
    """Defaults are given once; re-enabling does not bring back a deleted client group."""
    import sqlalchemy as sa

    from core.db import tenant_scope
    from core.tenancy import disable_plugin, enable_plugin
    from plugins.crm_register.models import ClientGroup

    tenant = make_tenant("Alfa AS", host="alfa.test", plugins=["crm_register"])
    with tenant_scope(dbsession, tenant.id):
        gold = dbsession.scalar(sa.select(ClientGroup).where(ClientGroup.name == "Kuldklient"))
        dbsession.delete(gold)
        dbsession.flush()
        disable_plugin(dbsession, plugin_set, tenant, "crm_register")
        enable_plugin(dbsession, plugin_set, tenant, "crm_register")
        names = set(dbsession.scalars(sa.select(ClientGroup.name)))
    assert "Kuldklient" not in names and "Püsiklient" in names
