"""The invoicing JSON API (issue item 11) as an integrator uses it with a token: products,
draft invoices with lines, confirmation, PDF and UBL, offers, and the refusals that change
nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from core.db import tenant_scope
from core.models import RolePermission, Tenant, User
from core.security import new_api_token
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.invoicing import references
from plugins.invoicing.models import Invoice, Offer, Product, Series, Settings


class Api:
    """A WebTest client sending the bearer token and JSON bodies."""

    def __init__(self, browser: Any, secret: str) -> None:
        self.browser = browser
        self.headers = {"Authorization": f"Bearer {secret}"}

    def get(self, url: str, params: dict[str, Any] | None = None, status: int = 200) -> Any:
        return self.browser.get(url, params or {}, headers=self.headers, status=status)

    def post(self, url: str, body: Any, status: int = 201) -> Any:
        return self.browser.post_json(url, body, headers=self.headers, status=status)

    def patch(self, url: str, body: Any, status: int = 200) -> Any:
        return self.browser.patch_json(url, body, headers=self.headers, status=status)

    def raw(self, method: str, url: str, body: bytes, status: int | str = "*") -> Any:
        """Send ``body`` as it is (through the tenant's host, unlike ``TestApp.request``)."""
        return call(self.browser, method, url, body, self.headers, status)


def call(browser: Any, method: str, url: str, body: bytes = b"",
         headers: dict[str, str] | None = None, status: int | str = "*") -> Any:
    """``method`` on ``url`` with a raw JSON ``body``; ``status`` is checked."""
    if method == "GET":
        return browser.get(url, headers=headers or {}, status=status)
    send = getattr(browser, method.lower())
    return send(url, body, headers=headers or {}, content_type="application/json",
                status=status)


def token_for(dbsession, browser, tenant, user) -> Api:
    """An API token of ``user`` (core.security.new_api_token) in a client for ``tenant``."""
    with tenant_scope(dbsession, tenant.id):
        _row, secret = new_api_token(dbsession, dbsession.get(User, user.id), "test")
        dbsession.commit()
    return Api(browser(tenant), secret)


@pytest.fixture
def manager(browser, tenant, make_user, dbsession) -> Api:
    """A manager's API (every invoicing permission, the override too)."""
    return token_for(dbsession, browser, tenant, make_user(tenant, "manager"))


@pytest.fixture
def sales(browser, tenant, make_user, dbsession) -> Api:
    """A salesperson's API: invoices and offers, products read-only, no override."""
    return token_for(dbsession, browser, tenant, make_user(tenant, "sales"))


def _seller(dbsession, tenant) -> None:
    """Seller details an e-invoice needs."""
    with tenant_scope(dbsession, tenant.id):
        settings = dbsession.scalar(sa.select(Settings))
        settings.seller_name = "Acme OÜ"
        settings.registry_code = "10137319"
        settings.vat_number = "EE100931558"
        settings.iban = "EE382200221020145685"
        settings.street, settings.city, settings.postal_code = "Pärnu mnt 10", "Tallinn", "10148"
        dbsession.commit()


def _count(dbsession, tenant, model) -> int:
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        return dbsession.scalar(sa.select(sa.func.count(model.id)))


def _last_number(dbsession, tenant, code: str = "invoice") -> int:
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        return dbsession.scalar(sa.select(Series.last_number).where(Series.code == code))


TOOL = {"code": "TOOL-1", "name": "Tool", "name_en": "Chair", "price": "12.5",
        "unit_code": "H87", "vat_code": "standard"}


# --- products -------------------------------------------------------------------------------

def test_products_are_created_listed_read_and_changed(manager, sales, tenant, dbsession):
    response = manager.post("/api/v1/products", TOOL)
    tool = response.json
    assert response.location.endswith(f"/api/v1/products/{tool['id']}")
    assert (tool["code"], tool["price"], tool["kind"], tool["active"], tool["vat_code"],
            tool["vat_percent"], tool["price_with_vat"]) == (
        "TOOL-1", "12.50", "goods", True, "standard", "24.00", "15.50")
    service = manager.post("/api/v1/products", {
        "code": "PAIGALDUS", "name": "Paigaldus", "kind": "service", "unit_code": "HUR",
        "price": 40, "service_minutes": 120}).json
    assert (service["kind"], service["unit_code"], service["price"],
            service["service_minutes"]) == ("service", "HUR", "40.00", 120)
    manager.post("/api/v1/products", {"code": "VANA", "name": "Vana toode", "price": "1",
                                      "active": False})

    assert [p["code"] for p in manager.get("/api/v1/products", {"q": "tool"}).json[
        "items"]] == ["TOOL-1"]
    assert manager.get("/api/v1/products", {"q": "chair"}).json["total"] == 1
    assert [p["code"] for p in manager.get("/api/v1/products", {"active": "false"}).json[
        "items"]] == ["VANA"]
    first = sales.get("/api/v1/products", {"per_page": 2}).json
    assert (first["total"], first["pages"], [p["code"] for p in first["items"]]) == (
        3, 2, ["PAIGALDUS", "TOOL-1"])

    url = f"/api/v1/products/{tool['id']}"
    changed = manager.patch(url, {"price": "0.1049", "name": "Tool 2"}).json
    assert (changed["price"], changed["name"], changed["code"], changed["name_en"]) == (
        "0.1049", "Tool 2", "TOOL-1", "Chair")
    assert sales.get(url).json == changed
    sales.patch(url, {"name": "x"}, status=403)
    sales.post("/api/v1/products", {**TOOL, "code": "X"}, status=403)
    manager.get("/api/v1/products/999999", status=404)
    manager.get("/api/v1/products/0", status=404)


def test_bad_product_input_changes_nothing(manager, tenant, dbsession):
    assert manager.raw("POST", "/api/v1/products", b"{not json", 400).json["error"]
    assert manager.post("/api/v1/products", ["a list"], status=400).json["fields"] == {}
    missing = manager.post("/api/v1/products", {"price": "1"}, status=422).json
    assert set(missing["fields"]) == {"code", "name"}
    cases = {
        "price": "-1", "vat_code": "nope", "unit_code": "XXX", "kind": "robot",
        "group_id": 999999, "service_minutes": -5, "active": "yes", "colour": "red",
    }
    for field, value in cases.items():
        body = manager.post("/api/v1/products", {**TOOL, field: value}, status=422).json
        assert field in body["fields"], (field, body)
        assert body["error"]
    decimals = manager.post("/api/v1/products", {**TOOL, "price": "1.23456"}, status=422).json
    assert set(decimals["fields"]) == {"price"}
    assert manager.get("/api/v1/products", {"per_page": "500"}, status=400).json["fields"]
    assert manager.get("/api/v1/products", {"active": "maybe"}, status=400).json["fields"]
    assert _count(dbsession, tenant, Product) == 0

    tool = manager.post("/api/v1/products", TOOL).json
    clash = manager.post("/api/v1/products", {**TOOL, "name": "Teine"}, status=409).json
    assert clash["existing_id"] == tool["id"] and set(clash["fields"]) == {"code"}
    other = manager.post("/api/v1/products", {**TOOL, "code": "TOOL-2"}).json
    url = f"/api/v1/products/{other['id']}"
    assert manager.patch(url, {"code": "TOOL-1"}, status=409).json["existing_id"] == tool["id"]
    manager.patch(url, {"price": "-0.01"}, status=422)
    manager.patch(url, {"id": 5}, status=422)
    assert manager.get(url).json == other
    assert _count(dbsession, tenant, Product) == 2


# --- invoices -------------------------------------------------------------------------------

def test_invoice_is_created_confirmed_and_read_back(manager, tenant, make_client, dbsession):
    _seller(dbsession, tenant)
    client = make_client(tenant, "Õun & Pirn OÜ", registry_code="10137319",
                         invoice_email="arved@oun.ee", payment_term_days=7)
    tool = manager.post("/api/v1/products", TOOL).json
    response = manager.post("/api/v1/invoices", {
        "client_id": client.id, "issue_date": "2026-03-02", "lines": [
            {"product_id": tool["id"], "quantity": "2"},
            {"description": "Paigaldus", "unit_price": "40.00", "quantity": 1.5,
             "discount_percent": "5", "vat_code": "standard", "unit_code": "HUR"},
        ]})
    draft = response.json
    assert response.location.endswith(f"/api/v1/invoices/{draft['id']}")
    assert (draft["status"], draft["number"], draft["kind"], draft["issue_date"],
            draft["due_date"], draft["reference_number"], draft["ubl_url"]) == (
        "draft", None, "invoice", "2026-03-02", "2026-03-09", None, None)
    assert [(li["description"], li["quantity"], li["unit_price"], li["discount_percent"],
             li["vat_percent"], li["net_amount"], li["product_code"]) for li in draft["lines"]
            ] == [("Tool", "2.000", "12.50", "0.00", "24.00", "25.00", "TOOL-1"),
                  ("Paigaldus", "1.500", "40.00", "5.00", "24.00", "57.00", None)]
    assert (draft["total_net"], draft["total_vat"], draft["total"], draft["paid_amount"]) == (
        "82.00", "19.68", "101.68", "0.00")
    assert draft["vat"] == [{"category": "S", "percent": "24.00", "taxable_amount": "82.00",
                             "tax_amount": "19.68"}]
    url = f"/api/v1/invoices/{draft['id']}"
    assert manager.get(f"{url}/ubl", status=409).json["error"]

    confirmed = manager.post(f"{url}/confirm", {}, status=200).json
    assert confirmed["number"] == "0001"
    assert references.is_valid_estonian(confirmed["reference_number"])
    # Due on 2026-03-09, long past: an open invoice past its due date shows as overdue.
    assert (confirmed["status"], confirmed["total"], confirmed["open_amount"]) == (
        "overdue", "101.68", "101.68")
    assert confirmed["confirmed_at"] and confirmed["ubl_url"].endswith(f"{url}/ubl")
    assert manager.get(url).json == confirmed
    listed = manager.get("/api/v1/invoices", {"status": "overdue"}).json
    assert [i["number"] for i in listed["items"]] == ["0001"]
    assert manager.get("/api/v1/invoices", {"status": "confirmed"}).json["total"] == 0
    assert manager.get("/api/v1/invoices", {"client_id": client.id, "kind": "invoice"}).json[
        "total"] == 1
    assert manager.get("/api/v1/invoices", {"status": "nope"}, status=400).json["fields"]

    pdf = manager.get(f"{url}/pdf")
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF")
    ubl = manager.get(f"{url}/ubl")
    assert ubl.content_type == "application/xml"
    assert b"<cbc:ID>0001</cbc:ID>" in ubl.body
    assert confirmed["reference_number"].encode() in ubl.body
    again = manager.post(f"{url}/confirm", {}, status=409).json
    assert again["error"] and _last_number(dbsession, tenant) == 1


def test_confirming_a_blocked_clients_invoice_is_refused_and_changes_nothing(
        manager, sales, tenant, make_client, dbsession):
    blocked = make_client(tenant, "Võlgnik OÜ", sales_blocked=True)
    draft = sales.post("/api/v1/invoices", {"client_id": blocked.id, "lines": [
        {"description": "Konsultatsioon", "unit_price": "100"}]}).json
    url = f"/api/v1/invoices/{draft['id']}/confirm"
    refused = sales.post(url, {}, status=409).json
    assert "Võlgnik OÜ" in refused["error"] and refused["fields"] == {}
    assert sales.raw("POST", url, b"", 409).json["error"] == refused["error"]  # no body
    denied = sales.post(url, {"override": True}, status=403).json
    assert set(denied["fields"]) == {"override"}
    sales.post(url, {"override": "yes"}, status=422)
    after = sales.get(f"/api/v1/invoices/{draft['id']}").json
    assert (after["status"], after["number"], after["reference_number"],
            after["override_reason"]) == ("draft", None, None, None)
    assert after == draft
    assert _last_number(dbsession, tenant) == 0

    forced = manager.post(url, {"override": True}, status=200).json
    assert forced["number"] == "0001"  # the refusals used no number
    assert forced["override_reason"] and "Võlgnik OÜ" in forced["override_reason"]


def test_a_bad_line_creates_nothing(manager, tenant, make_client, dbsession):
    client = make_client(tenant, "Õun OÜ")
    good = {"description": "Töö", "unit_price": "10", "quantity": "1"}
    bad = manager.post("/api/v1/invoices", {"client_id": client.id, "lines": [
        good, {**good, "quantity": "0"}, good]}, status=422).json
    assert bad["line"] == 1 and set(bad["fields"]) == {"lines[1].quantity"}
    cases = [
        ({"product_id": 999999}, "product_id"),
        ({"description": "", "unit_price": "1"}, "description"),
        ({"description": "x"}, "unit_price"),
        ({**good, "unit_price": "1.23456"}, "unit_price"),
        ({**good, "quantity": "many"}, "quantity"),
        ({**good, "discount_percent": "101"}, "discount_percent"),
        ({**good, "vat_code": "nope"}, "vat_code"),
        ({**good, "unit_code": "XXX"}, "unit_code"),
        ({**good, "colour": "red"}, "colour"),
    ]
    for line, field in cases:
        body = manager.post("/api/v1/invoices", {"client_id": client.id,
                                                 "lines": [good, line]}, status=422).json
        assert body["line"] == 1 and f"lines[1].{field}" in body["fields"], (field, body)
    assert "lines[0]" in manager.post("/api/v1/invoices", {
        "client_id": client.id, "lines": ["text"]}, status=422).json["fields"]
    for body, field in (({"client_id": 999999}, "client_id"), ({}, "client_id"),
                        ({"client_id": client.id, "kind": "credit"}, "kind"),
                        ({"client_id": client.id, "issue_date": "2.3.2026"}, "issue_date"),
                        ({"client_id": client.id, "lines": {}}, "lines"),
                        ({"client_id": client.id, "number": "1"}, "number")):
        assert field in manager.post("/api/v1/invoices", body, status=422).json["fields"]
    manager.raw("POST", "/api/v1/invoices", b"[1, 2", 400)
    assert _count(dbsession, tenant, Invoice) == 0

    prepayment = manager.post("/api/v1/invoices", {"client_id": client.id,
                                                   "kind": "prepayment"}).json
    assert (prepayment["kind"], prepayment["lines"], prepayment["total"]) == (
        "prepayment", [], "0.00")
    refused = manager.post(f"/api/v1/invoices/{prepayment['id']}/confirm", {},
                           status=409).json
    assert refused["error"]


def test_other_tenants_and_other_salespeoples_invoices_answer_404(
        manager, tenant, make_tenant, make_user, make_client, browser, dbsession):
    tenant_b = make_tenant("Beeta OÜ", host="beeta.test")
    api_b = token_for(dbsession, browser, tenant_b, make_user(tenant_b, "manager"))
    client_b = make_client(tenant_b, "Beeta Klient OÜ")
    invoice_b = api_b.post("/api/v1/invoices", {"client_id": client_b.id, "lines": [
        {"description": "Töö", "unit_price": "10"}]}).json
    product_b = api_b.post("/api/v1/products", TOOL).json
    offer_b = api_b.post("/api/v1/offers", {"client_id": client_b.id}).json
    url = f"/api/v1/invoices/{invoice_b['id']}"
    for path in (url, f"{url}/pdf", f"{url}/ubl", f"/api/v1/products/{product_b['id']}",
                 f"/api/v1/offers/{offer_b['id']}"):
        assert manager.get(path, status=404).json["error"]
    manager.post(f"{url}/confirm", {}, status=404)
    manager.patch(f"/api/v1/products/{product_b['id']}", {"name": "Häkk"}, status=404)
    manager.post(f"/api/v1/offers/{offer_b['id']}/status", {"status": "sent"}, status=404)
    manager.post(f"/api/v1/offers/{offer_b['id']}/invoice", {}, status=404)
    for collection in ("invoices", "products", "offers"):
        assert manager.get(f"/api/v1/{collection}").json["total"] == 0
    assert "client_id" in manager.post("/api/v1/invoices", {"client_id": client_b.id},
                                       status=422).json["fields"]
    assert api_b.get(url).json["status"] == "draft"

    kadri = make_user(tenant, "sales", name="Kadri Saar")
    tonu = make_user(tenant, "sales", name="Tõnu Mägi")
    mine = make_client(tenant, "Kadri Klient OÜ", salesperson_id=kadri.id)
    theirs = make_client(tenant, "Tõnu Klient OÜ", salesperson_id=tonu.id)
    for client in (mine, theirs):
        manager.post("/api/v1/invoices", {"client_id": client.id})
    hidden = manager.get("/api/v1/invoices", {"client_id": theirs.id}).json["items"][0]
    row = dbsession.get(Tenant, tenant.id)
    row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
    dbsession.commit()
    kadri_api = token_for(dbsession, browser, tenant, kadri)
    assert [i["client_name"] for i in kadri_api.get("/api/v1/invoices").json["items"]] == [
        "Kadri Klient OÜ"]
    kadri_api.get(f"/api/v1/invoices/{hidden['id']}", status=404)
    kadri_api.post(f"/api/v1/invoices/{hidden['id']}/confirm", {}, status=404)
    kadri_api.post("/api/v1/invoices", {"client_id": theirs.id}, status=422)


def test_every_invoicing_api_route_needs_a_permission(browser, tenant, make_user, dbsession):
    routes = [("GET", "/api/v1/products"), ("POST", "/api/v1/products"),
              ("GET", "/api/v1/products/1"), ("PATCH", "/api/v1/products/1"),
              ("GET", "/api/v1/invoices"), ("POST", "/api/v1/invoices"),
              ("GET", "/api/v1/invoices/1"), ("POST", "/api/v1/invoices/1/confirm"),
              ("GET", "/api/v1/invoices/1/pdf"), ("GET", "/api/v1/invoices/1/ubl"),
              ("GET", "/api/v1/offers"), ("POST", "/api/v1/offers"),
              ("GET", "/api/v1/offers/1"), ("POST", "/api/v1/offers/1/status"),
              ("POST", "/api/v1/offers/1/invoice")]
    anonymous = browser(tenant)
    for method, path in routes:
        response = call(anonymous, method, path)
        assert response.status_int == 401 and response.json["error"], (method, path)
    dbsession.execute(sa.delete(RolePermission).where(RolePermission.tenant_id == tenant.id))
    dbsession.commit()
    api = token_for(dbsession, browser, tenant, make_user(tenant, "manager"))
    for method, path in routes:
        response = call(api.browser, method, path, headers=api.headers)
        assert response.status_int == 403 and response.json["error"], (method, path)


# --- offers ---------------------------------------------------------------------------------

def test_offer_is_created_sent_and_made_into_an_invoice(manager, sales, tenant, make_client,
                                                        dbsession):
    client = make_client(tenant, "Õun OÜ")
    tool = manager.post("/api/v1/products", TOOL).json
    today = dt.date.today()
    response = sales.post("/api/v1/offers", {
        "client_id": client.id, "valid_until": (today + dt.timedelta(days=10)).isoformat(),
        "notes": "Hind kehtib 10 päeva.", "lines": [
            {"product_id": tool["id"], "quantity": "4"},
            {"description": "Transport", "unit_price": "15", "vat_code": "standard"}]})
    offer = response.json
    assert response.location.endswith(f"/api/v1/offers/{offer['id']}")
    assert (offer["status"], offer["sequence"], offer["notes"], offer["total_net"],
            offer["invoice_id"]) == ("draft", 1, "Hind kehtib 10 päeva.", "65.00", None)
    assert offer["number"].endswith("0001")
    assert [li["net_amount"] for li in offer["lines"]] == ["50.00", "15.00"]
    url = f"/api/v1/offers/{offer['id']}"
    assert manager.post(f"{url}/invoice", {}, status=409).json["error"]  # still a draft
    assert _count(dbsession, tenant, Invoice) == 0
    sales.post(f"{url}/status", {"status": "accepted"}, status=409)
    sales.post(f"{url}/status", {"status": "invoiced"}, status=422)
    assert sales.post(f"{url}/status", {"status": "sent"}, status=200).json["status"] == "sent"
    assert [o["id"] for o in sales.get("/api/v1/offers", {"status": "sent"}).json[
        "items"]] == [offer["id"]]

    response = sales.post(f"{url}/invoice", {})
    invoice = response.json
    assert response.location.endswith(f"/api/v1/invoices/{invoice['id']}")
    assert (invoice["status"], invoice["client_id"], invoice["total_net"]) == (
        "draft", client.id, "65.00")
    assert [li["description"] for li in invoice["lines"]] == ["Tool", "Transport"]
    read = sales.get(url).json
    assert (read["status"], read["invoice_id"]) == ("invoiced", invoice["id"])
    assert sales.post(f"{url}/invoice", {}, status=409).json["error"]
    assert _count(dbsession, tenant, Invoice) == 1
    assert sales.get("/api/v1/offers", {"client_id": client.id}).json["total"] == 1


def test_bad_offer_input_creates_nothing(manager, tenant, make_client, dbsession):
    client = make_client(tenant, "Õun OÜ")
    good = {"description": "Töö", "unit_price": "10"}
    bad = manager.post("/api/v1/offers", {"client_id": client.id, "lines": [
        good, good, {**good, "unit_price": "-5"}]}, status=422).json
    assert bad["line"] == 2 and set(bad["fields"]) == {"lines[2].unit_price"}
    today = dt.date.today()
    for body, field in (
            ({"client_id": client.id, "valid_until": (today - dt.timedelta(days=1)).isoformat()},
             "valid_until"),
            ({"client_id": client.id, "valid_until": (today + dt.timedelta(days=400)).isoformat()},
             "valid_until"),
            ({"client_id": client.id, "notes": 5}, "notes"),
            ({"client_id": 999999}, "client_id")):
        assert field in manager.post("/api/v1/offers", body, status=422).json["fields"]
    assert _count(dbsession, tenant, Offer) == 0
    assert _last_number(dbsession, tenant, "offer") in (None, 0)


# --- the OpenAPI document -------------------------------------------------------------------

def _schema_validator(spec: dict[str, Any], name: str) -> OAS31Validator:
    # The whole document is the root resource, so "#/components/schemas/..." refs resolve.
    return OAS31Validator({**spec, "$ref": f"#/components/schemas/{name}"})


@pytest.mark.hookspec("openapi_paths")
def test_openapi_document_is_valid_and_describes_the_answers(manager, tenant, make_client,
                                                             dbsession, make_tenant,
                                                             make_user, browser):
    _seller(dbsession, tenant)
    spec = manager.get("/api/v1/openapi.json").json
    validate_spec(spec)
    for path in ("/api/v1/products", "/api/v1/products/{product_id}", "/api/v1/invoices",
                 "/api/v1/invoices/{invoice_id}", "/api/v1/invoices/{invoice_id}/confirm",
                 "/api/v1/invoices/{invoice_id}/pdf", "/api/v1/invoices/{invoice_id}/ubl",
                 "/api/v1/offers", "/api/v1/offers/{offer_id}",
                 "/api/v1/offers/{offer_id}/status", "/api/v1/offers/{offer_id}/invoice",
                 "/api/v1/clients"):
        assert path in spec["paths"], path
    assert spec["paths"]["/api/v1/invoices"]["post"]["operationId"] == "createInvInvoice"

    client = make_client(tenant, "Õun OÜ")
    tool = manager.post("/api/v1/products", TOOL).json
    draft = manager.post("/api/v1/invoices", {"client_id": client.id, "lines": [
        {"product_id": tool["id"]}, {"description": "Töö", "unit_price": "0.1049",
                                     "quantity": "3"}]}).json
    confirmed = manager.post(f"/api/v1/invoices/{draft['id']}/confirm", {}, status=200).json
    offer = manager.post("/api/v1/offers", {"client_id": client.id, "lines": [
        {"product_id": tool["id"]}]}).json
    answers = {
        "InvProduct": tool, "InvProductList": manager.get("/api/v1/products").json,
        "InvInvoiceDetail": confirmed, "InvInvoiceList": manager.get("/api/v1/invoices").json,
        "InvOfferDetail": offer, "InvOfferList": manager.get("/api/v1/offers").json,
        "InvError": manager.post("/api/v1/invoices", {"client_id": client.id, "lines": [
            {"quantity": 0}]}, status=422).json,
    }
    for name, answer in answers.items():
        _schema_validator(spec, name).validate(answer)
    _schema_validator(spec, "InvError").validate(
        manager.post("/api/v1/products", TOOL, status=409).json)
    requests = {
        "InvProductCreate": TOOL,
        "InvInvoiceCreate": {"client_id": 1, "issue_date": "2026-03-02", "kind": "invoice",
                             "lines": [{"product_id": 1, "quantity": "2"},
                                       {"description": "x", "unit_price": 1.5}]},
        "InvOfferCreate": {"client_id": 1, "lines": [{"product_id": 1}]},
        "InvOfferStatus": {"status": "sent"}, "InvConfirm": {"override": True},
    }
    for name, body in requests.items():
        _schema_validator(spec, name).validate(body)
    assert not _schema_validator(spec, "InvProductInput").is_valid({"colour": "red"})
    assert Decimal(confirmed["total"]) == Decimal(confirmed["total_net"]) + Decimal(
        confirmed["total_vat"])

    without = make_tenant("Gamma OÜ", host="gamma.test", plugins=["crm_register"])
    gamma = token_for(dbsession, browser, without, make_user(without, "admin"))
    other_spec = gamma.get("/api/v1/openapi.json").json
    assert "/api/v1/invoices" not in other_spec["paths"]
    assert "/api/v1/clients" in other_spec["paths"]
    assert "InvInvoice" not in other_spec["components"]["schemas"]
    gamma.get("/api/v1/invoices", status=404)
