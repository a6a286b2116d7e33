"""The Discounts tab of the client card (C5): a discount percent per product group."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import tenant_scope
from core.models import AuditEntry, RolePermission, Tenant
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.invoicing.models import ClientDiscount, ProductGroup, Settings
from plugins.invoicing.permissions import DISCOUNT_EDIT
from plugins.invoicing.views.discounts import parse_percent


def _groups(dbsession, tenant):
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        groups = dict(dbsession.execute(sa.select(ProductGroup.name, ProductGroup.id)).all())
    dbsession.rollback()
    return groups


def _discounts(dbsession, tenant, client_id):
    """The client's discounts by group name."""
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        rows = dict(dbsession.execute(
            sa.select(ProductGroup.name, ClientDiscount.percent)
            .join(ProductGroup, ProductGroup.id == ClientDiscount.group_id)
            .where(ClientDiscount.client_id == client_id)).all())
    dbsession.rollback()
    return rows


@pytest.mark.parametrize(("raw", "value"), [
    ("", None), ("  ", None), ("10", Decimal("10.00")), ("12,5", Decimal("12.50")),
    ("7.25 %", Decimal("7.25")), ("0", Decimal("0.00")), ("100", Decimal("100.00")),
])
def test_percent_is_read_as_typed(raw, value):
    assert parse_percent(raw) == value


@pytest.mark.parametrize("raw", ["-1", "100.01", "abc", "1,234", "NaN", "Infinity", "1e3",
                                 "9" * 30])
def test_bad_percent_is_refused(raw):
    with pytest.raises(ValueError, match=r".+"):
        parse_percent(raw)


def test_discounts_are_saved_shown_and_audited(browser, tenant, make_user, make_client,
                                               dbsession):
    groups = _groups(dbsession, tenant)
    client = make_client(tenant, "Õun OÜ")
    sales = browser(tenant, make_user(tenant, "sales", locale="en"))
    card = sales.get(f"/clients/{client.id}")
    tab = card.click(href=f"/clients/{client.id}/discounts$")
    assert tab.html.find("a", href=f"http://acme.test/clients/{client.id}/discounts") is not None
    form = tab.forms["discounts-form"]
    form[f"group-{groups['Kaubad']}"] = "10"
    form[f"group-{groups['Teenused']}"] = "12,5"
    page = form.submit(status=303).follow()
    assert "The discounts of Õun OÜ were saved." in page.text
    assert _discounts(dbsession, tenant, client.id) == {
        "Kaubad": Decimal("10.00"), "Teenused": Decimal("12.50")}
    form = page.forms["discounts-form"]
    assert form[f"group-{groups['Kaubad']}"].value == "10"
    assert form[f"group-{groups['Teenused']}"].value == "12.5"
    assert form[f"group-{groups['Tarvikud']}"].value == ""

    # Change one, clear one (empty), set 0 (no discount) on the third.
    form[f"group-{groups['Kaubad']}"] = "15"
    form[f"group-{groups['Teenused']}"] = ""
    form[f"group-{groups['Tarvikud']}"] = "0"
    form.submit(status=303)
    assert _discounts(dbsession, tenant, client.id) == {"Kaubad": Decimal("15.00")}

    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        actions = sorted(dbsession.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.entity == "inv_client_discount",
                                               AuditEntry.parent == f"crm_client:{client.id}")))
    dbsession.rollback()
    assert actions.count("insert") == 2 and "update" in actions and "delete" in actions

    # Someone who may see the client but not change discounts sees them read-only.
    secretary = browser(tenant, make_user(tenant, "secretary", locale="en"))
    page = secretary.get(f"/clients/{client.id}/discounts")
    assert "discounts-form" not in page.forms
    row = page.html.find(id=f"discount-{groups['Kaubad']}")
    assert "Kaubad" in row.text and "15 %" in row.text


