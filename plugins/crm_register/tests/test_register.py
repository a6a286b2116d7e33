"""The client register as a secretary or salesperson uses it (R1, R2, R4, C1-C3, C7, C8, C13)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from core.db import tenant_scope
from core.models import Tenant
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.crm_register.models import Client, ClientPerson, ClientSearchToken, Person
from plugins.crm_register.search import fold, search_tokens


@pytest.mark.parametrize(("text", "folded"), [
    ("Õun OÜ", "oun ou"), ("Šokolaad", "sokolaad"), ("ÄÖÜ  žž", "aou zz"), (None, ""),
])
def test_fold_ignores_case_and_estonian_letters(text, folded):
    assert fold(text) == folded


def test_search_while_typing_ignores_case_and_estonian_letters(browser, tenant, make_user,
                                                               make_client):
    user = make_user(tenant, "sales")
    oun = make_client(tenant, "Õun OÜ", registry_code="10137319", phone="+372 5555 1234")
    choc = make_client(tenant, "Šokolaadivabrik AS", email="info@sokolaad.ee",
                       contacts=[("Terje", "Põder", "raamatupidaja")])
    make_client(tenant, "Muu Firma OÜ")
    client = browser(tenant, user)

    def names(q):
        return [r["name"] for r in client.get("/clients/search.json", {"q": q}).json["results"]]

    assert names("oun") == ["Õun OÜ"]
    assert names("ÕUN") == ["Õun OÜ"]
    assert names("sokolaad") == ["Šokolaadivabrik AS"]
    assert names("10137319") == ["Õun OÜ"]
    assert names("5555 1234") == ["Õun OÜ"]
    assert names("poder") == ["Šokolaadivabrik AS"]  # contact person's name
    assert names("info@sokolaad") == ["Šokolaadivabrik AS"]
    assert names("x%_") == []
    result = client.get("/clients/search.json", {"q": "oun"}).json["results"][0]
    assert result["url"].endswith(f"/clients/{oun.id}")
    assert choc.id != oun.id


def test_search_tokens_are_fields_words_and_phone_without_country_code():
    tokens = search_tokens("tartu moobel as | 37251234567 | info@kala.ee | terje poder-saar",
                           "tartu moobel as")
    assert tokens["tartu moobel as"] is True  # the whole name
    assert {"tartu", "moobel", "as", "info@kala.ee", "info", "kala", "ee", "terje poder-saar",
            "poder-saar", "poder", "saar", "37251234567", "51234567"} <= set(tokens)
    assert not any(tokens[t] for t in tokens if t != "tartu moobel as")


def test_search_matches_word_starts_and_lists_name_matches_first(
        browser, tenant, make_user, make_client, dbsession):
    user = make_user(tenant, "sales")
    mobel = make_client(tenant, "Tartu Mööbel AS", mobile="+372 5123 4567")
    make_client(tenant, "Mööbliäri OÜ")
    make_client(tenant, "Aken OÜ", contacts=[("Mööbi", "Tamm", "")])
    client = browser(tenant, user)

    def names(q):
        return [r["name"] for r in client.get("/clients/search.json", {"q": q}).json["results"]]

    assert names("mööb") == ["Mööbliäri OÜ", "Aken OÜ", "Tartu Mööbel AS"]
    assert names("tartu mö") == ["Tartu Mööbel AS"]
    assert names("5123 45") == ["Tartu Mööbel AS"]  # typed without +372
    assert names("+372 5123") == ["Tartu Mööbel AS"]
    assert names("oobel") == []  # the middle of a word is not a start
    # Renaming replaces the tokens; the old name is no longer found.
    form = client.get(f"/clients/{mobel.id}/edit").forms["client-form"]
    form["name"] = "Tartu Kapid AS"
    form.submit().follow()
    assert names("tartu k") == ["Tartu Kapid AS"]
    assert names("tartu mö") == []
    with tenant_scope(dbsession, tenant.id):
        dbsession.execute(sa.delete(Client).where(Client.id == mobel.id))
        dbsession.commit()
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(ClientSearchToken)
                                .where(ClientSearchToken.client_id == mobel.id)) == 0


def test_search_fills_the_list_from_many_matches(browser, tenant, make_user, make_client):
    user = make_user(tenant, "sales")
    for i in range(12):
        make_client(tenant, f"Firma {i:02d} Kask OÜ")
    make_client(tenant, "Kaskede Talu")
    client = browser(tenant, user)
    results = client.get("/clients/search.json", {"q": "kask"}).json["results"]
    assert [r["name"] for r in results][:1] == ["Kaskede Talu"]  # the name starts with it
    assert len(results) == 10
    listing = client.get("/clients", {"q": "kask"}).text
    assert listing.count("Kask OÜ") == 12


def test_register_filters_and_pages(browser, tenant, make_user, make_client, dbsession):
    user = make_user(tenant, "secretary")
    for i in range(55):
        make_client(tenant, f"Firma {i:02d} OÜ")
    page = browser(tenant, user).get("/clients")
    assert "55" in page.text
    assert len(re.findall(r'href="http://acme.test/clients/\d+"', page.text)) == 50
    page2 = browser(tenant, user).get("/clients", {"page": "2"})
    assert len(re.findall(r'href="http://acme.test/clients/\d+"', page2.text)) == 5
    filtered = browser(tenant, user).get("/clients", {"q": "firma 07"})
    assert "Firma 07 OÜ" in filtered.text and "Firma 08 OÜ" not in filtered.text


def _new_client_form(client, **values):
    form = client.get("/clients/new").forms["client-form"]
    for key, value in values.items():
        form[key] = value
    return form


def test_create_client_with_valid_identifiers(browser, tenant, make_user, dbsession):
    user = make_user(tenant, "sales")
    client = browser(tenant, user)
    response = _new_client_form(client, name="Tartu Mööbel AS", registry_code="10137319",
                                vat_number="100207415", iban="EE38 2200 2210 2014 5685",
                                email="INFO@Moobel.ee").submit(status=303)
    card = response.follow()
    assert "Tartu Mööbel AS" in card.text
    saved = dbsession.scalar(sa.select(Client))
    assert (saved.registry_code, saved.vat_number, saved.iban) == (
        "10137319", "EE100207415", "EE382200221020145685")
    assert saved.email == "info@moobel.ee"
    assert saved.salesperson_id == user.id
    assert saved.number == 1


def test_invalid_identifiers_are_refused_and_nothing_saved(browser, tenant, make_user,
                                                           dbsession):
    client = browser(tenant, make_user(tenant, "sales"))
    page = _new_client_form(client, name="Vigane OÜ", registry_code="10137318",
                            vat_number="EE100207416", iban="EE382200221020145686",
                            email="pole-aadress").submit(status=400)
    errors = set(re.findall(r'<p class="error" id="e-(\w+)"', page.text))
    assert errors == {"registry_code", "vat_number", "iban", "email"}
    assert dbsession.scalar(sa.select(sa.func.count(Client.id))) == 0


def test_person_needs_a_valid_personal_code(browser, tenant, make_user, dbsession):
    client = browser(tenant, make_user(tenant, "sales"))
    page = _new_client_form(client, kind="person", name="Mari Maasikas",
                            registry_code="10137319").submit(status=400)
    assert 'id="e-registry_code"' in page.text
    _new_client_form(client, kind="person", name="Mari Maasikas",
                     registry_code="48001010005").submit(status=303)
    assert dbsession.scalar(sa.select(Client.kind)) == "person"


def test_duplicate_code_is_refused_with_link(browser, tenant, make_user, make_client,
                                            dbsession):
    existing = make_client(tenant, "Õun OÜ", registry_code="10137319")
    client = browser(tenant, make_user(tenant, "sales"))
    page = _new_client_form(client, name="Teine Õun", registry_code="10137319").submit(
        status=400)
    assert f'href="http://acme.test/clients/{existing.id}"' in page.text
    assert dbsession.scalar(sa.select(sa.func.count(Client.id))) == 1


def test_similar_name_warns_then_creates_when_confirmed(browser, tenant, make_user,
                                                       make_client, dbsession):
    make_client(tenant, "Saare Kala OÜ")
    client = browser(tenant, make_user(tenant, "sales"))
    page = _new_client_form(client, name="Saare Kala AS").submit(status=200)
    assert 'id="similar"' in page.text
    assert dbsession.scalar(sa.select(sa.func.count(Client.id))) == 1
    form = page.forms["client-form"]
    form["confirm_similar"] = True
    form.submit(status=303)
    dbsession.rollback()
    assert dbsession.scalar(sa.select(sa.func.count(Client.id))) == 2


def test_quick_create_from_the_search_box(browser, tenant, make_user):
    client = browser(tenant, make_user(tenant, "sales"))
    create_url = client.get("/clients/search.json", {"q": "Uus Klient"}).json["create_url"]
    form = client.get(create_url).forms["client-form"]
    assert form["name"].value == "Uus Klient"


def test_credit_terms_need_the_permission(browser, tenant, make_user, make_client, dbsession):
    target = make_client(tenant, "Krediit OÜ")
    sales = browser(tenant, make_user(tenant, "sales"))
    form = sales.get(f"/clients/{target.id}/edit").forms["client-form"]
    assert "credit_limit" not in form.fields
    accountant = browser(tenant, make_user(tenant, "accountant"))
    accountant.get(f"/clients/{target.id}/edit", status=403)
    manager = browser(tenant, make_user(tenant, "manager"))
    form = manager.get(f"/clients/{target.id}/edit").forms["client-form"]
    form["sales_blocked"] = True
    form["credit_limit"] = "5 000,50"
    form["payment_term_days"] = "21"
    card = form.submit(status=303).follow()
    assert "5\xa0000,50\xa0€" in card.text
    dbsession.rollback()
    saved = dbsession.get(Client, target.id)
    assert saved.sales_blocked and str(saved.credit_limit) == "5000.50"
    assert saved.payment_term_days == 21


def test_card_header_shows_identity_on_every_tab(browser, tenant, make_user, make_client):
    target = make_client(tenant, "Põldma Ehitus OÜ", registry_code="10137319",
                         phone="+372 600 1234", notes="Kui Terjet kätte ei saa, helista Teedule")
    client = browser(tenant, make_user(tenant, "secretary"))
    overview = client.get(f"/clients/{target.id}")
    assert "Kui Terjet kätte ei saa" in overview.text
    for tab in ("contacts", "addresses", "log"):
        page = client.get(f"/clients/{target.id}/{tab}")
        header = page.html.find(id="client-header").text
        assert "Põldma Ehitus OÜ" in header and "10137319" in header and "+372 600 1234" in header


def test_one_person_linked_to_two_clients_is_one_record(browser, tenant, make_user,
                                                        make_client, dbsession):
    first = make_client(tenant, "Alfa OÜ")
    second = make_client(tenant, "Beeta AS")
    client = browser(tenant, make_user(tenant, "secretary"))
    form = client.get(f"/clients/{first.id}/contacts").forms["contact-form"]
    form["first_name"] = "Terje"
    form["last_name"] = "Tamm"
    form["role"] = "juhatuse liige"
    form["email"] = "terje@alfa.ee"
    form.submit(status=303)
    person_id = dbsession.scalar(sa.select(Person.id))
    form = client.get(f"/clients/{second.id}/contacts").forms["link-person-form"]
    form["person_id"] = str(person_id)
    form["role"] = "allkirjaõiguslik isik"
    form.submit(status=303)
    dbsession.rollback()
    assert dbsession.scalar(sa.select(sa.func.count(Person.id))) == 1
    roles = dict(dbsession.execute(sa.select(ClientPerson.client_id, ClientPerson.role)).all())
    assert roles == {first.id: "juhatuse liige", second.id: "allkirjaõiguslik isik"}
    person_page = client.get(f"/persons/{person_id}")
    assert "Alfa OÜ" in person_page.text and "Beeta AS" in person_page.text


def test_contact_form_errors_save_nothing(browser, tenant, make_user, make_client, dbsession):
    target = make_client(tenant, "Alfa OÜ")
    client = browser(tenant, make_user(tenant, "secretary"))
    form = client.get(f"/clients/{target.id}/contacts").forms["contact-form"]
    form["email"] = "vigane"
    page = form.submit(status=400)
    assert {"last_name", "email"} <= set(re.findall(r'id="e-(\w+)"', page.text))
    assert dbsession.scalar(sa.select(sa.func.count(Person.id))) == 0


def test_addresses_are_typed_and_editable(browser, tenant, make_user, make_client, dbsession):
    target = make_client(tenant, "Alfa OÜ")
    client = browser(tenant, make_user(tenant, "secretary"))
    form = client.get(f"/clients/{target.id}/addresses").forms["address-form"]
    form["kind"] = "delivery"
    form["street"] = "Tuukri 54"
    form["city"] = "Tallinn"
    form["postal_code"] = "10120"
    page = form.submit(status=303).follow()
    assert "Tuukri 54" in page.html.find(id="addresses").text
    from plugins.crm_register.models import Address

    assert dbsession.scalar(sa.select(Address.kind)) == "delivery"
    bad = client.get(f"/clients/{target.id}/addresses").forms["address-form"]
    bad["street"] = ""
    bad["country"] = "E1"
    assert set(re.findall(r'id="e-(\w+)"', bad.submit(status=400).text)) == {
        "street", "country"}


def test_client_log_shows_changes_of_the_client_and_its_parts(browser, tenant, make_user,
                                                             make_client):
    target = make_client(tenant, "Alfa OÜ")
    user = make_user(tenant, "secretary", name="Liis Õunapuu")
    client = browser(tenant, user)
    form = client.get(f"/clients/{target.id}/edit").forms["client-form"]
    form["phone"] = "+372 5000 0000"
    form.submit(status=303)
    form = client.get(f"/clients/{target.id}/addresses").forms["address-form"]
    form["street"] = "Tuukri 54"
    form.submit(status=303)
    log = client.get(f"/clients/{target.id}/log").html.find(id="client-log").text
    assert "+372 5000 0000" in log and "Tuukri 54" in log and "Liis Õunapuu" in log


def _limit_to_own_clients(dbsession, tenant):
    row = dbsession.get(Tenant, tenant.id)
    row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
    dbsession.commit()


def test_salesperson_sees_only_own_clients_when_the_tenant_says_so(
        browser, tenant, make_user, make_client, dbsession):
    kadri = make_user(tenant, "sales", name="Kadri")
    tonu = make_user(tenant, "sales", name="Tõnu")
    mine = make_client(tenant, "Kadri Klient OÜ", salesperson_id=kadri.id,
                       contacts=[("Mari", "Mets", "")])
    theirs = make_client(tenant, "Tõnu Klient OÜ", salesperson_id=tonu.id,
                         contacts=[("Jaan", "Mets", "")])
    client = browser(tenant, kadri)
    assert "Tõnu Klient OÜ" in client.get("/clients").text  # not limited yet
    _limit_to_own_clients(dbsession, tenant)
    listing = client.get("/clients").text
    assert "Kadri Klient OÜ" in listing and "Tõnu Klient OÜ" not in listing
    names = [r["name"] for r in client.get("/clients/search.json", {"q": "mets"}).json["results"]]
    assert names == ["Kadri Klient OÜ"]
    client.get(f"/clients/{theirs.id}", status=404)
    client.get(f"/clients/{theirs.id}/contacts", status=404)
    with tenant_scope(dbsession, tenant.id):
        hidden_person = dbsession.scalar(
            sa.select(ClientPerson.person_id).where(ClientPerson.client_id == theirs.id))
    client.get(f"/persons/{hidden_person}", status=404)
    client.get(f"/clients/{mine.id}", status=200)
    manager = browser(tenant, make_user(tenant, "manager"))
    assert "Tõnu Klient OÜ" in manager.get("/clients").text


def test_clients_of_another_tenant_are_invisible(browser, make_tenant, make_user, make_client):
    a = make_tenant("Alfa AS", host="alfa.test")
    b = make_tenant("Beeta OÜ", host="beeta.test")
    theirs = make_client(b, "Beeta Klient OÜ")
    client = browser(a, make_user(a, "admin"))
    client.get(f"/clients/{theirs.id}", status=404)
    assert client.get("/clients/search.json", {"q": "beeta"}).json["results"] == []


@pytest.mark.hookspec("client_card_tabs")
def test_card_tabs_come_from_the_hook(browser, tenant, make_user, make_client):
    target = make_client(tenant, "Alfa OÜ")
    page = browser(tenant, make_user(tenant, "secretary")).get(f"/clients/{target.id}")
    tabs = page.html.find("nav", class_="tabs")
    hrefs = [a["href"] for a in tabs.find_all("a")]
    assert f"http://acme.test/clients/{target.id}/contacts" in hrefs
    assert f"http://acme.test/clients/{target.id}/log" in hrefs


def test_absurd_ids_and_pages_are_not_found(browser, tenant, make_user, make_client):
    client = browser(tenant, make_user(tenant, "admin"))
    client.get("/clients/99999999999999999999999", status=404)
    client.get("/clients/99999999999999999999999/activities", status=404)
    assert client.get("/clients", {"page": "99999999999999999999999"}).status_int == 200
