"""Importing clients and contacts from CSV and XLSX: upload, mapping, dry run, confirm."""

from __future__ import annotations

import io

import openpyxl
import pytest
import sqlalchemy as sa
from webtest import Upload

from core.db import tenant_scope
from core.models import RolePermission, Tenant
from plugins.crm_register import importing
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.crm_register.clients import refresh_search
from plugins.crm_register.importing import MAPPING_SETTING, guess_mapping, read_file
from plugins.crm_register.models import Address, Client, ClientPerson, Person
from plugins.crm_register.permissions import IMPORT_RUN

HEADER = ("Nimi;Registrikood;KMKR;E-post;Telefon;Kliendigrupp;Aadress;Linn;Postiindeks;"
          "Kontaktisik;Kontakti e-post")
GOOD = "\n".join([
    HEADER,
    "Õunapuu OÜ;10000001;;info@ounapuu.ee;+372 5555 1234;Kuldklient;Pargi 5;Pärnu;80010;"
    "Jüri Õun;juri@ounapuu.ee",
    "Šokolaadi AS;10000018;EE100000007;;;Püsiklient, Kuldklient;Rüütli 2;Tartu;51007;;",
    "Mari Maasikas;;;mari@maasikas.ee;;;;;;;",
]) + "\n"


def _csv(text: str, bom: bool = True) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def _upload(b, filename, content, status=303):
    form = b.get("/clients/import").forms["upload-form"]
    form["file"] = Upload(filename, content)
    return form.submit(status=status)


def _preview(b, filename, content, mapping=None):
    """Upload and accept the suggested (or given) column mapping; returns the preview."""
    page = _upload(b, filename, content).follow()
    form = page.forms["mapping-form"]
    for column, key in (mapping or {}).items():
        form[column] = key
    return form.submit(status=303).follow()


def _count(dbsession, tenant, model):
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        return dbsession.scalar(sa.select(sa.func.count()).select_from(model))


def _lines(preview):
    return {int(tr["data-line"]): tr["data-action"]
            for tr in preview.html.select("#import-lines tbody tr")}


@pytest.fixture
def manager(browser, tenant, make_user):
    return browser(tenant, make_user(tenant, "manager", locale="en"))


def test_columns_are_guessed_from_estonian_and_english_headers():
    headers = ["Nimi", "Registrikood", "KMKR", "E-post", "Phone", "Märkused", "Mis see on",
               "Kontaktisik"]
    assert guess_mapping(headers) == ["name", "registry_code", "vat_number", "email", "phone",
                                      "notes", "", "contact_name"]
    remembered = {"mis see on": "website", "markused": ""}
    assert guess_mapping(headers, remembered)[5:7] == ["", "website"]


def test_reading_csv_with_either_delimiter_and_xlsx():
    semicolon = read_file("a.csv", _csv("Nimi;Telefon\nÕun OÜ;555\n\n"))
    comma = read_file("a.CSV", _csv('Nimi,Telefon\n"Õun, Pirn OÜ",555\n', bom=False))
    assert semicolon.headers == ["Nimi", "Telefon"]
    assert semicolon.rows == [(2, ["Õun OÜ", "555"])]
    assert comma.rows == [(2, ["Õun, Pirn OÜ", "555"])]
    book = openpyxl.Workbook()
    book.active.append(["Nimi", "Registrikood", "Kuupäev"])
    book.active.append(["Õun OÜ", 10000001, None])
    out = io.BytesIO()
    book.save(out)
    sheet = read_file("kliendid.xlsx", out.getvalue())
    assert sheet.rows == [(2, ["Õun OÜ", "10000001", ""])]


@pytest.mark.parametrize(("filename", "content", "error"), [
    ("kliendid.pdf", b"%PDF-1.4 ...", "Choose a CSV or XLSX file"),
    ("kliendid.xlsx", b"Nimi;Telefon\n", "not a valid XLSX file"),
    ("kliendid.xlsx", b"PK\x03\x04 not really a zip", "not a valid XLSX file"),
    ("kliendid.csv", b"", "The file is empty"),
    ("kliendid.csv", "Nimi;Linn\nÕun OÜ;Võru\n".encode("cp1257"), "must be in UTF-8"),
    ("kliendid.csv", b"Nimi;Linn\n", "no data lines"),
    ("kliendid.csv", b"PK\x03\x04zip", "not a CSV text file"),
])
def test_bad_files_are_refused(manager, tenant, dbsession, filename, content, error):
    page = _upload(manager, filename, content, status=400)
    assert error in page.html.find(id="upload-error").text
    assert _count(dbsession, tenant, Client) == 0


