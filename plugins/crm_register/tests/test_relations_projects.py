"""Related organisations and persons (C12), contracts (C9) and sales projects (C14)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
import webtest

from core.db import tenant_scope, utcnow
from core.models import Tenant
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.crm_register.models import (
    Activity,
    ActivityType,
    ClientPerson,
    Contract,
    Document,
    DocumentVersion,
    Person,
    Project,
    Relation,
)
from plugins.crm_register.numbering import next_number


def _text(page, selector):
    node = page.html.select_one(selector)
    return " ".join(node.get_text(" ").split()) if node is not None else ""


def _relations(dbsession, tenant):
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        return [(r.from_client_id, r.to_client_id, r.kind, r.note)
                for r in dbsession.scalars(sa.select(Relation).order_by(Relation.id))]


# --- related organisations ------------------------------------------------------------------

def test_relation_is_shown_from_both_sides(browser, tenant, make_user, make_client, dbsession):
    user = make_user(tenant, "sales", locale="en")
    child = make_client(tenant, "Tütar OÜ", phone="+372 600 0001")
    parent = make_client(tenant, "Ema AS", email="info@ema.ee")
    b = browser(tenant, user)
    form = b.get(f"/clients/{child.id}/relations").forms["relation-form"]
    form["direction"] = "subsidiary"
    form["other_id"] = str(parent.id)
    form["note"] = "100% osalus"
    form.submit(status=303)
    assert _relations(dbsession, tenant) == [(child.id, parent.id, "subsidiary", "100% osalus")]

    on_child = b.get(f"/clients/{child.id}/relations")
    assert _text(on_child, "#relations tbody tr").startswith("Subsidiary of: Ema AS")
    assert "info@ema.ee" in _text(on_child, "#relations") and "100% osalus" in on_child.text
    on_parent = b.get(f"/clients/{parent.id}/relations")
    assert _text(on_parent, "#relations tbody tr").startswith("Parent company of: Tütar OÜ")
    assert "+372 600 0001" in _text(on_parent, "#relations")

    # chosen from the other side, a branch is stored the same way round
    branch = make_client(tenant, "Filiaal OÜ")
    form = b.get(f"/clients/{parent.id}/relations").forms["relation-form"]
    form["direction"] = "head_office"
    form["other_id"] = str(branch.id)
    form.submit(status=303)
    assert _relations(dbsession, tenant)[-1] == (branch.id, parent.id, "branch", None)
    assert _text(b.get(f"/clients/{branch.id}/relations"), "#relations tbody tr").startswith(
        "Branch of: Ema AS")
    rows = b.get(f"/clients/{parent.id}/relations").html.select("#relations tbody tr")
    texts = [" ".join(r.get_text(" ").split()) for r in rows]
    assert texts[0].startswith("Parent company of: Tütar OÜ")
    assert texts[1].startswith("Head office of: Filiaal OÜ")

    # removed from the parent's side, gone from both
    page = b.get(f"/clients/{parent.id}/relations")
    remove = next(f for key, f in page.forms.items()
                  if isinstance(key, int) and f.action.endswith("/remove"))
    assert f"/clients/{parent.id}/relations/" in remove.action
    remove.submit(status=303)
    assert len(_relations(dbsession, tenant)) == 1
    assert "Tütar OÜ" not in _text(b.get(f"/clients/{parent.id}/relations"), "#relations")
    assert "No related organisations yet." in b.get(f"/clients/{child.id}/relations").text


def test_no_relation_to_itself_and_no_duplicates(browser, tenant, make_user, make_client,
                                                 dbsession):
    user = make_user(tenant, "sales", locale="en")
    first = make_client(tenant, "Esimene OÜ")
    second = make_client(tenant, "Teine OÜ")
    b = browser(tenant, user)

    def add(client, other, direction, **extra):
        page = b.get(f"/clients/{client.id}/relations")
        form = page.forms["relation-form"]
        form["direction"] = direction
        if other is not None:
            form["other_id"].force_value(str(other.id))
        for key, value in extra.items():
            form[key] = value
        return form

    page = add(first, first, "partner").submit(status=400)
    assert _text(page, "#e-other_id") == "A client cannot be related to itself."
    page = add(first, None, "partner").submit(status=400)
    assert _text(page, "#e-other_id") == "Choose the organisation."
    add(first, second, "partner").submit(status=303)
    page = add(second, first, "partner").submit(status=400)  # the same partnership
    assert _text(page, "#e-other_id") == "These clients already have this kind of relation."
    page = add(second, first, "parent").submit(status=303)  # another kind is fine
    page = add(first, second, "subsidiary").submit(status=400)  # already stored
    page = add(first, second, "parent").submit(status=400)  # and not both ways round
    form = add(first, None, "other")
    form["other_id"].force_value("999999")
    assert _text(form.submit(status=400), "#e-other_id") == "No such client."
    assert len(_relations(dbsession, tenant)) == 2


def test_hidden_clients_cannot_be_related_and_are_not_shown(browser, tenant, make_user,
                                                            make_client, dbsession):
    me = make_user(tenant, "sales", locale="en")
    colleague = make_user(tenant, "sales")
    mine = make_client(tenant, "Minu OÜ", salesperson_id=me.id)
    theirs = make_client(tenant, "Kolleegi OÜ", salesperson_id=colleague.id)
    with tenant_scope(dbsession, tenant.id):
        dbsession.add(Relation(from_client_id=mine.id, to_client_id=theirs.id, kind="partner"))
        row = dbsession.get(Tenant, tenant.id)
        row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
        dbsession.commit()
    b = browser(tenant, me)
    page = b.get(f"/clients/{mine.id}/relations")
    assert "Kolleegi OÜ" not in page.text
    form = page.forms["relation-form"]
    form["other_id"].force_value(str(theirs.id))
    assert _text(form.submit(status=400), "#e-other_id") == "No such client."
    b.get(f"/clients/{theirs.id}/relations", status=404)


def test_person_linked_to_two_clients_is_shown_on_both(browser, tenant, make_user,
                                                       make_client, dbsession):
    user = make_user(tenant, "secretary", locale="en")
    first = make_client(tenant, "Esimene OÜ", contacts=[("Terje", "Tamm", "board member"),
                                                        ("Mati", "Maasikas", "accountant")])
    second = make_client(tenant, "Teine AS")
    with tenant_scope(dbsession, tenant.id):
        terje = dbsession.scalar(sa.select(Person).where(Person.last_name == "Tamm"))
        dbsession.add(ClientPerson(client_id=second.id, person_id=terje.id,
                                   role="signatory"))
        dbsession.commit()
    b = browser(tenant, user)
    on_first = b.get(f"/clients/{first.id}/relations")
    assert _text(on_first, f"#shared-person-{terje.id}") == (
        "Terje Tamm board member Terje Tamm is also signatory at Teine AS")
    assert "Maasikas" not in _text(on_first, "#shared-persons")
    on_second = b.get(f"/clients/{second.id}/relations")
    assert _text(on_second, f"#shared-person-{terje.id}") == (
        "Terje Tamm signatory Terje Tamm is also board member at Esimene OÜ")
    link = on_second.html.select_one(f"#shared-person-{terje.id} a[href*='/clients/']")
    assert link["href"].endswith(f"/clients/{first.id}/relations")


# --- contracts --------------------------------------------------------------------------------

def _contract_form(b, client, **values):
    form = b.get(f"/clients/{client.id}/contracts").forms["contract-form"]
    for key, value in values.items():
        form[key] = value
    return form


def test_contract_end_before_start_is_refused(browser, tenant, make_user, make_client,
                                              dbsession):
    user = make_user(tenant, "sales", locale="en")
    client = make_client(tenant, "Õun OÜ")
    b = browser(tenant, user)
    page = _contract_form(b, client, number="L-2025/7", title="Hooldusleping",
                          starts_on="2025-06-01", ends_on="2025-05-31").submit(status=400)
    assert _text(page, "#e-ends_on") == "The end date cannot be before the start date."
    assert page.html.select_one("#f-number")["value"] == "L-2025/7"
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(Contract)) == 0


def test_contract_with_file_is_registered_as_a_document(browser, tenant, make_user,
                                                        make_client, dbsession):
    user = make_user(tenant, "sales", locale="en")
    client = make_client(tenant, "Õun OÜ")
    b = browser(tenant, user)
    form = _contract_form(b, client, number="L-7", title="Hooldusleping",
                          starts_on="2025-01-01", ends_on="2025-12-31",
                          terms="Reageerimisaeg 4 tundi.\nHind 45 €/h.")
    form["file"] = webtest.Upload("leping.pdf", b"%PDF signed", "application/pdf")
    page = form.submit(status=303).follow()
    assert "Reageerimisaeg 4 tundi." in _text(page, "#contracts")
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        contract = dbsession.scalar(sa.select(Contract))
        document = dbsession.get(Document, contract.document_id)
        assert (contract.number, contract.starts_on, contract.ends_on) == (
            "L-7", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
        assert (document.type.name, document.client_id, document.registrar_id) == (
            "Leping", client.id, user.id)
        assert document.title == "L-7 Hooldusleping"
    download = page.html.select_one(f"#contract-{contract.id} a[href*=download]")["href"]
    assert b.get(download).body == b"%PDF signed"

    # a new file becomes a new version of the same document; the number can change
    form = b.get(f"/clients/{client.id}/contracts/{contract.id}").forms["contract-form"]
    form["number"] = "L-7/1"
    form["file"] = webtest.Upload("leping-lisa.pdf", b"%PDF annex", "application/pdf")
    form.submit(status=303)
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        versions = dbsession.scalars(sa.select(DocumentVersion).where(
            DocumentVersion.document_id == document.id).order_by(DocumentVersion.version)).all()
        assert [v.filename for v in versions] == ["leping.pdf", "leping-lisa.pdf"]
        assert dbsession.scalar(sa.select(Contract.number)) == "L-7/1"
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(Document)) == 1


def test_contract_edit_duplicate_and_delete(browser, tenant, make_user, make_client, dbsession):
    user = make_user(tenant, "sales", locale="en")
    client = make_client(tenant, "Õun OÜ")
    b = browser(tenant, user)
    _contract_form(b, client, number="1", title="Raamleping").submit(status=303)
    page = _contract_form(b, client, number="1", title="Teine").submit(status=400)
    assert _text(page, "#e-number") == "This client already has a contract with this number."
    page = _contract_form(b, client, number="2", title="Teine")
    page["file"] = webtest.Upload("tühi.pdf", b"", "application/pdf")
    assert _text(page.submit(status=400), "#e-file") == "The file is empty."
    with tenant_scope(dbsession, tenant.id):
        contract = dbsession.scalar(sa.select(Contract))
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(Contract)) == 1
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(Document)) == 0
    form = b.get(f"/clients/{client.id}/contracts/{contract.id}").forms["contract-form"]
    form["terms"] = "Tasumine 14 päeva."
    form.submit(status=303)
    form = b.get(f"/clients/{client.id}/contracts/{contract.id}").forms["contract-form"]
    assert form["terms"].value == "Tasumine 14 päeva."
    form.submit("action", value="delete", status=303)
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(Contract)) == 0
    # an accountant reads contracts but may not change them
    accountant = browser(tenant, make_user(tenant, "accountant"))
    assert "contract-form" not in accountant.get(f"/clients/{client.id}/contracts").forms
    accountant.post(f"/clients/{client.id}/contracts",
                    {"csrf_token": accountant.csrf_token, "number": "3", "title": "x"},
                    status=403)


# --- sales projects ----------------------------------------------------------------------------

def test_projects_with_status_value_and_linked_work(browser, tenant, make_user, make_client,
                                                    dbsession):
    user = make_user(tenant, "sales", locale="en", name="Mari Maasikas")
    client = make_client(tenant, "Õun OÜ")
    b = browser(tenant, user)
    form = b.get(f"/clients/{client.id}/projects").forms["project-form"]
    assert form["salesperson_id"].value == str(user.id)
    form["name"] = "Uus kontor"
    form["status"] = "offer"
    form["starts_on"] = "2025-03-01"
    form["ends_on"] = "2025-09-30"
    form["expected_value"] = "12 500,50"
    project_page = form.submit(status=303).follow()
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        project = dbsession.scalar(sa.select(Project))
        assert (project.name, project.status, project.salesperson_id, project.expected_value) == (
            "Uus kontor", "offer", user.id, Decimal("12500.50"))
        call = dbsession.scalar(sa.select(ActivityType).where(ActivityType.code == "call"))
        dbsession.add_all([
            Activity(number=next_number(dbsession, "activity"), name="Pakkumise arutelu",
                     client_id=client.id, type_id=call.id, project_id=project.id,
                     starts_at=utcnow()),
            Activity(number=next_number(dbsession, "activity"), name="Muu kõne",
                     client_id=client.id, type_id=call.id, starts_at=utcnow()),
            Document(number=next_number(dbsession, "document"), client_id=client.id,
                     title="Pakkumine 12", project_id=project.id),
        ])
        dbsession.commit()
    assert "Offer" in _text(project_page, "#project-details")

    listing = b.get(f"/clients/{client.id}/projects")
    row = _text(listing, f"#project-{project.id}")
    assert row.startswith("Uus kontor Offer Mari Maasikas")
    assert "12,500.50" in row and row.endswith("1 1")
    page = b.get(f"/projects/{project.id}")
    assert "Pakkumise arutelu" in _text(page, "#project-activities")
    assert "Muu kõne" not in _text(page, "#project-activities")
    assert "Pakkumine 12" in _text(page, "#project-documents")

    # edit: status won; bad values are refused with nothing changed
    form = page.forms["project-form"]
    form["ends_on"] = "2025-02-01"
    form["expected_value"] = "-5"
    bad = form.submit(status=400)
    assert _text(bad, "#e-ends_on") == "The end date cannot be before the start date."
    assert _text(bad, "#e-expected_value") == "The amount cannot be negative."
    form = b.get(f"/projects/{project.id}").forms["project-form"]
    form["status"] = "won"
    form["expected_value"] = "13000"
    form.submit(status=303)
    dbsession.rollback()
    dbsession.expire_all()  # the project was loaded (and committed) by this session above
    with tenant_scope(dbsession, tenant.id):
        project = dbsession.get(Project, project.id)
        assert (project.status, project.expected_value, project.ends_on) == (
            "won", Decimal("13000.00"), dt.date(2025, 9, 30))


def test_project_delete_keeps_its_activities_and_documents(browser, tenant, make_user,
                                                           make_client, dbsession):
    user = make_user(tenant, "manager")
    client = make_client(tenant, "Õun OÜ")
    with tenant_scope(dbsession, tenant.id):
        project = Project(client_id=client.id, name="Vana projekt")
        dbsession.add(project)
        dbsession.flush()
        dbsession.add(Document(number=next_number(dbsession, "document"), client_id=client.id,
                               title="Jääb alles", project_id=project.id))
        dbsession.commit()
    b = browser(tenant, user)
    b.get(f"/projects/{project.id}").forms["project-form"].submit("action", value="delete",
                                                                  status=303)
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(Project)) == 0
        document = dbsession.scalar(sa.select(Document))
        assert (document.title, document.project_id) == ("Jääb alles", None)


def test_projects_of_hidden_clients_answer_404(browser, tenant, make_user, make_client,
                                               dbsession):
    owner = make_user(tenant, "sales")
    other = make_user(tenant, "sales")
    client = make_client(tenant, "Õun OÜ", salesperson_id=owner.id)
    with tenant_scope(dbsession, tenant.id):
        project = Project(client_id=client.id, name="Salajane")
        dbsession.add(project)
        row = dbsession.get(Tenant, tenant.id)
        row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
        dbsession.commit()
    browser(tenant, owner).get(f"/projects/{project.id}", status=200)
    b = browser(tenant, other)
    b.get(f"/projects/{project.id}", status=404)
    b.get(f"/clients/{client.id}/projects", status=404)
    b.get(f"/clients/{client.id}/contracts", status=404)
    b.get(f"/clients/{client.id}/relations", status=404)
