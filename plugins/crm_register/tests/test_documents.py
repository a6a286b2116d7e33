"""The documents register (C6) and the file storage service behind it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import transaction
import webtest
from pyramid.testing import DummyRequest

from core.db import tenant_scope, utcnow
from core.models import Tenant
from core.plugins import StartupError
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.crm_register.models import (
    Counter,
    Document,
    DocumentType,
    DocumentVersion,
    Project,
)
from plugins.crm_register.numbering import next_number
from plugins.crm_register.storage import (
    REGISTRY_KEY,
    LocalFileStorage,
    MissingFile,
    guess_content_type,
    max_upload_bytes,
    safe_filename,
    store_in_transaction,
)

PDF_V1 = b"%PDF-1.4\n% offer, first version\n" + bytes(range(256)) * 4
PDF_V2 = b"%PDF-1.4\n% offer, second version with a discount\n" + bytes(range(255, -1, -1)) * 8


def _files(root: str | Path) -> set[str]:
    root = Path(root)
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _type_id(dbsession, tenant, name):
    with tenant_scope(dbsession, tenant.id):
        return dbsession.scalar(sa.select(DocumentType.id).where(DocumentType.name == name))


def _document_count(dbsession, tenant):
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        return (dbsession.scalar(sa.select(sa.func.count()).select_from(Document)),
                dbsession.scalar(sa.select(sa.func.count()).select_from(DocumentVersion)),
                dbsession.scalar(sa.select(Counter.value).where(Counter.name == "document")))


def _register(b, client, title="Hinnapakkumine", file=("pakkumine.pdf", PDF_V1), **values):
    page = b.get(f"/clients/{client.id}/documents")
    form = page.forms["document-form"]
    form["title"] = title
    for key, value in values.items():
        form[key] = value
    if file is not None:
        form["file"] = webtest.Upload(file[0], file[1], "application/pdf")
    return form


# --- the storage service ------------------------------------------------------------------

def test_local_storage_never_uses_the_uploaded_name_as_a_path(tmp_path):
    storage = LocalFileStorage(tmp_path)
    key = storage.save(b"secret plans", "../../etc/passwd.PDF", tenant_id=7)
    assert re.fullmatch(rf"7/{utcnow().year}/[0-9a-f]{{32}}\.pdf", key)
    assert _files(tmp_path) == {key}
    assert storage.read(key) == b"secret plans"
    other = storage.save(b"secret plans", "passwd.pdf", tenant_id=7)
    assert other != key  # never overwritten, never derived from the name
    for bad in ("../outside", "7/2025/../../x", "/etc/passwd", "7/2025/ABC", ""):
        with pytest.raises(MissingFile):
            storage.open(bad)
    storage.delete(key)
    storage.delete(key)  # deleting twice is fine
    with pytest.raises(MissingFile):
        storage.open(key)
    assert _files(tmp_path) == {other}


@pytest.mark.parametrize(("name", "expected"), [
    ("C:\\Users\\mari\\Pakkumine 2025.pdf", "Pakkumine 2025.pdf"),
    ("../../etc/passwd", "passwd"),
    ('a"b<c>\x00d.txt', "abcd.txt"),
    ("", "file"), ("...", "file"),
])
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_content_type_by_name_then_by_the_browser():
    assert guess_content_type("Pakkumine.PDF", "text/html") == "application/pdf"
    assert guess_content_type("noname", "Text/Plain; charset=utf-8") == "text/plain"
    assert guess_content_type("noname", "application/" + "x" * 120) == "application/octet-stream"
    assert guess_content_type("noname", "not a type") == "application/octet-stream"
    assert guess_content_type("noname", None) == "application/octet-stream"


def test_upload_limit_setting():
    assert max_upload_bytes({}) == 25 * 1024 * 1024
    assert max_upload_bytes({"storage.max_upload_mb": "3"}) == 3 * 1024 * 1024
    with pytest.raises(StartupError):
        max_upload_bytes({"storage.max_upload_mb": "lots"})


class _FailingVote:
    """A transaction participant whose vote fails, like a database refusing the commit."""

    sortKey = staticmethod(lambda: "~last")

    def abort(self, txn):
        pass

    def tpc_begin(self, txn):
        pass

    def commit(self, txn):
        pass

    def tpc_vote(self, txn):
        raise RuntimeError("the database said no")

    def tpc_finish(self, txn):
        pass

    def tpc_abort(self, txn):
        pass


def _request(tmp_path, tm):
    request = DummyRequest()
    request.registry[REGISTRY_KEY] = LocalFileStorage(tmp_path)
    request.tenant = SimpleNamespace(id=3)
    request.tm = tm
    return request


def test_stored_file_is_removed_when_the_transaction_does_not_commit(tmp_path):
    tm = transaction.TransactionManager(explicit=True)
    request = _request(tmp_path, tm)

    tm.begin()
    kept = store_in_transaction(request, b"kept", "a.txt")
    tm.commit()
    assert _files(tmp_path) == {kept}

    tm.begin()
    store_in_transaction(request, b"aborted", "b.txt")
    tm.abort()
    assert _files(tmp_path) == {kept}

    tm.begin()
    store_in_transaction(request, b"commit fails", "c.txt")
    tm.get().join(_FailingVote())
    with pytest.raises(RuntimeError):
        tm.commit()
    tm.abort()
    assert _files(tmp_path) == {kept}


# --- registering and versions ---------------------------------------------------------------

def test_register_then_new_version_keeps_the_old_one_downloadable(
        browser, tenant, make_user, make_client, dbsession, app_settings):
    user = make_user(tenant, "sales", locale="en")
    client = make_client(tenant, "Õun OÜ")
    b = browser(tenant, user)
    offer = _type_id(dbsession, tenant, "Pakkumine")
    before = utcnow()
    page = _register(b, client, "Hinnapakkumine", type_id=str(offer),
                     status="in_preparation").submit(status=303).follow()
    assert "Hinnapakkumine" in page.text and "pakkumine.pdf" in page.text

    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        document = dbsession.scalar(sa.select(Document))
        assert (document.number, document.client_id, document.registrar_id) == (1, client.id,
                                                                                 user.id)
        assert (document.type_id, document.status) == (offer, "in_preparation")
        assert before <= document.registered_at <= utcnow()
        (v1,) = dbsession.scalars(sa.select(DocumentVersion)).all()
        assert (v1.version, v1.filename, v1.size, v1.content_type) == (
            1, "pakkumine.pdf", len(PDF_V1), "application/pdf")
        assert v1.sha256 == hashlib.sha256(PDF_V1).hexdigest()
        assert (Path(app_settings["storage.path"]) / v1.storage_key).read_bytes() == PDF_V1

    form = page.forms["version-form"]
    form["file"] = webtest.Upload("pakkumine v2.pdf", PDF_V2, "application/pdf")
    page = form.submit(status=303).follow()
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        versions = dbsession.scalars(
            sa.select(DocumentVersion).order_by(DocumentVersion.version)).all()
    assert [(v.version, v.size, v.sha256) for v in versions] == [
        (1, len(PDF_V1), hashlib.sha256(PDF_V1).hexdigest()),
        (2, len(PDF_V2), hashlib.sha256(PDF_V2).hexdigest())]
    assert versions[0].storage_key != versions[1].storage_key

    old = b.get(f"/documents/{document.id}/versions/{versions[0].id}/download")
    assert old.body == PDF_V1
    assert old.content_type == "application/pdf"
    assert old.headers["Content-Disposition"].startswith('attachment; filename="pakkumine.pdf"')
    assert old.headers["X-Content-Type-Options"] == "nosniff"
    new = b.get(f"/documents/{document.id}/versions/{versions[1].id}/download")
    assert new.body == PDF_V2
    assert "filename*=UTF-8''pakkumine%20v2.pdf" in new.headers["Content-Disposition"]
    # both versions are listed on the document page, the newest first
    rows = page.html.select("#document-versions tbody tr")
    assert [r["id"] for r in rows] == ["version-2", "version-1"]
    # the list shows the latest version
    listing = b.get(f"/clients/{client.id}/documents")
    row = listing.html.select_one(f"#document-{document.id}")
    assert "pakkumine v2.pdf" in row.get_text() and "Hinnapakkumine" in row.get_text()


def test_download_name_is_safe_and_content_is_never_sniffed(browser, tenant, make_user,
                                                              make_client, dbsession):
    user = make_user(tenant, "sales")
    client = make_client(tenant, "Õun OÜ")
    b = browser(tenant, user)
    html = b"<script>alert(1)</script>"
    page = _register(b, client, "Märkmed", file=("..\\..\\õun; evil=1.html", html)
                     ).submit(status=303).follow()
    with tenant_scope(dbsession, tenant.id):
        version = dbsession.scalar(sa.select(DocumentVersion))
        assert version.filename == "õun; evil=1.html"
        assert "/" not in version.storage_key.split("/", 2)[2]
    link = page.html.select_one("#document-versions a[href*=download]")["href"]
    response = b.get(link)
    assert response.body == html
    assert response.content_type == "text/html"  # by the name, not by what the browser said
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"oun_ evil_1.html\"; filename*=UTF-8''%C3%B5un%3B%20evil%3D1.html")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_filter_by_type_and_status(browser, tenant, make_user, make_client, dbsession):
    user = make_user(tenant, "accountant")
    client = make_client(tenant, "Õun OÜ")
    offer = _type_id(dbsession, tenant, "Pakkumine")
    contract = _type_id(dbsession, tenant, "Leping")
    with tenant_scope(dbsession, tenant.id):
        for title, type_id, status in (("Pakkumine A", offer, "in_preparation"),
                                       ("Pakkumine B", offer, "sent"),
                                       ("Leping C", contract, "in_preparation")):
            dbsession.add(Document(number=next_number(dbsession, "document"), title=title,
                                   client_id=client.id, type_id=type_id, status=status))
        dbsession.commit()
    b = browser(tenant, user)

    def titles(**params):
        page = b.get(f"/clients/{client.id}/documents", params)
        return sorted(a.get_text() for a in page.html.select("#documents a.doc-title"))

    assert titles() == ["Leping C", "Pakkumine A", "Pakkumine B"]
    assert titles(type=str(offer), status="in_preparation") == ["Pakkumine A"]
    assert titles(status="in_preparation") == ["Leping C", "Pakkumine A"]
    assert titles(type=str(offer)) == ["Pakkumine A", "Pakkumine B"]
    assert titles(status="nonsense") == ["Leping C", "Pakkumine A", "Pakkumine B"]
    # an accountant may look but not register
    assert "document-form" not in b.get(f"/clients/{client.id}/documents").forms


def test_links_to_project_and_activity_only_of_the_same_client(browser, tenant, make_user,
                                                               make_client, dbsession):
    user = make_user(tenant, "sales", locale="en")
    client = make_client(tenant, "Õun OÜ")
    other = make_client(tenant, "Pirn AS")
    with tenant_scope(dbsession, tenant.id):
        mine = Project(client_id=client.id, name="Uus kontor")
        foreign = Project(client_id=other.id, name="Võõras projekt")
        dbsession.add_all([mine, foreign])
        dbsession.commit()
    b = browser(tenant, user)
    form = _register(b, client, project_id=str(mine.id))
    form["project_id"].force_value(str(foreign.id))
    page = form.submit(status=400)
    assert page.html.select_one("#f-project_id")["aria-invalid"] == "true"
    assert _document_count(dbsession, tenant)[:2] == (0, 0)
    page = _register(b, client, project_id=str(mine.id)).submit(status=303).follow()
    assert "Uus kontor" in page.html.select_one("#document-details").get_text()
    project_page = b.get(f"/projects/{mine.id}")
    assert "Hinnapakkumine" in project_page.html.select_one("#project-documents").get_text()


def test_change_status_type_and_links(browser, tenant, make_user, make_client, dbsession):
    user = make_user(tenant, "sales")
    client = make_client(tenant, "Õun OÜ")
    b = browser(tenant, user)
    page = _register(b, client).submit(status=303).follow()
    form = page.forms["document-form"]
    form["status"] = "signed"
    form["type_id"] = str(_type_id(dbsession, tenant, "Leping"))
    form["title"] = "Allkirjastatud leping"
    form.submit(status=303)
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        document = dbsession.scalar(sa.select(Document))
        assert (document.status, document.title) == ("signed", "Allkirjastatud leping")
        assert document.type.name == "Leping"
        assert len(document.versions) == 1


# --- bad uploads ------------------------------------------------------------------------------

LIMIT = 25 * 1024 * 1024
"""The default upload limit (``storage.max_upload_mb`` is not set in the test settings)."""


def test_empty_missing_and_too_large_uploads_are_refused(
        browser, tenant, make_user, make_client, dbsession, app_settings):
    user = make_user(tenant, "sales", locale="en")
    client = make_client(tenant, "Õun OÜ")
    b = browser(tenant, user)
    root = app_settings["storage.path"]
    files_before = _files(root)
    counts_before = _document_count(dbsession, tenant)

    cases = [
        (("empty.pdf", b""), "The file is empty."),
        (None, "Choose a file to upload."),
        (("big.pdf", b"x" * (LIMIT + 1)), "The file is too large: at most 25 MB is allowed."),
    ]
    for file, message in cases:
        page = _register(b, client, file=file).submit(status=400)
        assert page.html.select_one("#e-file").get_text(strip=True) == message
        assert page.html.select_one("#f-title")["value"] == "Hinnapakkumine"  # input kept
        assert _document_count(dbsession, tenant) == counts_before
        assert _files(root) == files_before

    # exactly at the limit is fine
    page = _register(b, client, file=("limit.pdf", b"y" * LIMIT)).submit(status=303)
    assert _document_count(dbsession, tenant)[:2] == (1, 1)
    assert len(_files(root)) == len(files_before) + 1

    # a bad new version changes nothing either
    document_url = page.headers["Location"]
    files_before = _files(root)
    for file, message in cases:
        form = b.get(document_url).forms["version-form"]
        if file is not None:
            form["file"] = webtest.Upload(file[0], file[1], "application/pdf")
        bad = form.submit(status=400)
        assert bad.html.select_one("#e-version-file").get_text(strip=True) == message
        assert _document_count(dbsession, tenant)[:2] == (1, 1)
        assert _files(root) == files_before


def test_storage_failure_saves_nothing(browser, tenant, make_user, make_client, dbsession,
                                      app_settings):
    user = make_user(tenant, "sales", locale="en")
    client = make_client(tenant, "Õun OÜ")
    b = browser(tenant, user)
    root = Path(app_settings["storage.path"])
    blocker = root / str(tenant.id)
    aside = root / f"{tenant.id}.aside"  # files of an earlier test's tenant with this id
    if blocker.exists():
        blocker.rename(aside)
    blocker.write_bytes(b"not a folder")  # the tenant's folder cannot be created
    try:
        counts_before = _document_count(dbsession, tenant)
        page = _register(b, client).submit(status=503)
        assert "could not be stored" in page.html.select_one(".form-error").get_text()
        assert _document_count(dbsession, tenant) == counts_before
    finally:
        blocker.unlink()
        if aside.exists():
            aside.rename(blocker)
    _register(b, client).submit(status=303)
    assert _document_count(dbsession, tenant)[:2] == (1, 1)


# --- who may see what ---------------------------------------------------------------------

def test_documents_of_other_tenants_and_hidden_clients_answer_404(
        browser, tenant, make_tenant, make_user, make_client, dbsession):
    owner = make_user(tenant, "sales")
    client = make_client(tenant, "Õun OÜ", salesperson_id=owner.id)
    b = browser(tenant, owner)
    _register(b, client).submit(status=303)
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        document = dbsession.scalar(sa.select(Document))
        version = document.versions[0]
    urls = [f"/documents/{document.id}",
            f"/documents/{document.id}/versions/{version.id}/download",
            f"/clients/{client.id}/documents"]
    for url in urls:
        b.get(url, status=200)

    other_tenant = make_tenant("Teine OÜ", host="teine.test")
    stranger = browser(other_tenant, make_user(other_tenant, "admin"))
    for url in urls:
        stranger.get(url, status=404)

    colleague = make_user(tenant, "sales")
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        row = dbsession.get(Tenant, tenant.id)
        row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
        dbsession.commit()
    other = browser(tenant, colleague)
    for url in urls:
        other.get(url, status=404)
    other.post(f"/documents/{document.id}/versions", {"csrf_token": other.csrf_token},
               upload_files=[("file", "x.pdf", b"x")], status=404)
    b.get(urls[1], status=200)  # the client's own salesperson still may


def test_accountant_may_read_but_not_upload(browser, tenant, make_user, make_client, dbsession):
    sales = make_user(tenant, "sales")
    client = make_client(tenant, "Õun OÜ")
    _register(browser(tenant, sales), client).submit(status=303)
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        document = dbsession.scalar(sa.select(Document))
    accountant = browser(tenant, make_user(tenant, "accountant"))
    page = accountant.get(f"/documents/{document.id}")
    assert "version-form" not in page.forms
    accountant.get(page.html.select_one("#document-versions a[href*=download]")["href"])
    accountant.post(f"/documents/{document.id}/versions", {"csrf_token": accountant.csrf_token},
                    upload_files=[("file", "x.pdf", b"x")], status=403)
    accountant.post(f"/clients/{client.id}/documents",
                    {"csrf_token": accountant.csrf_token, "title": "x", "status": "draft"},
                    upload_files=[("file", "x.pdf", b"x")], status=403)
    assert _document_count(dbsession, tenant)[:2] == (1, 1)
