"""The UI in Estonian and English: complete catalogues, the language choice, formatting.

The catalogue tests extract the core's messages afresh (Python and templates, with lingua)
and compare them with the checked-in ``core/locale``: a new message without an Estonian
translation, a changed placeholder or a ``.mo`` not compiled from the ``.po`` fails here.
After changing texts run ``.venv/bin/python -m core.i18n_tools all``, translate the new
entries in ``core/locale/et/LC_MESSAGES/core.po`` and run ``... compile``.
"""

from __future__ import annotations

import datetime as dt
import gettext
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po
from pyramid.request import Request
from pyramid.scripting import prepare

from core import i18n_tools
from core.models import User

CORE = i18n_tools.package()


def _read_po(path: Path, locale: str = "et", domain: str = "core") -> Any:
    with path.open("rb") as f:
        return read_po(f, locale=locale, domain=domain)


@pytest.fixture(scope="module")
def extracted() -> tuple[Any, list[i18n_tools.Problem]]:
    """The core's messages, extracted now from the sources."""
    return i18n_tools.extract_messages(CORE)


@pytest.fixture(scope="module")
def estonian() -> Any:
    """The checked-in Estonian catalogue of the core."""
    return _read_po(CORE.po_path("et"))


# --- (a) The catalogue is complete -------------------------------------------------------


def test_extraction_reads_python_and_templates(extracted):
    catalog, _problems = extracted
    files = {msgid: {f for f, _line in catalog[msgid].locations}
             for msgid in ("This field is required.", "Good day, ${name}!", "Pages",
                           "${name} was enabled, together with ${others}.", "Log in")}
    assert files["This field is required."] == {"core/forms.py"}  # _() in Python
    assert files["Good day, ${name}!"] == {"core/templates/dashboard.pt"}  # i18n:name
    assert files["Pages"] == {"core/templates/macros.pt"}  # i18n:attributes
    assert "core/views/admin.py" in files["${name} was enabled, together with ${others}."]
    assert files["Log in"] == {"core/templates/login.pt"}
    assert len(catalog) > 100


def test_core_templates_have_no_untranslatable_markup(extracted):
    _catalog, problems = extracted
    assert [str(p) for p in problems] == []


def test_every_core_message_is_translated_to_estonian(extracted, estonian):
    catalog, _problems = extracted
    missing, empty, fuzzy, placeholders = [], [], [], []
    for message in catalog:
        if not message.id:
            continue
        translated = estonian.get(message.id, message.context)
        if translated is None:
            missing.append(message.id)
        elif not translated.string or not translated.string.strip():
            empty.append(message.id)
        elif translated.fuzzy:
            fuzzy.append(message.id)
        elif (i18n_tools.placeholders(translated.string)
              != i18n_tools.placeholders(message.id)):
            placeholders.append((message.id, translated.string))
    assert missing == [], "run: .venv/bin/python -m core.i18n_tools all, then translate"
    assert empty == []
    assert fuzzy == []
    assert placeholders == []


def test_pot_lists_exactly_the_extracted_messages(extracted):
    catalog, _problems = extracted
    pot = _read_po(CORE.pot_path, locale=None)
    assert {m.id for m in pot if m.id} == {m.id for m in catalog if m.id}


def test_checked_in_mo_is_the_compiled_po(estonian):
    assert i18n_tools.mo_is_current(CORE, "et"), "run: .venv/bin/python -m core.i18n_tools compile"
    with CORE.mo_path("et").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    for message in estonian:
        if message.id and message.string and not message.fuzzy:
            assert compiled.gettext(message.id) == message.string
    assert compiled.gettext("Log in") == "Logi sisse"
    assert compiled.gettext("This field is required.") == "Nõutav väli."


def test_a_stale_mo_is_detected(tmp_path):
    copy = i18n_tools.Package(path=tmp_path / "core", domain="core")
    shutil.copytree(CORE.locale_dir, copy.locale_dir)
    assert i18n_tools.mo_is_current(copy, "et")
    po = copy.po_path("et")
    po.write_text(po.read_text(encoding="utf-8").replace(
        'msgstr "Logi sisse"', 'msgstr "Sisene"'), encoding="utf-8")
    assert not i18n_tools.mo_is_current(copy, "et")
    written, problems = i18n_tools.compile_catalogs(copy)
    assert problems == []
    assert written == [copy.mo_path("et")]
    assert i18n_tools.mo_is_current(copy, "et")


