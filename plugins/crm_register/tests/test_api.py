"""The client register's JSON API (issue item 12) as an integrator uses it with a token."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from core.db import tenant_scope
from core.models import Tenant, User
from core.security import new_api_token
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.crm_register.models import (
    Activity,
    ActivityType,
    CatalogueItem,
    Client,
    ClientGroup,
)


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

    def raw(self, method: str, url: str, body: bytes, status: int) -> Any:
        send = getattr(self.browser, method.lower())
        return send(url, params=body, headers=self.headers, content_type="application/json",
                    status=status)


@pytest.fixture
def manager_api(browser, tenant, make_user):
    """A manager's token, created on the tokens page (as in tests/test_security.py)."""
    user = make_user(tenant, "manager", name="Jaan Kask")
    page_client = browser(tenant, user)
    form = page_client.get("/account/tokens").forms["token-form"]
    form["name"] = "Raamatupidamisprogramm"
    page = form.submit()
    secret = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
    return Api(browser(tenant), secret), user


def token_for(dbsession, browser, tenant, user) -> Api:
    """A token of any user (core.security.new_api_token), for roles without the tokens page."""
    with tenant_scope(dbsession, tenant.id):
        _row, secret = new_api_token(dbsession, dbsession.get(User, user.id), "test")
        dbsession.commit()
    return Api(browser(tenant), secret)


def _ids(dbsession, tenant, model, column, *values):
    with tenant_scope(dbsession, tenant.id):
        rows = {getattr(r, column.key): r.id for r in dbsession.scalars(
            sa.select(model).where(column.in_(values)))}
    dbsession.rollback()
    missing = [v for v in values if v not in rows]
    assert not missing, f"tenant {tenant.slug} lacks the default {model.__name__} {missing}"
    return [rows[v] for v in values]


def _count(dbsession, tenant, model) -> int:
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        return dbsession.scalar(sa.select(sa.func.count(model.id)))


TARTU = {"name": "Tartu Mööbel AS", "registry_code": "10137319", "vat_number": "100207415",
         "iban": "EE38 2200 2210 2014 5685", "email": "INFO@Moobel.ee"}


def test_clients_are_created_listed_read_and_changed(manager_api, tenant, dbsession):
    api, user = manager_api
    gold, regular = _ids(dbsession, tenant, ClientGroup, ClientGroup.name,
                         "Kuldklient", "Püsiklient")
    response = api.post("/api/v1/clients", {**TARTU, "groups": [gold, regular],
                                            "salesperson_id": user.id})
    created = response.json
    assert response.location.endswith(f"/api/v1/clients/{created['id']}")
    assert (created["registry_code"], created["vat_number"], created["iban"],
            created["email"]) == ("10137319", "EE100207415", "EE382200221020145685",
                                  "info@moobel.ee")
    assert (created["number"], created["kind"], created["language"], created["active"]) == (
        1, "company", "et", True)
    assert {g["name"] for g in created["groups"]} == {"Kuldklient", "Püsiklient"}
    assert created["salesperson"] == "Jaan Kask"
    assert created["addresses"] == [] and created["contacts"] == []
    for i in range(3):
        api.post("/api/v1/clients", {"name": f"Firma {i} OÜ", "kind": "company"})

    found = api.get("/api/v1/clients", {"q": "MOOBEL"}).json
    assert [c["name"] for c in found["items"]] == ["Tartu Mööbel AS"]
    assert api.get("/api/v1/clients", {"q": "10137319"}).json["total"] == 1
    assert api.get("/api/v1/clients", {"group": gold}).json["total"] == 1
    first = api.get("/api/v1/clients", {"per_page": 3}).json
    assert (first["total"], first["pages"], len(first["items"])) == (4, 2, 3)
    second = api.get("/api/v1/clients", {"per_page": 3, "page": 2}).json
    assert [c["name"] for c in second["items"]] == ["Tartu Mööbel AS"]

    url = f"/api/v1/clients/{created['id']}"
    changed = api.patch(url, {"phone": "+372 5555 1234", "groups": [regular]}).json
    assert changed["phone"] == "+372 5555 1234"
    assert [g["name"] for g in changed["groups"]] == ["Püsiklient"]
    assert changed["vat_number"] == "EE100207415" and changed["name"] == "Tartu Mööbel AS"
    assert api.get("/api/v1/clients", {"q": "5555 1234"}).json["total"] == 1
    assert api.get(url).json == changed


