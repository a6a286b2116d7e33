"""The product catalogue, VAT rates and invoicing settings as a manager uses them (I1)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import tenant_scope
from core.models import RolePermission
from plugins.invoicing.models import (
    ClientDiscount,
    Product,
    ProductGroup,
    Series,
    Settings,
    VatRate,
)
from plugins.invoicing.permissions import PRODUCT_VIEW


@pytest.fixture
def manager(browser, tenant, make_user):
    """A logged-in manager (every invoicing permission by default), in English."""
    return browser(tenant, make_user(tenant, "manager", locale="en"))


def _all(dbsession, tenant, stmt):
    """Rows of ``stmt`` in the tenant, detached; the read transaction is ended (SQLite)."""
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        rows = list(dbsession.scalars(stmt))
        for row in rows:
            if not isinstance(row, str | int | Decimal | None):
                dbsession.expunge(row)
    dbsession.rollback()
    return rows


def _one(dbsession, tenant, model, **where):
    rows = _all(dbsession, tenant, sa.select(model).where(
        *(getattr(model, k) == v for k, v in where.items())))
    return rows[0] if rows else None


def _count(dbsession, tenant, model):
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        n = dbsession.scalar(sa.select(sa.func.count()).select_from(model))
    dbsession.rollback()
    return n


def _group_id(dbsession, tenant, name):
    return _one(dbsession, tenant, ProductGroup, name=name).id


def _add_rate(dbsession, tenant, code, percent, start=dt.date(2000, 1, 1), end=None,
              category="S"):
    with tenant_scope(dbsession, tenant.id):
        dbsession.add(VatRate(code=code, name=code.title(), category=category,
                              percent=Decimal(percent), valid_from=start, valid_until=end))
        dbsession.commit()


# --- products -----------------------------------------------------------------------------

def test_create_edit_and_search_products(manager, tenant, dbsession):
    goods = _group_id(dbsession, tenant, "Kaubad")
    form = manager.get("/products").click(href="/products/new").forms["product-form"]
    form["code"] = "LAUD-1"
    form["name"] = "Kirjutuslaud"
    form["name_en"] = "Desk"
    form["group_id"] = str(goods)
    form["kind"] = "goods"
    form["unit_code"] = "H87"
    form["price"] = "12,50"  # as Estonians type it
    form["vat_code"] = "standard"
    listing = form.submit(status=303).follow()
    assert "Product LAUD-1 was added." in listing.text
    product = _one(dbsession, tenant, Product, code="LAUD-1")
    assert (product.name, product.name_en, product.group_id, product.is_service) == (
        "Kirjutuslaud", "Desk", goods, False)
    assert product.price == Decimal("12.5000") and product.active is True
    assert product.service_minutes is None

    form = listing.click(href=f"/products/{product.id}$").forms["product-form"]
    assert form["price"].value == "12.50"
    form["name"] = "Kirjutuslaud tamm"
    form["kind"] = "service"
    form["unit_code"] = "HUR"
    form["price"] = "1 234,5678"
    form["service_minutes"] = "90"
    form.submit(status=303)
    product = _one(dbsession, tenant, Product, code="LAUD-1")
    assert (product.name, product.is_service, product.unit_code, product.price,
            product.service_minutes) == ("Kirjutuslaud tamm", True, "HUR",
                                         Decimal("1234.5678"), 90)

    form = manager.get("/products/new").forms["product-form"]
    form["code"] = "KRUVI"
    form["name"] = "Kruvi"
    form["price"] = "0,05"
    form["active"] = False
    form.submit(status=303)

    def codes(**params):
        page = manager.get("/products", params)
        return re.findall(r'<tr id="product-\d+">\s*<td class="nowrap"><a [^>]*>([^<]+)</a>',
                          page.text)

    assert codes() == ["LAUD-1"]  # active ones by default
    assert codes(active="all") == ["KRUVI", "LAUD-1"]
    assert codes(active="0") == ["KRUVI"]
    assert codes(q="tamm") == ["LAUD-1"]
    assert codes(q="laud-") == ["LAUD-1"]  # by code
    assert codes(q="desk") == ["LAUD-1"]  # by the English name
    assert codes(q="kruvi") == []  # inactive
    assert codes(q="kruvi", active="all") == ["KRUVI"]
    assert codes(group=str(goods)) == ["LAUD-1"]
    assert codes(group="none", active="all") == ["KRUVI"]
    assert codes(q="%_") == []
    # Rubbish in the filters is ignored, never an error.
    assert codes(group="x", active="maybe", page="-1") == ["LAUD-1"]


def test_products_are_paged(manager, tenant, make_product):
    for i in range(55):
        make_product(tenant, f"P{i:03d}", f"Toode {i}", "1")
    first = manager.get("/products")
    assert "55 products" in first.text
    assert len(re.findall(r'<tr id="product-\d+">', first.text)) == 50
    second = manager.get("/products", {"page": "2"})
    assert len(re.findall(r'<tr id="product-\d+">', second.text)) == 5
    assert "P054" in second.text and "P000" not in second.text


def test_duplicate_code_is_refused_and_nothing_saved(manager, tenant, dbsession, make_product):
    make_product(tenant, "A-1", "Esimene", "10")
    other = make_product(tenant, "B-2", "Teine", "20")
    form = manager.get("/products/new").forms["product-form"]
    form["code"] = "A-1"
    form["name"] = "Kolmas"
    form["price"] = "5"
    refused = form.submit(status=400)
    assert "There is already a product with this code." in refused.text
    assert refused.forms["product-form"]["name"].value == "Kolmas"  # the input is kept
    assert _count(dbsession, tenant, Product) == 2

    form = manager.get(f"/products/{other.id}").forms["product-form"]
    form["code"] = "A-1"
    form["name"] = "Muudetud"
    assert "There is already a product with this code." in form.submit(status=400).text
    again = _one(dbsession, tenant, Product, id=other.id)
    assert (again.code, again.name) == ("B-2", "Teine")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("price", "-1", "The price cannot be negative."),
    ("price", "1,23456", "at most 4 decimals"),
    ("price", "abc", "Enter a number."),
    ("price", "1e999999", "The price is too large."),
    ("price", "", "This field is required."),
    ("code", "", "This field is required."),
    ("code", "x" * 41, "At most 40 characters."),
    ("service_minutes", "0", "Give minutes between 1 and"),
    ("service_minutes", "99999999999999999999", "Give minutes between 1 and"),
])
def test_bad_product_input_is_refused(manager, tenant, dbsession, field, value, message):
    form = manager.get("/products/new").forms["product-form"]
    form["code"] = "OK-1"
    form["name"] = "Toode"
    form["price"] = "1"
    form["kind"] = "service"
    form[field] = value
    refused = form.submit(status=400)
    assert message in refused.text
    assert _count(dbsession, tenant, Product) == 0


def test_forged_selects_are_refused(manager, tenant, dbsession):
    token = manager.csrf_token
    base = {"csrf_token": token, "code": "X", "name": "X", "price": "1", "kind": "goods",
            "unit_code": "H87", "vat_code": "standard"}
    for key, value in (("group_id", "999999"), ("vat_code", "nonsense"), ("unit_code", "ZZZ"),
                       ("kind", "both"), ("group_id", "1; drop")):
        page = manager.post("/products/new", {**base, key: value}, status=400)
        assert "Choose one of the options." in page.text
    assert _count(dbsession, tenant, Product) == 0
    manager.get("/products/999999", status=404)
    manager.post("/products/999999", {**base}, status=404)


def test_price_with_vat_valid_today_is_shown(manager, browser, tenant, make_user, dbsession,
                                             make_product):
    _add_rate(dbsession, tenant, "full", "24")
    _add_rate(dbsession, tenant, "old", "20", end=dt.date(2001, 1, 1))
    product = make_product(tenant, "T-24", "Kohv", "100", vat_code="full")
    make_product(tenant, "T-OLD", "Tee", "10", vat_code="old")
    page = manager.get("/products")
    row = page.html.find(id=f"product-{product.id}")
    assert "24 %" in row.text
    assert "€124.00" in row.find(class_="gross").text
    assert "no rate valid today" in page.text  # the "old" code has no rate today
    form_page = manager.get(f"/products/{product.id}")
    assert "€124.00" in form_page.html.find(id="price-with-vat").text
    estonian = browser(tenant, make_user(tenant, "secretary", locale="et")).get("/products")
    assert "124,00" in estonian.html.find(id=f"product-{product.id}").text


def test_a_secretary_sees_products_but_cannot_change_them(browser, tenant, make_user,
                                                          make_product):
    product = make_product(tenant, "A-1", "Esimene", "10")
    secretary = browser(tenant, make_user(tenant, "secretary", locale="en"))
    page = secretary.get("/products")
    assert "Esimene" in page.text and "New product" not in page.text
    assert 'href="http://acme.test/products"' in page.text  # in the main menu
    secretary.get("/products/new", status=403)
    secretary.get(f"/products/{product.id}", status=403)
    token = secretary.csrf_token
    secretary.post("/products/new", {"csrf_token": token, "code": "X", "name": "X",
                                     "price": "1"}, status=403)
    secretary.post("/invoicing/vat-rates", {"csrf_token": token}, status=403)
    secretary.post("/products/groups/add", {"csrf_token": token, "name": "X"}, status=403)
    secretary.get("/invoicing/settings", status=403)


def test_products_need_the_permission(browser, tenant, make_user, dbsession):
    dbsession.execute(sa.delete(RolePermission).where(
        RolePermission.tenant_id == tenant.id, RolePermission.permission == PRODUCT_VIEW))
    dbsession.commit()
    client = browser(tenant, make_user(tenant, "sales", locale="en"))
    client.get("/products", status=403)
    client.get("/invoicing/vat-rates", status=403)
    assert 'href="http://acme.test/products"' not in client.get("/").text


def test_product_groups_add_rename_and_delete_only_when_unused(
        manager, tenant, dbsession, make_product, make_client):
    page = manager.get("/products/groups")
    form = page.forms["group-new"]
    form["name"] = "Mööbel"
    form.submit(status=303)
    furniture = _group_id(dbsession, tenant, "Mööbel")
    again = manager.get("/products/groups").forms["group-new"]
    again["name"] = "Mööbel"
    assert "There is already a product group with this name." in again.submit(status=400).text

    form = manager.get("/products/groups").forms[f"group-{furniture}"]
    form["name"] = "Kontorimööbel"
    form.submit("action", value="save", status=303)
    assert _one(dbsession, tenant, ProductGroup, id=furniture).name == "Kontorimööbel"

    product = make_product(tenant, "TOOL", "Tool", "50", group=furniture)
    form = manager.get("/products/groups").forms[f"group-{furniture}"]
    page = form.submit("action", value="delete", status=303).follow()
    assert "Kontorimööbel cannot be deleted: 1 products are in this group." in page.text
    assert _one(dbsession, tenant, ProductGroup, id=furniture) is not None

    with tenant_scope(dbsession, tenant.id):
        dbsession.execute(sa.update(Product).where(Product.id == product.id)
                          .values(group_id=None))
        dbsession.commit()
    client = make_client(tenant, "Kask OÜ")
    with tenant_scope(dbsession, tenant.id):
        dbsession.add(ClientDiscount(client_id=client.id, group_id=furniture,
                                     percent=Decimal(5)))
        dbsession.commit()
    form = manager.get("/products/groups").forms[f"group-{furniture}"]
    page = form.submit("action", value="delete", status=303).follow()
    assert "1 clients have a discount on this group" in page.text

    with tenant_scope(dbsession, tenant.id):
        dbsession.execute(sa.delete(ClientDiscount))
        dbsession.commit()
    form = manager.get("/products/groups").forms[f"group-{furniture}"]
    page = form.submit("action", value="delete", status=303).follow()
    assert "Product group Kontorimööbel was deleted." in page.text
    assert _one(dbsession, tenant, ProductGroup, id=furniture) is None


# --- VAT rates ----------------------------------------------------------------------------

def _rates(dbsession, tenant, code):
    return [(r.percent, r.valid_from, r.valid_until) for r in _all(
        dbsession, tenant, sa.select(VatRate).where(VatRate.code == code)
        .order_by(VatRate.valid_from))]


def test_vat_periods_of_a_code_must_not_overlap(manager, tenant, dbsession):
    page = manager.get("/invoicing/vat-rates")
    assert page.html.find(id="vat-standard") is not None
    before = _count(dbsession, tenant, VatRate)

    form = page.forms["rate-new"]
    form["code"] = "standard"
    form["name"] = "Standardmäär"
    form["percent"] = "25"
    form["valid_from"] = "2025-01-01"
    refused = form.submit(status=400)
    assert "The period overlaps the period of standard" in refused.text
    assert _count(dbsession, tenant, VatRate) == before

    form = manager.get("/invoicing/vat-rates").forms["rate-new"]
    form["code"] = "Special"
    form["name"] = "Eriline"
    form["percent"] = "5,5"
    form["valid_from"] = "2026-01-01"
    form.submit(status=303)
    assert _rates(dbsession, tenant, "special") == [
        (Decimal("5.50"), dt.date(2026, 1, 1), None)]

    form = manager.get("/invoicing/vat-rates").forms["rate-new"]
    form["code"] = "special"
    form["name"] = "Eriline"
    form["percent"] = "7"
    form["valid_from"] = "2027-01-01"
    refused = form.submit(status=400)
    assert "valid from" in refused.text and "Give that period an end date first." in refused.text
    assert len(_rates(dbsession, tenant, "special")) == 1

    first = _one(dbsession, tenant, VatRate, code="special")
    form = manager.get("/invoicing/vat-rates").forms[f"rate-{first.id}"]
    form["valid_until"] = "2025-12-31"
    assert "The end date cannot be before the start date." in form.submit(
        "action", value="save", status=400).text
    form = manager.get("/invoicing/vat-rates").forms[f"rate-{first.id}"]
    form["valid_until"] = "2026-12-31"
    form.submit("action", value="save", status=303)
    form = manager.get("/invoicing/vat-rates").forms["rate-new"]
    form["code"] = "special"
    form["name"] = "Eriline"
    form["percent"] = "7"
    form["valid_from"] = "2027-01-01"
    form.submit(status=303)
    assert _rates(dbsession, tenant, "special") == [
        (Decimal("5.50"), dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
        (Decimal("7.00"), dt.date(2027, 1, 1), None)]

    # Moving the first period into the second is refused too.
    form = manager.get("/invoicing/vat-rates").forms[f"rate-{first.id}"]
    form["valid_until"] = "2027-02-01"
    assert "The period overlaps the period of special" in form.submit(
        "action", value="save", status=400).text


@pytest.mark.parametrize(("values", "message"), [
    ({"category": "E", "percent": "0"}, "Give the exemption reason"),
    ({"category": "AE", "percent": "0"}, "Give the exemption reason"),
    ({"category": "S", "percent": "0"}, "A standard rate (S) must be above 0 %."),
    ({"category": "Z", "percent": "5"}, "Only a standard rate (S) can be above 0 %."),
    ({"category": "S", "percent": "24", "exemption_reason": "x"},
     "have an exemption reason"),
    ({"percent": "100"}, "Give a percentage from 0 to 99.99."),
    ({"percent": "9,999"}, "at most 2 decimals"),
    ({"code": "Käibemaks!"}, "Use lower-case letters"),
    ({"valid_from": "1.1.2026"}, "Enter a date as YYYY-MM-DD."),
])
def test_bad_vat_rates_are_refused(manager, tenant, dbsession, values, message):
    before = _count(dbsession, tenant, VatRate)
    form = manager.get("/invoicing/vat-rates").forms["rate-new"]
    form["code"] = "new"
    form["name"] = "Uus"
    form["percent"] = "10"
    form["valid_from"] = "2026-01-01"
    for key, value in values.items():
        form[key] = value
    assert message in form.submit(status=400).text
    assert _count(dbsession, tenant, VatRate) == before


def test_exempt_rate_with_reason_and_deleting_periods(manager, tenant, dbsession,
                                                      make_product):
    form = manager.get("/invoicing/vat-rates").forms["rate-new"]
    form["code"] = "reverse"
    form["name"] = "Pöördmaksustamine"
    form["category"] = "AE"
    form["percent"] = "0"
    form["valid_from"] = "2026-01-01"
    form["exemption_reason"] = "KMS § 41 lg 1"
    form.submit(status=303)
    rate = _one(dbsession, tenant, VatRate, code="reverse")
    assert (rate.category, rate.exemption_reason) == ("AE", "KMS § 41 lg 1")

    make_product(tenant, "R", "Vanametall", "1", vat_code="reverse")
    form = manager.get("/invoicing/vat-rates").forms[f"rate-{rate.id}"]
    page = form.submit("action", value="delete", status=303).follow()
    assert "The last period of reverse cannot be deleted: 1 products use this rate." in page.text
    assert _one(dbsession, tenant, VatRate, code="reverse") is not None

    old = _all(dbsession, tenant, sa.select(VatRate).where(
        VatRate.code == "standard", VatRate.valid_from == dt.date(2009, 7, 1)))[0]
    form = manager.get("/invoicing/vat-rates").forms[f"rate-{old.id}"]
    form.submit("action", value="delete", status=303)
    assert len(_rates(dbsession, tenant, "standard")) == 2
    manager.post("/invoicing/vat-rates/999999", {"csrf_token": manager.csrf_token},
                 status=404)


# --- settings -----------------------------------------------------------------------------

def _settings(dbsession, tenant):
    return _all(dbsession, tenant, sa.select(Settings))[0]


def test_settings_are_validated_and_saved(manager, tenant, dbsession):
    page = manager.get("/invoicing/settings")
    assert 'href="http://acme.test/invoicing/settings"' in page.text  # the admin menu
    form = page.forms["settings-form"]
    assert form["seller_name"].value == "Acme OÜ"
    form["registry_code"] = "10137318"  # wrong check digit
    form["vat_number"] = "EE100207416"
    form["iban"] = "EE38 2200 2210 2014 5684"
    form["payment_term_days"] = "400"
    form["phone"] = "+372 600 1234"
    refused = form.submit(status=400)
    for message in ("Not a valid Estonian registry code", "Not a valid Estonian VAT number",
                    "Not a valid IBAN.", "Give a number of days from 0 to 365."):
        assert message in refused.text
    settings = _settings(dbsession, tenant)
    assert (settings.registry_code, settings.iban, settings.phone,
            settings.payment_term_days) == (None, None, None, 14)

    form = refused.forms["settings-form"]
    assert form["phone"].value == "+372 600 1234"  # the input is kept
    form["registry_code"] = "10137319"
    form["vat_number"] = "100207415"
    form["iban"] = "EE38 2200 2210 2014 5685"
    form["payment_term_days"] = "7"
    form["email"] = "Arved@Acme.EE"
    form["reference_mode"] = "client"
    form["line_discounts"] = False
    form["invoice_discounts"] = True
    form["offer_valid_days"] = "45"
    form["invoice_footer"] = "Täname!\r\nAitäh."
    page = form.submit(status=303).follow()
    assert "The invoicing settings were saved." in page.text
    settings = _settings(dbsession, tenant)
    assert (settings.registry_code, settings.vat_number, settings.iban, settings.bic,
            settings.bank_name) == ("10137319", "EE100207415", "EE382200221020145685",
                                    "HABAEE2X", "Swedbank AS")
    assert (settings.payment_term_days, settings.reference_mode, settings.email,
            settings.offer_valid_days) == (7, "client", "arved@acme.ee", 45)
    assert (settings.group_discounts, settings.line_discounts,
            settings.invoice_discounts) == (True, False, True)
    assert settings.invoice_footer == "Täname!\nAitäh."

    form = page.forms["settings-form"]
    form["bic"] = "NOTABIC"
    form["country"] = "E1"
    refused = form.submit(status=400)
    assert "Not a valid BIC." in refused.text and "two-letter country code" in refused.text
    assert _settings(dbsession, tenant).bic == "HABAEE2X"


def _series(dbsession, tenant, code):
    return _one(dbsession, tenant, Series, code=code)


def test_series_numbers_can_be_raised_but_never_lowered(manager, tenant, dbsession):
    page = manager.get("/invoicing/settings")
    form = page.forms["series-invoice"]
    form["prefix"] = "A-"
    form["digits"] = "5"
    form["last_number"] = "120"
    page = form.submit(status=303).follow()
    assert "the next number is A-00121" in page.text
    series = _series(dbsession, tenant, "invoice")
    assert (series.prefix, series.digits, series.last_number) == ("A-", 5, 120)

    form = page.forms["series-invoice"]
    form["last_number"] = "119"
    refused = form.submit(status=400)
    assert "The last number cannot be lowered below 120" in refused.text
    assert _series(dbsession, tenant, "invoice").last_number == 120

    form = manager.get("/invoicing/settings").forms["series-credit"]
    form["prefix"] = "A-"
    assert "Another series uses this prefix" in form.submit(status=400).text
    form = manager.get("/invoicing/settings").forms["series-credit"]
    form["prefix"] = "K 1"
    form["digits"] = "11"
    refused = form.submit(status=400)
    assert "Use letters, digits" in refused.text and "Give a number from 0 to 10." in refused.text
    assert _series(dbsession, tenant, "credit").prefix == "K"
    manager.post("/invoicing/settings/series/999999", {"csrf_token": manager.csrf_token},
                 status=404)