def test_catalogue_check_reports_a_broken_placeholder(tmp_path):
    copy = i18n_tools.Package(path=tmp_path / "core", domain="core")
    shutil.copytree(CORE.locale_dir, copy.locale_dir)
    po = copy.po_path("et")
    po.write_text(po.read_text(encoding="utf-8").replace(
        "Kasutaja ${name} on loodud.", "Kasutaja ${nimi} on loodud."), encoding="utf-8")
    written, problems = i18n_tools.compile_catalogs(copy)
    assert written == []
    assert any("User ${name} was created." in str(p) for p in problems)


PLUGIN_PY = '''\
from pyramid.i18n import TranslationStringFactory

_ = TranslationStringFactory("acme")

LABEL = _("Hello ${who}", mapping={"who": "you"})
# TRANSLATORS: a button
SEND = _("Send")
'''
PLUGIN_PT = '''\
<div xmlns:tal="http://xml.zope.org/namespaces/tal"
     xmlns:i18n="http://xml.zope.org/namespaces/i18n" i18n:domain="acme">
  <p i18n:translate="">You have <b i18n:name="count">${n}</b> open offers.</p>
  <p i18n:translate="">Broken: ${n} offers</p>
  <a title="Open" i18n:attributes="title" href="#" i18n:translate="">Offers</a>
  <span i18n:domain="core" i18n:translate="">Save</span>
</div>
'''


def test_tools_work_for_a_plugin_package(tmp_path, capsys):
    pkg_dir = tmp_path / "acme_plugin"
    (pkg_dir / "templates").mkdir(parents=True)
    (pkg_dir / "plugin.toml").write_text('name = "acme"\nversion = "1.0.0"\n')
    (pkg_dir / "__init__.py").write_text(PLUGIN_PY)
    (pkg_dir / "templates" / "offers.pt").write_text(PLUGIN_PT)
    (pkg_dir / "tests").mkdir()
    (pkg_dir / "tests" / "test_x.py").write_text('_("Not a UI text")\n')

    assert i18n_tools.main(["all", str(pkg_dir)]) == 0
    pkg = i18n_tools.package(pkg_dir)
    assert pkg.domain == "acme"
    pot = _read_po(pkg.pot_path, locale=None, domain="acme")
    assert {m.id for m in pot if m.id} == {
        "Hello ${who}", "Send", "You have ${count} open offers.", "Open", "Offers"}
    assert pot["Send"].auto_comments == ["a button"]
    assert "${n} offers" in capsys.readouterr().err  # the untranslatable paragraph
    po_path = pkg.po_path("et")
    assert po_path.is_file()
    assert i18n_tools.check(pkg)  # nothing is translated yet

    po_text = po_path.read_text(encoding="utf-8")
    for msgid, msgstr in (("Hello ${who}", "Tere, ${who}"), ("Send", "Saada"),
                          ("You have ${count} open offers.", "Sul on ${count} avatud pakkumist."),
                          ("Open", "Ava"), ("Offers", "Pakkumised")):
        po_text = po_text.replace(f'msgid "{msgid}"\nmsgstr ""',
                                  f'msgid "{msgid}"\nmsgstr "{msgstr}"')
    po_path.write_text(po_text, encoding="utf-8")
    assert i18n_tools.main(["compile", str(pkg_dir)]) == 0
    with pkg.mo_path("et").open("rb") as f:
        assert gettext.GNUTranslations(f).gettext("Send") == "Saada"
    problems = [str(p) for p in i18n_tools.check(pkg)]
    assert len(problems) == 1 and "${n} offers" in problems[0]
    # Running again changes nothing.
    before = {p: p.read_bytes() for p in pkg.locale_dir.rglob("*") if p.is_file()}
    assert i18n_tools.main(["all", str(pkg_dir)]) == 0
    assert before == {p: p.read_bytes() for p in pkg.locale_dir.rglob("*") if p.is_file()}


# --- (b) The language of the UI ---------------------------------------------------------


def _lang(page: Any) -> str | None:
    match = re.search(r'<html\s[^>]*\blang="([^"]*)"', page.text)
    return match.group(1) if match else None


def _csrf(page: Any) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_login_page_is_estonian_by_default(browser, tenant):
    page = browser(tenant).get("/login")
    assert _lang(page) == "et"
    assert "<title>Sisselogimine · Kliendihaldus</title>" in page.text
    assert "Logi sisse Kliendihaldusse" in page.text
    assert ">Logi sisse</button>" in page.text
    assert ">E-post<" in page.text and ">Parool<" in page.text
    assert 'aria-label="Keel"' in page.text
    assert "Log in" not in page.text


def test_tenant_default_language_english(browser, make_tenant):
    english = make_tenant("Baltic Ltd", host="baltic.test", plugins=[], locale="en")
    page = browser(english).get("/login")
    assert _lang(page) == "en"
    assert "Log in to Kliendihaldus" in page.text