def test_bad_client_input_changes_nothing(manager_api, tenant, dbsession):
    api, _user = manager_api
    assert api.raw("POST", "/api/v1/clients", b"{not json", 400).json["error"]
    assert api.post("/api/v1/clients", ["a list"], status=400).json["fields"] == {}
    errors = api.post("/api/v1/clients", {"registry_code": "123"}, status=400).json
    assert set(errors["fields"]) == {"name"}
    cases = {
        "registry_code": "10137318",  # wrong check digit
        "vat_number": "EE100207416",
        "iban": "EE38 2200 2210 2014 5684",
        "email": "not-an-address",
        "kind": "alien",
        "email_consent": "yes",
        "groups": [999999],
        "client_type_id": 999999,
        "registered_on": "31.12.2020",
        "number": 5,
        "colour": "red",
    }
    for field, value in cases.items():
        body = api.post("/api/v1/clients", {"name": "Vigane OÜ", field: value}, status=400).json
        assert field in body["fields"], (field, body)
        assert body["error"]
    personal = api.post("/api/v1/clients", {"name": "Mari Maasikas", "kind": "person",
                                            "registry_code": "10137319"}, status=400).json
    assert "registry_code" in personal["fields"]
    assert api.get("/api/v1/clients", {"page": "x"}, status=400).json["fields"]["page"]
    assert api.get("/api/v1/clients", {"per_page": "500"}, status=400).json["fields"]
    assert _count(dbsession, tenant, Client) == 0

    client = api.post("/api/v1/clients", TARTU).json
    url = f"/api/v1/clients/{client['id']}"
    api.patch(url, {"registry_code": "10137318"}, status=400)
    api.patch(url, {"name": ""}, status=400)
    api.patch(url, {"kind": "person"}, status=400)  # the registry code is no personal code
    api.patch(url, {"id": 5}, status=400)
    assert api.get(url).json["registry_code"] == "10137319"
    assert api.get(url).json["kind"] == "company"


def test_duplicates_answer_409_with_the_existing_client(manager_api):
    api, _user = manager_api
    first = api.post("/api/v1/clients", TARTU).json
    clash = api.post("/api/v1/clients", {"name": "Teine OÜ", "registry_code": "10137319"},
                     status=409).json
    assert clash["existing_id"] == first["id"]
    assert set(clash["fields"]) == {"registry_code"}
    assert clash["duplicates"] == [{"id": first["id"], "name": "Tartu Mööbel AS",
                                    "field": "registry_code"}]
    similar = api.post("/api/v1/clients", {"name": "Tartu Mööbel OÜ"}, status=409).json
    assert similar["existing_id"] == first["id"] and similar["similar"][0]["id"] == first["id"]
    other = api.post("/api/v1/clients", {"name": "Tartu Mööbel OÜ",
                                         "confirm_similar": True}).json
    clash = api.patch(f"/api/v1/clients/{other['id']}", {"vat_number": "EE100207415"},
                      status=409).json
    assert clash["existing_id"] == first["id"] and "vat_number" in clash["fields"]
    assert api.get(f"/api/v1/clients/{other['id']}").json["vat_number"] is None


def test_credit_terms_need_the_credit_permission(manager_api, browser, tenant, make_user,
                                                 dbsession):
    api, _user = manager_api
    client = api.post("/api/v1/clients", {"name": "Krediit OÜ", "credit_limit": "5000.50",
                                          "payment_term_days": 21, "sales_blocked": True}).json
    assert (client["credit_limit"], client["payment_term_days"], client["sales_blocked"]) == (
        "5000.50", 21, True)
    api.patch(f"/api/v1/clients/{client['id']}", {"payment_term_days": 400}, status=400)
    secretary_user = make_user(tenant, "secretary")
    secretary = token_for(dbsession, browser, tenant, secretary_user)
    own = secretary.post("/api/v1/clients", {"name": "Sekretäri Klient OÜ"}).json
    assert own["salesperson_id"] == secretary_user.id  # like the form: the user by default
    denied = secretary.patch(f"/api/v1/clients/{client['id']}", {"credit_limit": 1},
                             status=403).json
    assert set(denied["fields"]) == {"credit_limit"}
    assert secretary.patch(f"/api/v1/clients/{client['id']}", {"notes": "Helistada"}).json[
        "credit_limit"] == "5000.50"
    accountant = token_for(dbsession, browser, tenant, make_user(tenant, "accountant"))
    denied = accountant.post("/api/v1/clients", {"name": "Ei tohi OÜ"}, status=403).json
    _schema_validator(accountant.get("/api/v1/openapi.json").json, "CrmError").validate(denied)
    assert accountant.get(f"/api/v1/clients/{client['id']}").json["notes"] == "Helistada"
    browser(tenant).get("/api/v1/clients", status=401)