def test_bad_discounts_save_nothing(browser, tenant, make_user, make_client, dbsession):
    groups = _groups(dbsession, tenant)
    client = make_client(tenant, "Kask OÜ")
    sales = browser(tenant, make_user(tenant, "sales", locale="en"))
    form = sales.get(f"/clients/{client.id}/discounts").forms["discounts-form"]
    form[f"group-{groups['Kaubad']}"] = "10"
    form[f"group-{groups['Teenused']}"] = "101"
    form[f"group-{groups['Tarvikud']}"] = "kümme"
    page = form.submit(status=400)
    assert "nothing was saved" in page.text
    assert page.text.count("Enter a percentage from 0 to 100.") == 2
    assert page.forms["discounts-form"][f"group-{groups['Tarvikud']}"].value == "kümme"
    assert _discounts(dbsession, tenant, client.id) == {}
    # Unknown groups or odd parameters are ignored, not an error.
    sales.post(f"/clients/{client.id}/discounts",
               {"csrf_token": sales.csrf_token, "group-999999": "50", "group-x": "y"},
               status=303)
    assert _discounts(dbsession, tenant, client.id) == {}
    sales.post(f"/clients/{client.id}/discounts", {"group-1": "5"}, status=400)  # no CSRF


def test_a_salesperson_without_the_permission_cannot_save(browser, tenant, make_user,
                                                          make_client, dbsession):
    groups = _groups(dbsession, tenant)
    client = make_client(tenant, "Kask OÜ")
    dbsession.execute(sa.delete(RolePermission).where(
        RolePermission.tenant_id == tenant.id, RolePermission.permission == DISCOUNT_EDIT,
        RolePermission.role == "sales"))
    dbsession.commit()
    sales = browser(tenant, make_user(tenant, "sales", locale="en"))
    page = sales.get(f"/clients/{client.id}/discounts")
    assert "discounts-form" not in page.forms
    sales.post(f"/clients/{client.id}/discounts",
               {"csrf_token": sales.csrf_token, f"group-{groups['Kaubad']}": "50"},
               status=403)
    assert _discounts(dbsession, tenant, client.id) == {}


def test_other_tenants_and_hidden_clients_get_404(browser, tenant, make_tenant, make_user,
                                                  make_client, dbsession):
    client = make_client(tenant, "Kask OÜ")
    other = make_tenant("Beeta OÜ", host="beeta.test")
    stranger = browser(other, make_user(other, "manager"))
    stranger.get(f"/clients/{client.id}/discounts", status=404)
    stranger.post(f"/clients/{client.id}/discounts",
                  {"csrf_token": stranger.csrf_token, "group-1": "50"}, status=404)

    owner = make_user(tenant, "sales")
    mine = make_client(tenant, "Minu OÜ", salesperson_id=owner.id)
    with tenant_scope(dbsession, tenant.id):
        row = dbsession.get(Tenant, tenant.id)
        row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
        dbsession.commit()
    sales = browser(tenant, owner)
    sales.get(f"/clients/{mine.id}/discounts", status=200)
    sales.get(f"/clients/{client.id}/discounts", status=404)
    sales.post(f"/clients/{client.id}/discounts",
               {"csrf_token": sales.csrf_token, "group-1": "50"}, status=404)
    sales.get("/clients/99999999/discounts", status=404)
    assert _discounts(dbsession, tenant, client.id) == {}


def test_notice_when_group_discounts_are_off(browser, tenant, make_user, make_client,
                                             dbsession):
    client = make_client(tenant, "Kask OÜ")
    sales = browser(tenant, make_user(tenant, "sales", locale="en"))
    assert "group-discounts-off" not in sales.get(f"/clients/{client.id}/discounts").text
    with tenant_scope(dbsession, tenant.id):
        dbsession.execute(sa.update(Settings).values(group_discounts=False))
        dbsession.commit()
    page = sales.get(f"/clients/{client.id}/discounts")
    assert page.html.find(id="group-discounts-off") is not None
