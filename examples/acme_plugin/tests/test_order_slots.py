"""Acme's variant of the phone-order flow: its own slot rule (mornings only), for its tenant
only; a tenant without the plugin is offered the whole working day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.db import tenant_scope
from plugins.invoicing.models import Product


def _offered_hours(browser, tenant, make_user, client_id, dbsession) -> set[int]:
    with tenant_scope(dbsession, tenant.id):
        install = Product(code="PAIGALDUS", name="Paigaldus", is_service=True,
                          price=Decimal("40.00"), unit_code="HUR", service_minutes=60)
        dbsession.add(install)
        dbsession.commit()
        install_id = install.id
    b = browser(tenant, make_user(tenant, "sales", locale="en"))
    lines = b.get(f"/clients/{client_id}/invoices").forms["new-order-form"].submit().follow()
    form = lines.forms["order-lines"]
    form[f"qty-{install_id}"] = "1"
    slots = form.submit().follow().html.select("#order-slots button[name=slot]")
    assert slots
    return {dt.datetime.fromisoformat(s["value"]).hour for s in slots}


@pytest.mark.hookspec("choose_service_slot")
def test_acme_offers_only_morning_times(browser, make_tenant, make_user, make_client,
                                        dbsession):
    builtin = ["crm_register", "invoicing"]
    acme = make_tenant("Acme Paigaldus OÜ", host="acme-paigaldus.test",
                       plugins=[*builtin, "acme"])
    other = make_tenant("Muu Paigaldus OÜ", host="muu.test", plugins=builtin)
    acme_hours = _offered_hours(browser, acme, make_user,
                                make_client(acme, "Klient A OÜ").id, dbsession)
    other_hours = _offered_hours(browser, other, make_user,
                                 make_client(other, "Klient B OÜ").id, dbsession)
    assert max(acme_hours) < 12
    assert max(other_hours) >= 12