def test_contacts_are_added_linked_searched_and_changed(manager_api):
    api, _user = manager_api
    tartu = api.post("/api/v1/clients", TARTU).json
    other = api.post("/api/v1/clients", {"name": "Saare Kala OÜ"}).json
    response = api.post("/api/v1/contacts", {
        "client_id": tartu["id"], "first_name": "Terje", "last_name": "Põder",
        "email": "Terje@Moobel.ee", "birthday": "1980-03-14", "role": "juhatuse liige",
        "is_primary": True})
    terje = response.json
    assert response.location.endswith(f"/api/v1/contacts/{terje['id']}")
    assert (terje["name"], terje["email"], terje["birthday"]) == (
        "Terje Põder", "terje@moobel.ee", "1980-03-14")
    assert terje["links"] == [{"link_id": terje["links"][0]["link_id"],
                               "client_id": tartu["id"], "client_name": "Tartu Mööbel AS",
                               "role": "juhatuse liige", "is_primary": True,
                               "receives_invoices": False}]
    # The client's search text knows the new contact.
    assert [c["id"] for c in api.get("/api/v1/clients", {"q": "poder"}).json["items"]] == [
        tartu["id"]]
    linked = api.post("/api/v1/contacts", {"client_id": other["id"], "person_id": terje["id"],
                                           "role": "juhatuse liige"}).json
    assert {link["client_name"] for link in linked["links"]} == {"Tartu Mööbel AS",
                                                                 "Saare Kala OÜ"}
    again = api.post("/api/v1/contacts", {"client_id": other["id"], "person_id": terje["id"],
                                          "role": "juhatuse liige"}, status=409).json
    assert again["existing_id"] == terje["id"]
    api.post("/api/v1/contacts", {"client_id": tartu["id"], "last_name": "Kask",
                                  "first_name": "Teet"})

    listed = api.get("/api/v1/contacts", {"q": "TERJE"}).json
    assert [p["id"] for p in listed["items"]] == [terje["id"]]
    by_client = api.get("/api/v1/contacts", {"client_id": tartu["id"]}).json
    assert [p["name"] for p in by_client["items"]] == ["Teet Kask", "Terje Põder"]
    assert api.get("/api/v1/contacts", {"client_id": other["id"]}).json["total"] == 1
    detail = api.get(f"/api/v1/contacts/{terje['id']}").json
    assert len(detail["links"]) == 2

    changed = api.patch(f"/api/v1/contacts/{terje['id']}", {"last_name": "Põder-Saar",
                                                             "title": "tegevjuht"}).json
    assert (changed["name"], changed["title"], changed["email"]) == (
        "Terje Põder-Saar", "tegevjuht", "terje@moobel.ee")
    assert api.get("/api/v1/clients", {"q": "poder-saar"}).json["total"] == 2

    bad = {
        "last_name": ("", 400), "birthday": ("14.03.1980", 400), "email": ("x", 400),
        "links": ([], 400),
    }
    for field, (value, status) in bad.items():
        body = api.patch(f"/api/v1/contacts/{terje['id']}", {field: value}, status=status).json
        assert field in body["fields"]
    assert api.get(f"/api/v1/contacts/{terje['id']}").json["name"] == "Terje Põder-Saar"
    missing = api.post("/api/v1/contacts", {"client_id": tartu["id"], "first_name": "X"},
                       status=400).json
    assert set(missing["fields"]) == {"last_name"}
    assert "client_id" in api.post("/api/v1/contacts", {"last_name": "Y"}, status=400).json[
        "fields"]
    assert "client_id" in api.post("/api/v1/contacts", {"client_id": 999999,
                                                        "last_name": "Y"}, status=400).json[
        "fields"]
    assert "person_id" in api.post("/api/v1/contacts", {"client_id": tartu["id"],
                                                        "person_id": 999999},
                                   status=400).json["fields"]
    api.get("/api/v1/contacts/999999", status=404)
    api.get("/api/v1/contacts/abc", status=404)