def test_too_large_and_too_long_files_are_refused(manager):
    big = _csv("Nimi\n" + "x" * (10 * 1024 * 1024))
    assert "larger than 10 MB" in _upload(manager, "suur.csv", big, status=400).text
    long = _csv("Nimi\n" + "".join(f"Firma {i}\n" for i in range(20_001)))
    assert "more than 20 000 lines" in _upload(manager, "pikk.csv", long, status=400).text
    form = manager.get("/clients/import").forms["upload-form"]
    assert "Choose a file" in form.submit(status=400).text


def test_dry_run_reports_errors_by_line_and_writes_nothing(manager, tenant, dbsession):
    content = _csv("\n".join([
        "Nimi;Registrikood;KMKR;IBAN;E-post",
        "Hea Firma OÜ;10000001;;;hea@firma.ee",
        "Vale Kood OÜ;12345670;;;",
        "Vale KM OÜ;;EE123;;",
        "Vale Pank OÜ;;;EE00 1234;",
        "Vale Post OÜ;;;;pole-meil",
        ";10000024;;;",
        "Hea Firma Teine Rida;10000001;;;",
    ]))
    preview = _preview(manager, "vead.csv", content)
    assert _lines(preview) == {2: "create", 3: "error", 4: "error", 5: "error", 6: "error",
                               7: "error", 8: "error"}
    errors = preview.html.find(id="import-errors").text
    assert "Line 3" in errors and "registry code" in errors
    assert "Line 4" in errors and "VAT number" in errors
    assert "Line 5" in errors and "IBAN" in errors
    assert "Line 6" in errors and "pole-meil" in errors
    assert "Line 7" in errors and "name is missing" in errors
    assert "Line 8" in errors and "same client as line 2" in errors
    assert preview.html.find(id="count-errors").text == "6"
    assert "confirm-form" not in preview.forms
    # confirming anyway (a forged POST) writes nothing either
    token = preview.request.path.split("/")[3]
    refused = manager.post(f"/clients/import/{token}/confirm",
                           {"csrf_token": manager.csrf_token, "fingerprint": "x"}, status=400)
    assert "Correct the lines" in refused.text
    assert _count(dbsession, tenant, Client) == 0


def test_confirm_creates_and_updates_as_previewed(manager, tenant, make_client, dbsession):
    existing = make_client(tenant, "Vana Nimi OÜ", registry_code="10000001", phone="111")
    by_vat = make_client(tenant, "Käibemaksu AS", vat_number="EE100000007",
                         registry_code="10000018")
    by_email = make_client(tenant, "Mari Maasikas", kind="person", email="mari@maasikas.ee")
    preview = _preview(manager, "kliendid.csv", _csv(GOOD))
    assert _lines(preview) == {2: "update", 3: "update", 4: "unchanged"}
    assert preview.html.find(id="count-create").text == "0"
    assert preview.html.find(id="count-contacts").text == "1"
    row = preview.html.select_one('#import-lines tr[data-line="2"]').text
    assert "Name" in row and "Phone" in row and "Adds the contact person Jüri Õun" in row
    # nothing written by the preview
    dbsession.rollback()
    assert dbsession.get(Client, existing.id).phone == "111"

    done = preview.forms["confirm-form"].submit(status=303).follow()
    assert "0 clients added, 2 updated, 1 contact persons added" in done.text
    dbsession.rollback()
    updated = dbsession.get(Client, existing.id)
    assert (updated.name, updated.phone, updated.email) == (
        "Õunapuu OÜ", "+372 5555 1234", "info@ounapuu.ee")
    assert [g.name for g in updated.groups] == ["Kuldklient"]
    assert [(a.kind, a.street, a.city, a.postal_code) for a in updated.addresses] == [
        ("billing", "Pargi 5", "Pärnu", "80010")]
    assert [(link.person.full_name, link.person.email) for link in updated.contacts] == [
        ("Jüri Õun", "juri@ounapuu.ee")]
    choc = dbsession.get(Client, by_vat.id)
    assert choc.name == "Šokolaadi AS"
    assert sorted(g.name for g in choc.groups) == ["Kuldklient", "Püsiklient"]
    assert dbsession.get(Client, by_email.id).name == "Mari Maasikas"
    assert _count(dbsession, tenant, Client) == 3
    # the search text follows: the contact person finds the client
    found = manager.get("/clients/search.json", {"q": "jüri õun"}).json["results"]
    assert [r["name"] for r in found] == ["Õunapuu OÜ"]
    with tenant_scope(dbsession, tenant.id):  # the same text as the register computes
        for client in dbsession.scalars(sa.select(Client)):
            imported = (client.name_search, client.search_text)
            refresh_search(dbsession, client)
            assert (client.name_search, client.search_text) == imported
    dbsession.rollback()
    # the mapping is remembered for the next file with the same columns
    settings = dbsession.get(Tenant, tenant.id).settings
    assert settings[MAPPING_SETTING]["columns"]["registrikood"] == "registry_code"


