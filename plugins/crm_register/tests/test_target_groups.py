"""Target groups (R3): filtering, saving by name, and the exported files read back."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from core.db import tenant_scope, utcnow
from core.models import Tenant
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.crm_register.exports import safe_cell
from plugins.crm_register.models import (
    Activity,
    ActivityType,
    Address,
    ClientGroup,
    ClientGroupLink,
    ClientPerson,
    Person,
    TargetGroup,
)
from plugins.crm_register.numbering import next_number


def _group_id(dbsession, tenant, name):
    with tenant_scope(dbsession, tenant.id):
        return dbsession.scalar(sa.select(ClientGroup.id).where(ClientGroup.name == name))


def _add(dbsession, tenant, *rows):
    with tenant_scope(dbsession, tenant.id):
        for row in rows:
            dbsession.add(row)
        dbsession.commit()


def _in_group(dbsession, tenant, client, group_name):
    _add(dbsession, tenant, ClientGroupLink(client_id=client.id,
                                            group_id=_group_id(dbsession, tenant, group_name)))


def _activity(dbsession, tenant, client, days_ago, status="done"):
    with tenant_scope(dbsession, tenant.id):
        kind = dbsession.scalar(sa.select(ActivityType).where(ActivityType.code == "call"))
        dbsession.add(Activity(number=next_number(dbsession, "activity"), name="Kõne",
                               client_id=client.id, type_id=kind.id, status=status,
                               starts_at=utcnow() - dt.timedelta(days=days_ago)))
        dbsession.commit()


def _address(client, kind, street, city, county="", postal_code="", country="EE",
             recipient=None):
    return Address(client_id=client.id, kind=kind, street=street, city=city, county=county,
                   postal_code=postal_code, country=country, recipient=recipient)


def _contact(dbsession, tenant, client, first, last, email, consent=False, primary=False):
    with tenant_scope(dbsession, tenant.id):
        person = Person(first_name=first, last_name=last, email=email, email_consent=consent)
        dbsession.add(person)
        dbsession.flush()
        dbsession.add(ClientPerson(client_id=client.id, person_id=person.id,
                                   is_primary=primary))
        dbsession.commit()


def _names(page):
    table = page.html.find(id="target-clients")
    if table is None:
        return []
    return sorted(a.text for a in table.select("tbody td a"))


@pytest.fixture
def clients(tenant, make_client, dbsession):
    """Four clients of the Acme tenant with groups, addresses, contacts and activities."""
    gold = make_client(tenant, "Õunapuu OÜ", email="info@ounapuu.ee", email_consent=True)
    tartu = make_client(tenant, "Tartu Šokolaad AS", email="tere@sokolaad.ee")
    person = make_client(tenant, "Mari Maasikas", kind="person")
    old = make_client(tenant, "Vana Firma OÜ", active=False, email="vana@firma.ee")
    _in_group(dbsession, tenant, gold, "Kuldklient")
    _in_group(dbsession, tenant, tartu, "Püsiklient")
    _in_group(dbsession, tenant, old, "Kuldklient")
    _add(dbsession, tenant,
         _address(gold, "billing", "Arve tn 1", "Tallinn", "Harju maakond", "10111"),
         _address(gold, "postal", "Pargi tee 5", "Pärnu", "Pärnu maakond", "80010",
                  recipient="Jüri Õun"),
         _address(tartu, "billing", "Rüütli 2", "Tartu", "Tartu maakond", "51007"),
         _address(person, "delivery", "Kase 3", "Viljandi", "Viljandi maakond", "71020"))
    _contact(dbsession, tenant, gold, "Jüri", "Õun", "juri@ounapuu.ee", consent=False,
             primary=True)
    _contact(dbsession, tenant, person, "Mari", "Maasikas", "mari@maasikas.ee", consent=True)
    _activity(dbsession, tenant, gold, days_ago=3)
    _activity(dbsession, tenant, tartu, days_ago=200)
    _activity(dbsession, tenant, person, days_ago=1, status="cancelled")
    return {"gold": gold, "tartu": tartu, "person": person, "old": old}


def test_filters_count_and_list(browser, tenant, make_user, clients, dbsession):
    b = browser(tenant, make_user(tenant, "sales"))
    page = b.get("/target-groups")
    assert page.html.find(id="target-count").text == "3"  # active clients only by default
    assert _names(page) == ["Mari Maasikas", "Tartu Šokolaad AS", "Õunapuu OÜ"]

    gold = _group_id(dbsession, tenant, "Kuldklient")
    regular = _group_id(dbsession, tenant, "Püsiklient")
    page = b.get("/target-groups", {"groups": [gold, regular], "f": "1"})
    assert _names(page) == ["Tartu Šokolaad AS", "Õunapuu OÜ"]  # any of the groups
    page = b.get("/target-groups", {"groups": gold, "status": "all"})
    assert _names(page) == ["Vana Firma OÜ", "Õunapuu OÜ"]
    page = b.get("/target-groups", {"groups": gold, "status": "inactive"})
    assert _names(page) == ["Vana Firma OÜ"]
    assert _names(b.get("/target-groups", {"kind": "person"})) == ["Mari Maasikas"]
    # city and county ignore case and Estonian letters
    assert _names(b.get("/target-groups", {"city": "PARNU"})) == ["Õunapuu OÜ"]
    assert _names(b.get("/target-groups", {"county": "tartu maakond"})) == ["Tartu Šokolaad AS"]
    # forgotten clients: none since 30 days (never contacted and cancelled-only included)
    since = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    assert _names(b.get("/target-groups", {"no_activity_since": since})) == [
        "Mari Maasikas", "Tartu Šokolaad AS"]
    assert _names(b.get("/target-groups", {"activity_since": since})) == ["Õunapuu OÜ"]
    # e-mail of the client or of a contact person; consent of the client
    assert _names(b.get("/target-groups", {"has_email": "1"})) == [
        "Mari Maasikas", "Tartu Šokolaad AS", "Õunapuu OÜ"]
    assert _names(b.get("/target-groups", {"email_consent": "1"})) == ["Õunapuu OÜ"]


def test_bad_filter_values_are_reported_not_crashing(browser, tenant, make_user, clients):
    b = browser(tenant, make_user(tenant, "sales"))
    page = b.get("/target-groups", {"no_activity_since": "31.12.2024", "kind": "robot",
                                    "type": "x"}, status=400)
    assert page.html.find(id="target-clients") is None
    assert page.html.select(".has-error #tf-no-activity")
    assert page.html.select(".has-error #tf-kind")
    # an export with a bad filter goes back to the page that shows the problem
    response = b.get("/target-groups/export/emails.csv", {"activity_since": "eile"},
                     status=303)
    assert "/target-groups?" in response.location
    b.get("/target-groups/export/emails.pdf", status=404)


def test_save_open_update_and_delete_a_target_group(browser, tenant, make_user, clients,
                                                    dbsession):
    b = browser(tenant, make_user(tenant, "secretary"))
    gold = _group_id(dbsession, tenant, "Kuldklient")
    page = b.get("/target-groups", {"groups": gold, "f": "1"})
    form = page.forms["save-form"]
    form["name"] = "Kuldkliendid jõuludeks"
    opened = form.submit(status=303).follow()
    assert "Kuldkliendid jõuludeks" in opened.text
    assert _names(opened) == ["Õunapuu OÜ"]
    dbsession.rollback()
    saved = dbsession.scalar(sa.select(TargetGroup))
    assert saved.filters == {"groups": [gold], "status": "active"}

    # the same name again: a field error, nothing saved
    again = b.get("/target-groups", {"kind": "person"}).forms["save-form"]
    again["name"] = "Kuldkliendid jõuludeks"
    refused = again.submit(status=400)
    assert refused.html.select(".has-error #f-name")
    dbsession.rollback()
    assert dbsession.scalar(sa.select(sa.func.count(TargetGroup.id))) == 1

    # change the filter of the saved group and save it under a new name
    changed = b.get(f"/target-groups/{saved.id}", {"groups": gold, "status": "all", "f": "1"})
    assert _names(changed) == ["Vana Firma OÜ", "Õunapuu OÜ"]
    update = changed.forms["save-form"]
    update["name"] = "Kõik kuldkliendid"
    update.submit(status=303)
    dbsession.rollback()
    saved = dbsession.get(TargetGroup, saved.id)
    assert (saved.name, saved.filters["status"]) == ("Kõik kuldkliendid", "all")
    assert _names(b.get(f"/target-groups/{saved.id}")) == ["Vana Firma OÜ", "Õunapuu OÜ"]

    saved_id = saved.id
    b.get(f"/target-groups/{saved_id}").forms["delete-form"].submit(status=303)
    dbsession.rollback()
    assert dbsession.scalar(sa.select(sa.func.count(TargetGroup.id))) == 0
    b.get(f"/target-groups/{saved_id}", status=404)


def _csv(response):
    assert response.body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM for Excel
    return list(csv.reader(io.StringIO(response.body.decode("utf-8-sig")), delimiter=";"))


def test_email_export_csv_and_xlsx(browser, tenant, make_user, clients, make_client):
    make_client(tenant, "=HYPERLINK(\"http://x\")", email="paha@naaber.ee")
    b = browser(tenant, make_user(tenant, "sales", locale="en"))
    response = b.get("/target-groups/export/emails.csv", {"has_email": "1"})
    assert response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == ["Client", "E-mail", "Contact person"]
    assert rows[1:] == [  # by name, ignoring Estonian letters: Õ sorts as O
        ["'=HYPERLINK(\"http://x\")", "paha@naaber.ee", ""],
        ["Mari Maasikas", "mari@maasikas.ee", "Mari Maasikas"],
        ["Õunapuu OÜ", "info@ounapuu.ee", "Jüri Õun"],
        ["Õunapuu OÜ", "juri@ounapuu.ee", "Jüri Õun"],
        ["Tartu Šokolaad AS", "tere@sokolaad.ee", ""],
    ]
    # with the consent filter, contact persons without their own consent are left out
    rows = _csv(b.get("/target-groups/export/emails.csv", {"email_consent": "1"}))
    assert rows[1:] == [["Õunapuu OÜ", "info@ounapuu.ee", "Jüri Õun"]]

    response = b.get("/target-groups/export/emails.xlsx", {"has_email": "1"})
    assert response.content_type.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(response.body)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Client", "E-mail", "Contact person"]
    assert values[1][0] == "=HYPERLINK(\"http://x\")"
    assert sheet["A2"].data_type == "s"  # text, not a formula
    assert ["Õunapuu OÜ", "juri@ounapuu.ee", "Jüri Õun"] in values


def test_postal_address_export_prefers_postal_then_billing(browser, tenant, make_user,
                                                           clients):
    b = browser(tenant, make_user(tenant, "sales", locale="en"))
    rows = _csv(b.get("/target-groups/export/addresses.csv"))
    assert rows[0] == ["Name", "Recipient", "Street address", "City or parish", "County",
                       "Postal code", "Country"]
    assert rows[1:] == [  # Mari Maasikas has only a delivery address: left out
        ["Õunapuu OÜ", "Jüri Õun", "Pargi tee 5", "Pärnu", "Pärnu maakond", "80010", "EE"],
        ["Tartu Šokolaad AS", "", "Rüütli 2", "Tartu", "Tartu maakond", "51007", "EE"],
    ]
    sheet = openpyxl.load_workbook(
        io.BytesIO(b.get("/target-groups/export/addresses.xlsx").body)).active
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert values[0][:4] == ["Õunapuu OÜ", "Jüri Õun", "Pargi tee 5", "Pärnu"]


def test_address_labels_pdf_with_estonian_letters(browser, tenant, make_user, clients,
                                                  make_client, dbsession):
    extra = [make_client(tenant, f"Žürii {i:02d} OÜ") for i in range(23)]
    _add(dbsession, tenant, *[_address(c, "billing", "Õie 7", "Võru", "Võru maakond", "65608")
                              for c in extra])
    b = browser(tenant, make_user(tenant, "sales", locale="en"))
    response = b.get("/target-groups/export/labels.pdf")
    assert response.content_type == "application/pdf"
    reader = PdfReader(io.BytesIO(response.body))
    assert len(reader.pages) == 2  # 25 labels: 24 on the first A4 sheet
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in ("Õunapuu OÜ", "Jüri Õun", "Pargi tee 5", "80010 Pärnu", "Tartu Šokolaad AS",
                     "Rüütli 2", "Žürii 00 OÜ", "65608 Võru"):
        assert expected in text
    assert "Mari Maasikas" not in text
    assert "Žürii 22 OÜ" in reader.pages[1].extract_text()  # the 25th label
    # skipping 23 used labels: only the first label on the first sheet
    skipped = PdfReader(io.BytesIO(b.get("/target-groups/export/labels.pdf",
                                         {"skip": "23"}).body))
    assert len(skipped.pages) == 2
    first = skipped.pages[0].extract_text()
    assert "Õunapuu OÜ" in first and "Tartu" not in first
    assert "Tartu Šokolaad AS" in skipped.pages[1].extract_text()
    bad = b.get("/target-groups/export/labels.pdf", {"skip": "99"}, status=303)
    assert "0 to 23" in bad.follow().text
    none = b.get("/target-groups/export/labels.pdf", {"kind": "person"}, status=303)
    assert "has a postal or billing address" in none.follow().text


def test_exports_respect_own_clients_only(browser, tenant, make_user, make_client, dbsession):
    seller = make_user(tenant, "sales")
    other = make_user(tenant, "sales")
    mine = make_client(tenant, "Minu Klient OÜ", email="minu@klient.ee", salesperson_id=seller.id)
    make_client(tenant, "Võõras Klient OÜ", email="voor@klient.ee", salesperson_id=other.id)
    _add(dbsession, tenant, _address(mine, "postal", "Minu 1", "Tallinn"))
    row = dbsession.get(Tenant, tenant.id)
    row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
    dbsession.commit()

    b = browser(tenant, seller)
    assert _names(b.get("/target-groups")) == ["Minu Klient OÜ"]
    rows = _csv(b.get("/target-groups/export/emails.csv"))
    assert [r[0] for r in rows[1:]] == ["Minu Klient OÜ"]
    sheet = openpyxl.load_workbook(
        io.BytesIO(b.get("/target-groups/export/emails.xlsx").body)).active
    assert [c.value for c in sheet["A"]][1:] == ["Minu Klient OÜ"]
    # a saved group made by someone who sees everything still shows only one's own clients
    manager = browser(tenant, make_user(tenant, "manager"))
    form = manager.get("/target-groups").forms["save-form"]
    form["name"] = "Kõik"
    form.submit(status=303)
    dbsession.rollback()
    saved = dbsession.scalar(sa.select(TargetGroup))
    assert len(_csv(manager.get(f"/target-groups/{saved.id}/export/emails.csv"))) == 3
    rows = _csv(b.get(f"/target-groups/{saved.id}/export/emails.csv"))
    assert [r[0] for r in rows[1:]] == ["Minu Klient OÜ"]
    text = PdfReader(io.BytesIO(b.get(f"/target-groups/{saved.id}/export/labels.pdf").body)
                     ).pages[0].extract_text()
    assert "Minu Klient OÜ" in text and "Võõras" not in text


def test_target_groups_need_the_permission_and_stay_in_the_tenant(
        browser, tenant, make_tenant, make_user, dbsession):
    browser(tenant, make_user(tenant, "accountant")).get("/target-groups", status=403)
    other = make_tenant("Beeta OÜ", host="beeta.test")
    _add(dbsession, other, TargetGroup(name="Beeta grupp", filters={}))
    with tenant_scope(dbsession, other.id):
        group_id = dbsession.scalar(sa.select(TargetGroup.id))
    b = browser(tenant, make_user(tenant, "manager"))
    b.get(f"/target-groups/{group_id}", status=404)
    b.get(f"/target-groups/{group_id}/export/emails.csv", status=404)
    assert "Beeta grupp" not in b.get("/target-groups").text


@pytest.mark.parametrize(("value", "safe"), [
    ("=1+1", "'=1+1"), ("+372 5555", "'+372 5555"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("Õun", "Õun"), (None, ""),
])
def test_csv_cells_cannot_start_a_formula(value, safe):
    assert safe_cell(value) == safe


def test_menu_links_to_the_target_groups(browser, tenant, make_user):
    page = browser(tenant, make_user(tenant, "sales")).get("/")
    assert re.search(r'href="http://acme.test/target-groups"', page.text)