def _types(dbsession, tenant):
    call, visit = _ids(dbsession, tenant, ActivityType, ActivityType.code, "call", "visit")
    (car,) = _ids(dbsession, tenant, CatalogueItem, CatalogueItem.name, "Sõiduauto")
    return call, visit, car


def test_activities_are_created_filtered_and_changed(manager_api, tenant, dbsession,
                                                     browser, make_user):
    api, user = manager_api
    call, visit, car = _types(dbsession, tenant)
    tartu = api.post("/api/v1/clients", TARTU).json
    saare = api.post("/api/v1/clients", {"name": "Saare Kala OÜ"}).json
    terje = api.post("/api/v1/contacts", {"client_id": tartu["id"], "last_name": "Põder",
                                          "first_name": "Terje"}).json
    response = api.post("/api/v1/activities", {
        "client_id": tartu["id"], "name": "Tellimuse täpsustamine", "type_id": call,
        "person_id": terje["id"], "starts_at": "2026-03-02T10:00"})
    first = response.json
    assert response.location.endswith(f"/api/v1/activities/{first['id']}")
    assert (first["number"], first["performer_id"], first["status"], first["type"],
            first["estimated_minutes"], first["starts_at"], first["person_name"]) == (
        1, user.id, "planned", "call", 15, "2026-03-02T10:00:00+02:00", "Terje Põder")
    no_km = api.post("/api/v1/activities", {
        "client_id": saare["id"], "name": "Külastus", "type_id": visit,
        "starts_at": "2026-03-03T12:00:00+00:00"}, status=400).json
    assert set(no_km["fields"]) == {"kilometres"}
    trip = api.post("/api/v1/activities", {
        "client_id": saare["id"], "name": "Külastus", "type_id": visit, "kilometres": "42.5",
        "starts_at": "2026-03-03T12:00:00+00:00",
        "items": [{"item_id": car, "quantity": 42.5}], "follow_up_of_id": None}).json
    assert (trip["number"], trip["kilometres"], trip["starts_at"]) == (
        2, "42.50", "2026-03-03T14:00:00+02:00")
    assert [(i["name"], i["quantity"]) for i in trip["items"]] == [("Sõiduauto", "42.500")]
    follow = api.post("/api/v1/activities", {
        "client_id": tartu["id"], "name": "Järelkõne", "type_id": call,
        "starts_at": "2026-03-10T09:00", "follow_up_of_id": first["id"]}).json
    assert follow["follow_up_of_id"] == first["id"]
    colleague = make_user(tenant, "sales")
    other = token_for(dbsession, browser, tenant, colleague)
    task = other.post("/api/v1/activities", {"name": "Sisekoosolek", "type_id": call,
                                             "client_id": None,
                                             "starts_at": "2026-03-04T08:00"}).json
    assert (task["client_id"], task["performer_id"]) == (None, colleague.id)

    def numbers(**params):
        return [a["number"] for a in api.get("/api/v1/activities", params).json["items"]]

    assert numbers() == [1, 2, 4, 3]
    assert numbers(client_id=tartu["id"]) == [1, 3]
    assert numbers(performer_id=colleague.id) == [4]
    assert numbers(**{"from": "2026-03-03", "to": "2026-03-04"}) == [2, 4]
    assert numbers(**{"from": "2026-03-03T15:00"}) == [4, 3]
    assert numbers(type="visit") == [2]
    assert numbers(status="planned", per_page="2") == [1, 2]

    url = f"/api/v1/activities/{first['id']}"
    done = api.patch(url, {"status": "done", "actual_minutes": 20,
                           "description": "Kokku lepitud"}).json
    assert (done["status"], done["actual_minutes"], done["starts_at"], done["person_id"]) == (
        "done", 20, "2026-03-02T10:00:00+02:00", terje["id"])
    assert api.get(url).json == done
    moved = api.patch(f"/api/v1/activities/{trip['id']}", {"items": []}).json
    assert moved["items"] == [] and moved["kilometres"] == "42.50"

    bad = {
        "status": "maybe", "starts_at": "homme", "type_id": 999999, "estimated_minutes": -5,
        "kilometres": "-1", "person_id": 999999, "project_id": 999999, "name": "",
        "items": [{"item_id": car, "quantity": 0}], "follow_up_of_id": trip["id"],
        "number": 7,
    }
    for field, value in bad.items():
        body = api.patch(url, {field: value}, status=400).json
        assert any(key.startswith(field) for key in body["fields"]), (field, body)
    api.patch(f"/api/v1/activities/{trip['id']}", {"kilometres": None}, status=400)
    assert api.get(url).json == done
    api.get("/api/v1/activities", {"from": "eile"}, status=400)
    assert "status" in api.get("/api/v1/activities", {"status": "x"}, status=400).json["fields"]
    assert "type" in api.get("/api/v1/activities", {"type": "x"}, status=400).json["fields"]
    assert "client_id" in api.post("/api/v1/activities", {
        "client_id": 999999, "name": "X", "type_id": call, "starts_at": "2026-03-02T10:00"},
        status=400).json["fields"]
    assert _count(dbsession, tenant, Activity) == 4