@pytest.mark.parametrize("bulk_threshold", [500, 0])  # ids picked by IN (...) or in Python
def test_new_clients_get_numbers_contacts_and_a_second_import_updates(
        manager, tenant, make_client, dbsession, monkeypatch, bulk_threshold):
    monkeypatch.setattr(importing, "BULK_THRESHOLD", bulk_threshold)
    make_client(tenant, "Olemasolev OÜ")  # takes number 1
    preview = _preview(manager, "kliendid.csv", _csv(GOOD),
                       mapping={"address_kind": "postal"})
    assert _lines(preview) == {2: "create", 3: "create", 4: "create"}
    done = preview.forms["confirm-form"].submit(status=303).follow()
    assert "3 clients added, 0 updated, 1 contact persons added" in done.text
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        clients = dbsession.scalars(sa.select(Client).order_by(Client.number)).all()
        assert [(c.number, c.name, c.kind) for c in clients] == [
            (1, "Olemasolev OÜ", "company"), (2, "Õunapuu OÜ", "company"),
            (3, "Šokolaadi AS", "company"), (4, "Mari Maasikas", "company")]
        assert clients[2].vat_number == "EE100000007"
        assert dbsession.scalar(sa.select(Address.kind).where(
            Address.client_id == clients[1].id)) == "postal"
    assert _count(dbsession, tenant, Person) == 1

    # the same file again: every line matches its client, nothing is duplicated
    again = _preview(manager, "kliendid.csv", _csv(GOOD))
    assert _lines(again) == {2: "unchanged", 3: "unchanged", 4: "unchanged"}
    again.forms["confirm-form"].submit(status=303)
    assert _count(dbsession, tenant, Client) == 4
    assert _count(dbsession, tenant, Person) == 1
    assert _count(dbsession, tenant, ClientPerson) == 1
    assert _count(dbsession, tenant, Address) == 2

    # a changed phone in the file updates the client
    changed = _preview(manager, "kliendid.csv",
                       _csv(GOOD.replace("+372 5555 1234", "+372 5000 0000")))
    assert _lines(changed) == {2: "update", 3: "unchanged", 4: "unchanged"}
    changed.forms["confirm-form"].submit(status=303)
    assert _count(dbsession, tenant, Client) == 4
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.scalar(sa.select(Client.phone).where(
            Client.registry_code == "10000001")) == "+372 5000 0000"


def test_ambiguous_lines_are_errors_not_duplicates(manager, tenant, make_client, dbsession):
    make_client(tenant, "Esimene OÜ", registry_code="10000001")
    make_client(tenant, "Teine OÜ", vat_number="EE100000007")
    make_client(tenant, "Kolmas OÜ", registry_code="10000024", vat_number="EE100000010")
    make_client(tenant, "Nimekaim OÜ")
    content = _csv("\n".join([
        "Nimi;Registrikood;KMKR",
        "Segane OÜ;10000001;EE100000007",  # two different clients
        "Kolmas OÜ;10000030;EE100000010",  # VAT of no. 3, whose registry code differs
        "Nimekaim OÜ;;",  # same name, nothing to tell them apart
        "Nimekaim OÜ;10000047;",  # a new code, but the namesake has none: maybe the same
    ]))
    preview = _preview(manager, "segane.csv", content)
    assert _lines(preview) == {2: "error", 3: "error", 4: "error", 5: "error"}
    errors = preview.html.find(id="import-errors").text
    assert "two different clients" in errors
    assert "no. 3 (Kolmas OÜ), whose Registry code / personal code is different" in errors
    assert "already exists" in errors
    assert _count(dbsession, tenant, Client) == 4