def test_dashboard_in_estonian(browser, tenant, make_user):
    user = make_user(tenant, "admin", name="Mari Tamm")
    page = browser(tenant, user).get("/")
    assert "<title>Esileht · Acme OÜ</title>" in page.text
    assert "Tere, Mari!" in page.text
    assert ">Tere tulemast</h2>" in page.text
    assert "Oled sisse loginud ettevõttesse <strong>Acme OÜ</strong>." in page.text
    assert ">Minu konto</a>" in page.text
    assert ">Logi välja</button>" in page.text
    assert ">Moodulid</a>" in page.text and ">Kasutajad</a>" in page.text
    assert 'aria-label="Peamenüü"' in page.text
    assert "Front page" not in page.text and "Log out" not in page.text


def test_language_switch_is_stored_on_the_user(app, browser, tenant, make_user, dbsession):
    user = make_user(tenant, "sales", name="Jaan Kask")
    b = browser(tenant, user)
    page = b.get("/account")
    assert "<h1 class=\"page-title\">Minu konto</h1>" in page.text
    response = b.post("/language", {"csrf_token": _csrf(page), "lang": "en",
                                    "next": "/account"}, status=303)
    assert response.location == "http://acme.test/account"
    page = response.follow()
    assert _lang(page) == "en"
    assert "<h1 class=\"page-title\">My account</h1>" in page.text
    assert ">Log out</button>" in page.text
    assert dbsession.scalar(sa.select(User.locale).where(User.id == user.id)) == "en"

    b.post("/logout", {"csrf_token": _csrf(page)}, status=303)
    # A new browser has no language cookie: the login page speaks the tenant's Estonian,
    # and after logging in the user's own choice wins.
    other = browser(tenant)
    assert "Logi sisse Kliendihaldusse" in other.get("/login").text
    page = other.login(user.email)
    assert "Good day, Jaan!" in page.text
    assert _lang(page) == "en"


def test_unknown_language_is_refused(browser, tenant, make_user, dbsession):
    user = make_user(tenant, "sales")
    b = browser(tenant, user)
    page = b.get("/")
    response = b.post("/language", {"csrf_token": _csrf(page), "lang": "de", "next": "/"},
                      status=303)
    assert "Tundmatu keel." in response.follow().text
    assert dbsession.scalar(sa.select(User.locale).where(User.id == user.id)) is None


def test_language_link_switches_an_anonymous_visitor(browser, tenant):
    b = browser(tenant)
    page = b.get("/login?next=/admin/users")
    assert "Logi sisse Kliendihaldusse" in page.text
    response = page.click(href=r"lang=en")
    assert response.status_int == 303
    assert response.location == "http://acme.test/login?next=%2Fadmin%2Fusers"
    page = response.follow()
    assert "Log in to Kliendihaldus" in page.text
    assert ">Log in</button>" in page.text
    assert "Log in to Kliendihaldus" in b.get("/login").text  # remembered in a cookie
    page = b.get("/login").click(href=r"lang=et").follow()
    assert "Logi sisse Kliendihaldusse" in page.text


def test_form_errors_are_in_the_page_language(browser, tenant):
    b = browser(tenant)
    form = b.get("/login").forms[0]
    page = form.submit()
    assert page.text.count("Nõutav väli.") == 2
    assert "This field is required." not in page.text
    form = page.forms[0]
    form["email"] = "not-an-address"
    form["password"] = "x"
    assert "Sisesta kehtiv e-posti aadress." in form.submit().text
    b.get("/login?lang=en")
    page = b.get("/login").forms[0].submit()
    assert page.text.count("This field is required.") == 2


class _Texts(HTMLParser):
    """Text nodes and translatable attribute values of a page, whitespace-normalised.

    Scripts, code and ``<dl>`` (the audit log's recorded field names and values) are data,
    not UI text, and are skipped.
    """

    SKIP = ("script", "style", "code", "dl")

    def __init__(self) -> None:
        super().__init__()
        self.texts: set[str] = set()
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "alt", "placeholder") and value:
                self.texts.add(" ".join(value.split()))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            text = " ".join(data.split())
            if text:
                self.texts.add(text)
                self.texts.update(part.strip() for part in text.split("·"))


def _english_left(page_text: str, estonian: Any) -> set[str]:
    english = {m.id for m in estonian
               if m.id and m.string and m.string != m.id and "${" not in m.id}
    parser = _Texts()
    parser.feed(page_text)
    return parser.texts & english