def test_other_tenants_rows_answer_404(manager_api, make_tenant, make_user, browser,
                                       dbsession):
    api, _user = manager_api
    tenant_b = make_tenant("Beeta OÜ", host="beeta.test")
    api_b = token_for(dbsession, browser, tenant_b, make_user(tenant_b, "admin"))
    (call_b,) = _ids(dbsession, tenant_b, ActivityType, ActivityType.code, "call")
    client_b = api_b.post("/api/v1/clients", {"name": "Beeta Klient OÜ"}).json
    person_b = api_b.post("/api/v1/contacts", {"client_id": client_b["id"],
                                               "last_name": "Beeta"}).json
    activity_b = api_b.post("/api/v1/activities", {
        "client_id": client_b["id"], "name": "Kõne", "type_id": call_b,
        "starts_at": "2026-03-02T10:00"}).json
    for url in (f"/api/v1/clients/{client_b['id']}", f"/api/v1/contacts/{person_b['id']}",
                f"/api/v1/activities/{activity_b['id']}"):
        assert api.get(url, status=404).json["error"]
        api.patch(url, {"name": "Häkk"}, status=404)
    assert api.get("/api/v1/clients").json["total"] == 0
    assert api.get("/api/v1/contacts").json["total"] == 0
    assert api.get("/api/v1/activities").json["total"] == 0
    assert "client_id" in api.post("/api/v1/contacts", {"client_id": client_b["id"],
                                                        "last_name": "X"}, status=400).json[
        "fields"]
    assert api_b.get(f"/api/v1/clients/{client_b['id']}").json["name"] == "Beeta Klient OÜ"
    # The other tenant's token does not work here at all.
    Api(api.browser, api_b.headers["Authorization"].split()[1]).get("/api/v1/clients",
                                                                    status=401)