def test_xlsx_import_with_numbers_and_contacts(manager, tenant, dbsession):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Registry code", "Contact first name", "Contact last name", "Role",
                  "Groups", "Newsletter"])
    sheet.append(["Põhja Puit OÜ", 10000053, "Tõnu", "Kask", "juhatuse liige", "Suurklient",
                  "jah"])
    sheet.append(["Lõuna Kivi AS", 10000030, None, None, None, None, "ei"])
    out = io.BytesIO()
    book.save(out)
    preview = _preview(manager, "kliendid.xlsx", out.getvalue(), mapping={
        "col-2": "contact_first_name", "col-3": "contact_last_name", "col-4": "contact_role",
        "col-5": "groups", "col-6": "email_consent"})
    assert _lines(preview) == {2: "create", 3: "create"}
    preview.forms["confirm-form"].submit(status=303)
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        wood = dbsession.scalar(sa.select(Client).where(Client.registry_code == "10000053"))
        assert wood.name == "Põhja Puit OÜ" and wood.email_consent is True
        assert [g.name for g in wood.groups] == ["Suurklient"]
        assert [(link.person.full_name, link.role) for link in wood.contacts] == [
            ("Tõnu Kask", "juhatuse liige")]


def test_unknown_group_and_mapping_mistakes_are_reported(manager, tenant, dbsession):
    page = _upload(manager, "a.csv", _csv("Firma;Grupp\nÕun OÜ;Hõbeklient\n")).follow()
    form = page.forms["mapping-form"]
    form["col-0"] = ""
    refused = form.submit(status=400)
    assert "holds the client's name" in refused.html.find(id="mapping-errors").text
    form = refused.forms["mapping-form"]
    form["col-0"] = "name"
    form["col-1"] = "name"
    assert "two columns" in form.submit(status=400).text
    form["col-1"] = "groups"
    preview = form.submit(status=303).follow()
    assert "Unknown client group: Hõbeklient" in preview.html.find(id="import-errors").text
    assert _count(dbsession, tenant, Client) == 0


def test_an_import_belongs_to_its_user_and_runs_once(browser, manager, tenant, make_user,
                                                     dbsession):
    preview = _preview(manager, "kliendid.csv", _csv(GOOD))
    url = preview.request.path
    other = browser(tenant, make_user(tenant, "manager"))
    assert other.get(url, status=303).location.endswith("/clients/import")
    assert manager.get("/clients/import/not-a-token", status=303).location.endswith(
        "/clients/import")
    form = preview.forms["confirm-form"]
    form.submit(status=303)
    assert _count(dbsession, tenant, Client) == 3
    again = form.submit(status=303)  # a second click
    assert again.location.endswith("/clients/import")
    assert _count(dbsession, tenant, Client) == 3


def test_a_changed_register_needs_a_new_confirmation(manager, tenant, make_client, dbsession):
    preview = _preview(manager, "kliendid.csv", _csv(GOOD))
    make_client(tenant, "Vahepeal Lisatud OÜ", registry_code="10000018")
    changed = preview.forms["confirm-form"].submit(status=409)
    assert "changed after the preview" in changed.text
    assert _count(dbsession, tenant, Client) == 1
    assert _lines(changed)[3] == "update"
    changed.forms["confirm-form"].submit(status=303)
    assert _count(dbsession, tenant, Client) == 3


def test_import_needs_the_permission_and_respects_own_clients(browser, tenant, make_user,
                                                             make_client, dbsession):
    seller = make_user(tenant, "sales", locale="en")
    browser(tenant, seller).get("/clients/import", status=403)
    with tenant_scope(dbsession, tenant.id):
        dbsession.add(RolePermission(role="sales", permission=IMPORT_RUN))
        row = dbsession.get(Tenant, tenant.id)
        row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
        dbsession.commit()
    make_client(tenant, "Kellegi Teise OÜ", registry_code="10000001")
    b = browser(tenant, seller)
    preview = _preview(b, "kliendid.csv", _csv(GOOD))
    assert _lines(preview)[2] == "error"
    assert "not yours" in preview.html.find(id="import-errors").text
    ok = _preview(b, "kliendid.csv", _csv("\n".join(GOOD.splitlines()[::2]) + "\n"))
    assert _lines(ok) == {2: "create"}  # header and line 3 of GOOD
    ok.forms["confirm-form"].submit(status=303)
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        new = dbsession.scalar(sa.select(Client).where(Client.registry_code == "10000018"))
    assert new.salesperson_id == seller.id  # so that its importer can see it
    b.get(f"/clients/{new.id}", status=200)