def test_core_pages_show_no_english_in_estonian(browser, make_tenant, make_user, estonian):
    company = make_tenant("Kuusk OÜ", host="kuusk.test", plugins=[])
    admin = make_user(company, "admin", name="Mari Tamm")
    b = browser(company, admin)
    pages = ["/", "/account", "/account/tokens", "/admin/modules", "/admin/users",
             "/admin/users/new", f"/admin/users/{admin.id}", "/admin/roles", "/admin/audit",
             "/admin/outbox"]
    for path in pages:
        page = b.get(path)
        assert _lang(page) == "et", path
        assert _english_left(page.text, estonian) == set(), path
    # The token list and the one-time secret notice.
    page = b.get("/account/tokens")
    form = next(f for f in page.forms.values() if "name" in f.fields)
    form["name"] = "Raamatupidamise eksport"
    page = form.submit()
    assert "Kopeeri uus võti kohe." in page.text
    assert ">Algus</th>" in page.text and ">Muuda kehtetuks</button>" in page.text
    assert _english_left(page.text, estonian) == set()
    page = b.get("/no/such/page", status=404)
    assert "Lehte ei leitud" in page.text
    assert _english_left(page.text, estonian) == set()
    # A flash message after saving the account form.
    page = b.get("/account")
    form = next(f for f in page.forms.values() if "birthday" in f.fields)
    page = form.submit(status=303).follow()
    assert "Sinu seaded on salvestatud." in page.text
    # The same check finds the English texts once the user switches to English.
    b.post("/language", {"csrf_token": _csrf(page), "lang": "en", "next": "/"}, status=303)
    assert {"Front page", "Log out", "Welcome"} <= _english_left(b.get("/").text, estonian)


# --- (c) Formatting ---------------------------------------------------------------------


@contextmanager
def app_request(app: Any, host: str, language: str | None = None) -> Iterator[Request]:
    """A request of the real application (tenant by host), as a view would get it."""
    headers = {"Cookie": f"kh_lang={language}"} if language else {}
    request = Request.blank("/", base_url=f"http://{host}", headers=headers)
    env = prepare(request=request, registry=app.registry)
    request.tm.begin()
    try:
        yield request
    finally:
        request.tm.abort()
        env["closer"]()


def test_money_is_formatted_for_the_language(app, tenant):
    with app_request(app, "acme.test") as request:
        assert request.locale_name == "et"
        assert request.format_money(Decimal("1234.56")) == "1\xa0234,56\xa0€"
        assert request.format_money(0) == "0,00\xa0€"
        assert request.format_money(None) == ""
        with pytest.raises(TypeError):
            request.format_money(1234.56)
        assert request.format_number(Decimal("1234.5"), 2) == "1\xa0234,50"
    with app_request(app, "acme.test", "en") as request:
        assert request.locale_name == "en"
        assert request.format_money(Decimal("1234.56")) == "€1,234.56"
        with pytest.raises(TypeError):
            request.format_money(0.1)
        assert request.format_number(Decimal("1234.5"), 2) == "1,234.50"


def test_dates_use_the_tenant_zone_and_month_names(app, tenant):
    moment = dt.datetime(2026, 6, 30, 22, 30, tzinfo=dt.UTC)  # 1 July 01:30 in Tallinn
    with app_request(app, "acme.test") as request:
        assert request.tenant.timezone == "Europe/Tallinn"
        assert request.format_date(moment, "long") == "1. juuli 2026"
        assert request.format_date(moment, "full") == "kolmapäev, 1. juuli 2026"
        assert request.format_date(dt.date(2026, 12, 24), "long") == "24. detsember 2026"
        assert request.format_datetime(moment) == "1. juuli 2026 01:30:00"
        assert request.format_datetime(moment, "short") == "01.07.26 01:30"
        assert request.format_date(None) == "" and request.format_datetime(None) == ""
    with app_request(app, "acme.test", "en") as request:
        assert request.format_date(moment, "long") == "July 1, 2026"
        assert request.format_date(moment, "full") == "Wednesday, July 1, 2026"
        assert request.format_datetime(moment, "long").startswith("July 1, 2026")
        assert "1:30" in request.format_datetime(moment, "long")


def test_translate_fills_placeholders(app, tenant):
    from core.i18n import _

    message = _("User ${name} was created.", mapping={"name": "Mari"})
    with app_request(app, "acme.test") as request:
        assert request.translate(message) == "Kasutaja Mari on loodud."
        assert request.translate(_("At most ${n} characters."), {"n": 5}) == (
            "Lubatud on kuni 5 märki.")
        assert request.translate("plain text") == "plain text"
    with app_request(app, "acme.test", "en") as request:
        assert request.translate(message) == "User Mari was created."