def test_salespeople_limited_to_own_clients_get_404_for_the_others(
        manager_api, tenant, make_user, browser, dbsession):
    api, _user = manager_api
    call, _visit, _car = _types(dbsession, tenant)
    kadri = make_user(tenant, "sales", name="Kadri Saar")
    tonu = make_user(tenant, "sales", name="Tõnu Mägi")
    mine = api.post("/api/v1/clients", {"name": "Kadri Klient OÜ",
                                        "salesperson_id": kadri.id}).json
    theirs = api.post("/api/v1/clients", {"name": "Tõnu Klient OÜ",
                                          "salesperson_id": tonu.id}).json
    shared = api.post("/api/v1/contacts", {"client_id": mine["id"], "last_name": "Mets",
                                           "first_name": "Mari"}).json
    api.post("/api/v1/contacts", {"client_id": theirs["id"], "person_id": shared["id"],
                                  "role": "raamatupidaja"})
    hidden = api.post("/api/v1/contacts", {"client_id": theirs["id"], "last_name": "Mets",
                                           "first_name": "Jaan"}).json
    hidden_activity = api.post("/api/v1/activities", {
        "client_id": theirs["id"], "name": "Kõne", "type_id": call,
        "starts_at": "2026-03-02T10:00"}).json
    row = dbsession.get(Tenant, tenant.id)
    row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
    dbsession.commit()

    kadri_api = token_for(dbsession, browser, tenant, kadri)
    assert [c["name"] for c in kadri_api.get("/api/v1/clients").json["items"]] == [
        "Kadri Klient OÜ"]
    assert kadri_api.get("/api/v1/clients", {"q": "mets"}).json["total"] == 1
    for url in (f"/api/v1/clients/{theirs['id']}", f"/api/v1/contacts/{hidden['id']}",
                f"/api/v1/activities/{hidden_activity['id']}"):
        kadri_api.get(url, status=404)
        kadri_api.patch(url, {"name": "x"}, status=404)
    contacts = kadri_api.get("/api/v1/contacts", {"q": "mets"}).json["items"]
    assert [p["name"] for p in contacts] == ["Mari Mets"]
    assert [link["client_name"] for link in contacts[0]["links"]] == ["Kadri Klient OÜ"]
    assert kadri_api.get("/api/v1/activities").json["total"] == 0
    assert kadri_api.get("/api/v1/activities", {"client_id": theirs["id"]}).json["total"] == 0
    kadri_api.post("/api/v1/activities", {"client_id": theirs["id"], "name": "x",
                                          "type_id": call, "starts_at": "2026-03-02T10:00"},
                   status=400)
    kadri_api.post("/api/v1/contacts", {"client_id": mine["id"], "person_id": hidden["id"]},
                   status=400)
    assert kadri_api.get(f"/api/v1/clients/{mine['id']}").json["contacts"][0]["name"] == \
        "Mari Mets"


def _schema_validator(spec: dict[str, Any], name: str) -> OAS31Validator:
    # The whole document is the root resource, so "#/components/schemas/..." refs resolve.
    return OAS31Validator({**spec, "$ref": f"#/components/schemas/{name}"})


@pytest.mark.hookspec("openapi_paths")
def test_openapi_document_is_valid_and_describes_the_answers(manager_api, make_tenant,
                                                             make_user, browser, dbsession,
                                                             tenant):
    api, _user = manager_api
    spec = api.get("/api/v1/openapi.json").json
    validate_spec(spec)
    for path in ("/api/v1/clients", "/api/v1/clients/{client_id}", "/api/v1/contacts",
                 "/api/v1/contacts/{person_id}", "/api/v1/activities",
                 "/api/v1/activities/{activity_id}"):
        assert path in spec["paths"], path
    assert spec["paths"]["/api/v1/clients"]["post"]["operationId"] == "createCrmClient"

    call, _visit, _car = _types(dbsession, tenant)
    client = api.post("/api/v1/clients", TARTU).json
    person = api.post("/api/v1/contacts", {"client_id": client["id"], "last_name": "Põder",
                                           "role": "raamatupidaja"}).json
    activity = api.post("/api/v1/activities", {"client_id": client["id"], "name": "Kõne",
                                                "type_id": call,
                                                "starts_at": "2026-03-02T10:00"}).json
    answers = {
        "CrmClientDetail": api.get(f"/api/v1/clients/{client['id']}").json,
        "CrmClientList": api.get("/api/v1/clients").json,
        "CrmContact": person,
        "CrmContactList": api.get("/api/v1/contacts").json,
        "CrmActivity": activity,
        "CrmActivityList": api.get("/api/v1/activities").json,
        "CrmError": api.post("/api/v1/clients", TARTU, status=409).json,
    }
    for name, answer in answers.items():
        _schema_validator(spec, name).validate(answer)
    requests = {"CrmClientCreate": TARTU, "CrmActivityCreate": {
        "client_id": 1, "name": "Kõne", "type_id": call, "starts_at": "2026-03-02T10:00"},
        "CrmContactCreate": {"client_id": 1, "last_name": "Põder", "role": "raamatupidaja"}}
    for name, body in requests.items():
        _schema_validator(spec, name).validate(body)
    assert not _schema_validator(spec, "CrmClientInput").is_valid({"colour": "red"})

    without = make_tenant("Gamma OÜ", host="gamma.test", plugins=[])
    gamma = token_for(dbsession, browser, without, make_user(without, "admin"))
    other_spec = gamma.get("/api/v1/openapi.json").json
    assert "/api/v1/clients" not in other_spec["paths"]
    assert "CrmClient" not in other_spec["components"]["schemas"]
    gamma.get("/api/v1/clients", status=404)
