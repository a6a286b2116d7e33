"""Import of clients and their contact persons from CSV or XLSX files (issue item 9).

The import runs in four steps: the file is read into rows (:func:`read_file`) and kept
server-side between the steps (:class:`ImportStore`); the user maps each column to a field
(:data:`FIELDS`); :func:`make_plan` says per line what would happen, without writing
anything; :func:`apply_plan` writes exactly that plan in the request's transaction.

Matching: a line updates an existing client found by registry code, then VAT number,
then e-mail. A line whose identifiers point to two different clients, or to a client
whose own code differs, is an error, and so is a line without identifiers whose name
equals an existing client that its codes cannot tell apart: the import never creates a
silent duplicate. Empty cells never clear existing values. Two lines of the file for the
same client are an error too (put several contact persons of a client in the register
afterwards, or import them in a second file).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import secrets
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pyramid.request import Request
from sqlalchemy.orm import Session, selectinload

from core.db import utcnow
from core.forms import EMAIL_RE, Invalid
from core.models import User
from plugins.crm_register import identifiers
from plugins.crm_register.access import own_clients_only, visible_client_ids
from plugins.crm_register.clients import (
    apply_search_text,
    refresh_person_search,
    replace_search_tokens,
)
from plugins.crm_register.i18n import _
from plugins.crm_register.models import (
    Address,
    Client,
    ClientGroup,
    ClientGroupLink,
    ClientPerson,
    ClientType,
    Counter,
    Person,
)
from plugins.crm_register.numbering import next_number
from plugins.crm_register.search import fold

MAX_BYTES = 10 * 1024 * 1024
"""The largest file accepted (10 MB)."""
MAX_ROWS = 20_000
"""The most data lines accepted in one file."""
MAX_COLUMNS = 100
MAX_CELL = 5000
MAPPING_SETTING = "crm_register.import_mapping"
"""Key in ``Tenant.settings``: the mapping of the last finished import,
``{"columns": {folded header: field key or ""}, "address_kind": "billing"}``."""
STATE_MAX_AGE = dt.timedelta(hours=24)


class FileRefused(Exception):
    """The uploaded file cannot be imported; the argument is a translation string."""


# --- the fields a column can be mapped to ---------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A field a file column can be mapped to."""

    key: str
    label: Any
    part: str  # client, address or contact
    max_length: int = 200
    guesses: tuple[str, ...] = ()


FIELDS: tuple[Target, ...] = (
    Target("name", _("Name"), "client", 200, ("nimi", "nimetus", "name", "kliendi nimi",
                                             "ettevotte nimi", "company", "client", "klient")),
    Target("kind", _("Client is (company / person)"), "client", 20,
           ("liik isik", "isiku liik", "kind", "tuup", "type of client")),
    Target("registry_code", _("Registry code / personal code"), "client", 20,
           ("registrikood", "reg kood", "reg. kood", "registry code", "isikukood",
            "kood", "code")),
    Target("vat_number", _("VAT number (KMKR)"), "client", 20,
           ("kmkr", "km kood", "kmkr nr", "vat", "vat number", "kaibemaksukohustuslase number")),
    Target("iban", _("Bank account (IBAN)"), "client", 42,
           ("iban", "arveldusarve", "pangakonto", "a/a", "bank account")),
    Target("phone", _("Phone"), "client", 50, ("telefon", "tel", "phone")),
    Target("mobile", _("Mobile"), "client", 50, ("mobiil", "mobile", "gsm")),
    Target("fax", _("Fax"), "client", 50, ("faks", "fax")),
    Target("email", _("E-mail"), "client", 254,
           ("e-post", "epost", "e-mail", "email", "meil", "e-kiri")),
    Target("invoice_email", _("E-mail for invoices"), "client", 254,
           ("arve e-post", "e-arve", "invoice e-mail", "invoice email")),
    Target("website", _("Website"), "client", 200, ("koduleht", "veeb", "website", "www")),
    Target("notes", _("Notes"), "client", MAX_CELL, ("markused", "markmed", "notes", "info")),
    Target("client_type", _("Client type"), "client", 100,
           ("kliendiliik", "kliendi liik", "client type")),
    Target("groups", _("Client groups (comma-separated)"), "client", 1000,
           ("kliendigrupp", "kliendigrupid", "grupp", "grupid", "groups", "group")),
    Target("salesperson", _("Responsible salesperson (e-mail or name)"), "client", 254,
           ("muugiesindaja", "vastutaja", "salesperson", "muuja")),
    Target("email_consent", _("Agrees to receive newsletters (yes/no)"), "client", 10,
           ("uudiskiri", "nousolek", "newsletter", "consent")),
    Target("street", _("Address: street"), "address", 200,
           ("aadress", "tanav", "address", "street")),
    Target("city", _("Address: city or parish"), "address", 100,
           ("linn", "vald", "linn vald", "asula", "city")),
    Target("county", _("Address: county"), "address", 100, ("maakond", "county")),
    Target("postal_code", _("Address: postal code"), "address", 20,
           ("postiindeks", "indeks", "postal code", "zip")),
    Target("country", _("Address: country"), "address", 50, ("riik", "country")),
    Target("contact_name", _("Contact: full name"), "contact", 200,
           ("kontaktisik", "kontakt", "contact", "contact person")),
    Target("contact_first_name", _("Contact: first name"), "contact", 100,
           ("eesnimi", "first name")),
    Target("contact_last_name", _("Contact: last name"), "contact", 100,
           ("perekonnanimi", "perenimi", "last name")),
    Target("contact_title", _("Contact: job title"), "contact", 100,
           ("ametikoht", "amet", "job title", "title")),
    Target("contact_role", _("Contact: role at the client"), "contact", 100,
           ("roll", "role")),
    Target("contact_phone", _("Contact: phone"), "contact", 50,
           ("kontakti telefon", "contact phone")),
    Target("contact_mobile", _("Contact: mobile"), "contact", 50,
           ("kontakti mobiil", "contact mobile")),
    Target("contact_email", _("Contact: e-mail"), "contact", 254,
           ("kontakti e-post", "kontaktisiku e-post", "contact e-mail", "contact email")),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}
CLIENT_COPY = ("name", "registry_code", "vat_number", "iban", "phone", "mobile", "fax",
               "email", "invoice_email", "website", "notes")
ADDRESS_KEYS = ("street", "city", "county", "postal_code", "country")
PERSON_COPY = ("first_name", "last_name", "title", "phone", "mobile", "email")

KIND_WORDS = {
    "company": "company", "ettevote": "company", "firma": "company", "organisatsioon":
    "company", "juriidiline isik": "company", "organisation": "company",
    "organization": "company", "business": "company", "jur": "company",
    "person": "person", "eraisik": "person", "isik": "person", "fuusiline isik": "person",
    "private person": "person", "private": "person", "individual": "person", "fys": "person",
}
YES_WORDS = {"1", "jah", "yes", "true", "x", "on", "y", "j"}
NO_WORDS = {"0", "ei", "no", "false", "off", "n", "e"}
COUNTRY_WORDS = {"eesti": "EE", "estonia": "EE", "soome": "FI", "finland": "FI", "lati": "LV",
                 "latvia": "LV", "leedu": "LT", "lithuania": "LT", "rootsi": "SE",
                 "sweden": "SE", "saksamaa": "DE", "germany": "DE"}


def guess_mapping(headers: Sequence[str], remembered: Mapping[str, str] | None = None
                  ) -> list[str]:
    """A field key (or ``""`` to ignore) for each header: the remembered mapping first,
    then a guess from the header text; a field is used for one column at most."""
    remembered = remembered or {}
    result: list[str] = []
    used: set[str] = set()
    for header in headers:
        key = fold(header)
        guess = next((f.key for f in FIELDS if f.key not in used and (
            key in f.guesses or key == fold(f.key.replace("_", " ")))), "")
        choice = remembered.get(key, guess)  # "" remembered: the column was ignored
        if choice and (choice not in FIELD_BY_KEY or choice in used):
            choice = guess
        if choice:
            used.add(choice)
        result.append(choice)
    return result


# --- reading the file ------------------------------------------------------------------------


@dataclass
class Sheet:
    """The table of an uploaded file: header texts and data lines with their line numbers."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]


def read_file(filename: str, data: bytes) -> Sheet:
    """Read a CSV (UTF-8, ``;`` or ``,``) or XLSX file; raise :class:`FileRefused`."""
    if not data:
        raise FileRefused(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise FileRefused(_("The file is larger than 10 MB."))
    name = (filename or "").lower()
    is_zip = data[:4] == b"PK\x03\x04"
    if name.endswith(".xlsx"):
        if not is_zip:
            raise FileRefused(_("This is not a valid XLSX file."))
        sheet = _read_xlsx(data)
    elif name.endswith((".csv", ".txt")):
        if is_zip or b"\x00" in data[:4096]:
            raise FileRefused(_("This is not a CSV text file."))
        sheet = _read_csv(data)
    else:
        raise FileRefused(_("Choose a CSV or XLSX file (.csv or .xlsx)."))
    if not any(h.strip() for h in sheet.headers):
        raise FileRefused(_("The first line must hold the column names."))
    if not sheet.rows:
        raise FileRefused(_("The file has no data lines under the column names."))
    return sheet


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return " ".join(str(value).replace("\xa0", " ").split())


def _sheet(lines: Iterable[tuple[int, Sequence[Any]]]) -> Sheet:
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, raw in lines:
        cells = [_cell(v)[:MAX_CELL] for v in raw]
        if headers is None:
            if not any(cells):
                continue  # blank lines above the header
            if len(cells) > MAX_COLUMNS:
                raise FileRefused(_("The file has more than 100 columns."))
            while cells and not cells[-1]:
                cells.pop()
            headers = [c or f"#{i + 1}" for i, c in enumerate(cells)]
            continue
        if not any(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise FileRefused(_("The file has more than 20 000 lines; split it into parts."))
        width = len(headers)
        rows.append((number, (cells + [""] * width)[:width]))
    return Sheet(headers or [], rows)


def _read_csv(data: bytes) -> Sheet:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(_("The CSV file must be in UTF-8 (in Excel: Save as "
                            "\"CSV UTF-8\").")) from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _sheet((reader.line_num, row) for row in reader)
    except csv.Error:
        raise FileRefused(_("The CSV file is damaged (check the quotation marks).")) from None


def _read_xlsx(data: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        raise FileRefused(_("This is not a valid XLSX file.")) from None
    except Exception:  # openpyxl raises its own errors for broken workbooks
        raise FileRefused(_("This is not a valid XLSX file.")) from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise FileRefused(_("The workbook has no sheets."))
        lines = ((number, row[:MAX_COLUMNS + 1]) for number, row in
                 enumerate(sheet.iter_rows(values_only=True), start=1))
        return _sheet(lines)
    except FileRefused:
        raise
    except Exception:
        raise FileRefused(_("This is not a valid XLSX file.")) from None
    finally:
        workbook.close()


# --- keeping the file between the steps ------------------------------------------------------

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class ImportStore:
    """Uploaded tables kept as JSON files between the steps of an import.

    Files live under ``<storage.path>/crm_import/<tenant id>/<token>.json`` (the system's
    temporary folder when ``storage.path`` is not set); the token is random and the file
    records the user, so another user (or tenant) cannot open it. Files older than a day
    are removed at the next upload; a finished import removes its own file, so a second
    click on "Import" cannot import twice.
    """

    def __init__(self, root: str | os.PathLike[str], tenant_id: int) -> None:
        self.folder = Path(root) / "crm_import" / str(int(tenant_id))

    @classmethod
    def for_request(cls, request: Request) -> ImportStore:
        """The store of the request's tenant under the ``storage.path`` setting."""
        root = request.registry.settings.get("storage.path") or os.path.join(
            tempfile.gettempdir(), "kliendihaldus")
        return cls(root, request.tenant.id)

    def _path(self, token: str) -> Path | None:
        if not TOKEN_RE.match(token or ""):
            return None
        return self.folder / f"{token}.json"

    def create(self, state: dict[str, Any]) -> str:
        """Store a new import state; returns its token."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.cleanup()
        token = secrets.token_urlsafe(24)
        self.save(token, state)
        return token

    def save(self, token: str, state: dict[str, Any]) -> None:
        """Write ``state`` under ``token`` atomically."""
        path = self._path(token)
        if path is None:
            raise ValueError("bad import token")
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state, handle, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, token: str, user_id: int) -> dict[str, Any] | None:
        """The state of ``token`` if it belongs to ``user_id`` and is not expired."""
        path = self._path(token)
        if path is None or not path.is_file():
            return None
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        created = dt.datetime.fromisoformat(state.get("created", "2000-01-01T00:00:00+00:00"))
        if state.get("user_id") != user_id or utcnow() - created > STATE_MAX_AGE:
            return None
        return state

    def delete(self, token: str) -> None:
        """Forget the import ``token``."""
        path = self._path(token)
        if path is not None:
            path.unlink(missing_ok=True)
            path.with_suffix(".running").unlink(missing_ok=True)

    def claim(self, token: str, user_id: int) -> dict[str, Any] | None:
        """Take the import for running: an atomic rename, so that of two simultaneous
        confirmations only one gets the state (the other gets None)."""
        state = self.load(token, user_id)
        path = self._path(token)
        if state is None or path is None:
            return None
        try:
            os.replace(path, path.with_suffix(".running"))  # atomic: one caller wins
        except OSError:
            return None  # claimed by another request meanwhile, or gone
        return state

    def release(self, token: str) -> None:
        """Give a claimed import back (its transaction was rolled back)."""
        path = self._path(token)
        if path is None:
            return
        try:
            os.replace(path.with_suffix(".running"), path)
        except OSError:
            return

    def cleanup(self) -> None:
        """Remove imports older than a day (abandoned ones)."""
        limit = utcnow().timestamp() - STATE_MAX_AGE.total_seconds()
        for path in self.folder.glob("*"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink(missing_ok=True)
            except OSError:
                continue


def new_state(user_id: int, filename: str, sheet: Sheet) -> dict[str, Any]:
    """The JSON-able import state right after the upload."""
    return {"user_id": user_id, "created": utcnow().isoformat(), "filename": filename,
            "headers": sheet.headers, "rows": [[n, cells] for n, cells in sheet.rows],
            "mapping": None, "address_kind": "billing"}


# --- the plan --------------------------------------------------------------------------------


@dataclass
class LinePlan:
    """What one line of the file does: its action, the changes and its errors."""

    line: int
    name: str
    action: str = "create"  # create, update, unchanged or error
    client_id: int | None = None
    client_number: int | None = None
    changes: list[Any] = field(default_factory=list)
    contact: str | None = None  # add or update
    contact_name: str = ""
    address: str | None = None  # add or update
    errors: list[Any] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    groups: list[int] = field(default_factory=list)
    address_values: dict[str, Any] = field(default_factory=dict)
    person_values: dict[str, Any] = field(default_factory=dict)
    role: str = ""
    contact_person_id: int | None = None
    address_id: int | None = None


@dataclass
class Plan:
    """The plan of a whole file."""

    lines: list[LinePlan]
    address_kind: str

    @property
    def errors(self) -> list[LinePlan]:
        """Lines with errors."""
        return [line for line in self.lines if line.errors]

    def count(self, action: str) -> int:
        """Lines with ``action``."""
        return sum(1 for line in self.lines if line.action == action)

    @property
    def contacts_added(self) -> int:
        """Contact persons that would be added."""
        return sum(1 for line in self.lines if line.contact == "add" and not line.errors)

    @property
    def contacts_updated(self) -> int:
        """Existing contact persons that would be changed."""
        return sum(1 for line in self.lines if line.contact == "update" and not line.errors)

    @property
    def fingerprint(self) -> str:
        """A digest of what the plan does (the confirmation must match the preview)."""
        parts = [[line.line, line.action, line.client_id, [str(c) for c in line.changes],
                  line.contact, line.address, line.contact_person_id, line.address_id]
                 for line in self.lines]
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]


def _check_email(value: str) -> str:
    if not EMAIL_RE.match(value):
        raise Invalid(_("Not a valid e-mail address: ${value}", mapping={"value": value}))
    return value.lower()


@dataclass
class _Lookups:
    groups: dict[str, int]
    types: dict[str, int]
    users: dict[str, int]


def _lookups(dbsession: Session) -> _Lookups:
    groups = {fold(g.name): g.id for g in dbsession.scalars(sa.select(ClientGroup))}
    types = {fold(t.name): t.id for t in dbsession.scalars(sa.select(ClientType))}
    users: dict[str, int] = {}
    for user in dbsession.scalars(sa.select(User).where(User.active.is_(True))):
        users[user.email.lower()] = user.id
        users.setdefault(fold(user.name), user.id)
    return _Lookups(groups, types, users)


def _clean(raw: dict[str, str], lookups: _Lookups, plan: LinePlan) -> None:
    """Validate and convert the mapped cells of a line into ``plan`` (errors included)."""
    errors = plan.errors
    too_long = [key for key, value in raw.items() if len(value) > FIELD_BY_KEY[key].max_length]
    for key in too_long:
        target = FIELD_BY_KEY[key]
        errors.append(_("${field}: at most ${n} characters.",
                        mapping={"field": target.label, "n": target.max_length}))
        raw[key] = ""
    values: dict[str, Any] = {}
    name = raw.get("name", "")
    if not name and "name" not in too_long:
        errors.append(_("The name is missing."))
    values["name"] = name
    kind = raw.get("kind", "")
    if kind:
        kind = KIND_WORDS.get(fold(kind), "")
        if not kind:
            errors.append(_("Client kind must be company or person (ettevõte / eraisik)."))
    code = raw.get("registry_code", "").replace(" ", "")
    if not kind and code:
        kind = "person" if len(code) == 11 else "company"
    if kind:
        values["kind"] = kind
    checks = (
        ("registry_code", identifiers.personal_code if kind == "person"
         else identifiers.registry_code),
        ("vat_number", identifiers.vat_number), ("iban", identifiers.iban),
        ("email", _check_email), ("invoice_email", _check_email),
    )
    for key, check in checks:
        value = raw.get(key, "")
        if key == "registry_code":
            value = code
        if not value:
            continue
        try:
            values[key] = check(value)
        except Invalid as exc:
            errors.append(exc.args[0])
    for key in ("phone", "mobile", "fax", "website", "notes"):
        if raw.get(key):
            values[key] = raw[key]
    if raw.get("client_type"):
        type_id = lookups.types.get(fold(raw["client_type"]))
        if type_id is None:
            errors.append(_("Unknown client type: ${value}",
                            mapping={"value": raw["client_type"]}))
        values["client_type_id"] = type_id
    if raw.get("groups"):
        for part in re.split(r"[,;]", raw["groups"]):
            if not part.strip():
                continue
            group_id = lookups.groups.get(fold(part))
            if group_id is None:
                errors.append(_("Unknown client group: ${value}", mapping={"value": part.strip()}))
            elif group_id not in plan.groups:
                plan.groups.append(group_id)
    if raw.get("salesperson"):
        who = raw["salesperson"]
        user_id = lookups.users.get(who.lower()) or lookups.users.get(fold(who))
        if user_id is None:
            errors.append(_("Unknown salesperson: ${value}", mapping={"value": who}))
        values["salesperson_id"] = user_id
    if raw.get("email_consent"):
        word = fold(raw["email_consent"])
        if word in YES_WORDS:
            values["email_consent"] = True
        elif word in NO_WORDS:
            values["email_consent"] = False
        else:
            errors.append(_("Newsletter consent must be yes or no (jah / ei)."))
    plan.values = values
    _clean_address(raw, plan)
    _clean_contact(raw, plan)


def _clean_address(raw: dict[str, str], plan: LinePlan) -> None:
    address = {key: raw.get(key, "") for key in ADDRESS_KEYS if raw.get(key)}
    if not address:
        return
    if not address.get("street"):
        plan.errors.append(_("An address needs the street."))
        return
    country = address.get("country", "EE")
    country = COUNTRY_WORDS.get(fold(country), country.upper())
    if not (len(country) == 2 and country.isalpha()):
        plan.errors.append(_("Country: two letters, e.g. EE, FI, LV."))
    address["country"] = country
    plan.address_values = address


def _clean_contact(raw: dict[str, str], plan: LinePlan) -> None:
    keys = [f.key for f in FIELDS if f.part == "contact"]
    if not any(raw.get(key) for key in keys):
        return
    first, last = raw.get("contact_first_name", ""), raw.get("contact_last_name", "")
    full = raw.get("contact_name", "")
    if full and not (first or last):
        parts = full.rsplit(" ", 1)
        first, last = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    if not last:
        plan.errors.append(_("The contact person needs a last name."))
        return
    person: dict[str, Any] = {"first_name": first[:100], "last_name": last[:100]}
    for key in ("title", "phone", "mobile"):
        if raw.get(f"contact_{key}"):
            person[key] = raw[f"contact_{key}"]
    if raw.get("contact_email"):
        try:
            person["email"] = _check_email(raw["contact_email"])
        except Invalid as exc:
            plan.errors.append(exc.args[0])
    plan.person_values = person
    plan.role = raw.get("contact_role", "")
    plan.contact_name = f"{first} {last}".strip()


def _chunks(values: Sequence[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield list(values[start:start + size])


BULK_THRESHOLD = 500
"""Above this many ids, rows are read for the whole tenant and picked in Python: one scan
instead of many ``IN (...)`` queries (which PostgreSQL may plan badly right after a large
import, before its statistics know the new rows)."""


def _rows_for(dbsession: Session, stmt: sa.Select[Any], column: Any, ids: Sequence[int],
              key: Callable[[Any], int]) -> list[Any]:
    """The rows of ``stmt`` whose ``column`` (``key(row)`` in Python) is one of ``ids``."""
    if not ids:
        return []
    if len(ids) > BULK_THRESHOLD:
        wanted = set(ids)
        return [row for row in dbsession.execute(stmt) if key(row) in wanted]
    rows: list[Any] = []
    for chunk in _chunks(list(ids)):
        rows.extend(dbsession.execute(stmt.where(column.in_(chunk))))
    return rows


def _existing(dbsession: Session, lines: list[LinePlan]) -> dict[str, dict[str, list[Client]]]:
    """Existing clients (of every salesperson) by registry code, VAT number, e-mail, name."""
    found: dict[str, dict[str, list[Client]]] = {"registry_code": {}, "vat_number": {},
                                                 "email": {}, "name": {}}
    wanted = {key: {line.values[key] for line in lines if line.values.get(key)}
              for key in IDENTITY}
    wanted["name"] = {fold(line.values["name"]) for line in lines if line.values.get("name")}
    hits: list[tuple[str, str, int]] = []
    keys = sa.select(Client.id, Client.registry_code, Client.vat_number, Client.email,
                     Client.name_search)
    for row in dbsession.execute(keys):  # one pass over the tenant's clients
        for key, value in zip((*IDENTITY, "name"), row[1:], strict=True):
            if value and value in wanted[key]:
                hits.append((key, value, row.id))
    ids = sorted({client_id for _key, _value, client_id in hits})
    clients = {row[0].id: row[0] for row in _rows_for(
        dbsession, sa.select(Client), Client.id, ids, lambda row: row[0].id)}
    for key, value, client_id in hits:
        found[key].setdefault(value, []).append(clients[client_id])
    return found


IDENTITY = ("registry_code", "vat_number", "email")
CHANGE_LABELS = {f.key: f.label for f in FIELDS}
CHANGE_LABELS.update({"client_type_id": FIELD_BY_KEY["client_type"].label,
                      "salesperson_id": FIELD_BY_KEY["salesperson"].label,
                      "groups": FIELD_BY_KEY["groups"].label})


def _match(line: LinePlan, existing: dict[str, dict[str, list[Client]]],
           visible: set[int]) -> Client | None:
    """The existing client of the line, or None; adds an error when it is ambiguous.

    Clients the user may not see are not described (neither number nor name)."""
    matched: list[Client] = []
    for key in IDENTITY:
        value = line.values.get(key)
        if not value:
            continue
        hits = existing[key].get(value, [])
        if len(hits) > 1:
            line.errors.append(_("Several clients in the register have the e-mail ${value}.",
                                 mapping={"value": value}))
            return None
        for client in hits:
            if client not in matched:
                matched.append(client)
    if any(client.id not in visible for client in matched):
        line.errors.append(_("The line matches a client that is not yours."))
        return None
    if len(matched) > 1:
        line.errors.append(_(
            "The line matches two different clients (no. ${a} and no. ${b}) by registry code, "
            "VAT number or e-mail.", mapping={"a": matched[0].number, "b": matched[1].number}))
        return None
    if matched:
        client = matched[0]
        for key in ("registry_code", "vat_number"):
            mine, theirs = line.values.get(key), getattr(client, key)
            if mine and theirs and mine != theirs:
                line.errors.append(_(
                    "The line matches client no. ${n} (${name}), whose ${field} is different.",
                    mapping={"n": client.number, "name": client.name,
                             "field": CHANGE_LABELS[key]}))
                return None
        return client
    for client in existing["name"].get(fold(line.values.get("name")), []):
        conflict = any(line.values.get(key) and getattr(client, key)
                       and line.values[key] != getattr(client, key) for key in IDENTITY)
        if not conflict and client.id not in visible:
            line.errors.append(_(
                "A client with this name already exists (not one of yours). Give its "
                "registry code, VAT number or e-mail in the file to tell them apart."))
            return None
        if not conflict:
            line.errors.append(_(
                "A client with this name already exists (no. ${n}). Give its registry code, "
                "VAT number or e-mail in the file (or add them to the client) to update it.",
                mapping={"n": client.number}))
            return None
    return None


def _same_client_keys(line: LinePlan) -> list[str]:
    keys = [f"{key}:{line.values[key]}" for key in IDENTITY if line.values.get(key)]
    if line.client_id is not None:
        keys.append(f"id:{line.client_id}")
    if not keys and line.values.get("name"):
        keys.append(f"name:{fold(line.values['name'])}")
    return keys


def make_plan(request: Request, state: Mapping[str, Any]) -> Plan:
    """What importing the stored file with its mapping would do; writes nothing."""
    dbsession = request.dbsession
    mapping: list[str] = state["mapping"]
    lookups = _lookups(dbsession)
    lines: list[LinePlan] = []
    for number, cells in state["rows"]:
        raw = {key: cells[i] for i, key in enumerate(mapping) if key and i < len(cells)}
        line = LinePlan(line=number, name=raw.get("name", ""))
        _clean(raw, lookups, line)
        lines.append(line)
    existing = _existing(dbsession, lines)
    visible = set(dbsession.scalars(visible_client_ids(request)))
    seen: dict[str, int] = {}
    matched_clients: dict[int, Client] = {}
    for line in lines:
        client = _match(line, existing, visible) if not line.errors else None
        if client is not None:
            line.client_id, line.client_number = client.id, client.number
            matched_clients[client.id] = client
        for key in _same_client_keys(line):
            if key in seen:
                line.errors.append(_("Line ${a} is for the same client as line ${b}.",
                                     mapping={"a": line.line, "b": seen[key]}))
                break
        for key in _same_client_keys(line):
            seen.setdefault(key, line.line)
    _plan_changes(request, lines, matched_clients, state.get("address_kind") or "billing")
    for line in lines:
        if line.errors:
            line.action = "error"
    return Plan(lines, state.get("address_kind") or "billing")


def _plan_changes(request: Request, lines: list[LinePlan], clients: dict[int, Client],
                  address_kind: str) -> None:
    dbsession = request.dbsession
    ids = list(clients)
    links: dict[int, list[ClientPerson]] = {}
    addresses: dict[int, list[Address]] = {}
    groups: dict[int, set[int]] = {}
    link_rows = _rows_for(dbsession, sa.select(ClientPerson).options(
        selectinload(ClientPerson.person)), ClientPerson.client_id, ids,
        lambda row: row[0].client_id)
    for (link,) in link_rows:
        links.setdefault(link.client_id, []).append(link)
    address_rows = _rows_for(dbsession, sa.select(Address).where(Address.kind == address_kind)
                             .order_by(Address.id), Address.client_id, ids,
                             lambda row: row[0].client_id)
    for (address,) in address_rows:
        addresses.setdefault(address.client_id, []).append(address)
    group_rows = _rows_for(dbsession, sa.select(ClientGroupLink.client_id,
                                                ClientGroupLink.group_id),
                           ClientGroupLink.client_id, ids, lambda row: row[0])
    for client_id, group_id in group_rows:
        groups.setdefault(client_id, set()).add(group_id)
    limited = own_clients_only(request)
    for line in lines:
        if line.errors:
            continue
        if line.client_id is None:
            line.action = "create"
            if "salesperson_id" not in line.values and limited:
                line.values["salesperson_id"] = request.user.id
            if line.person_values:
                line.contact = "add"
            if line.address_values:
                line.address = "add"
            continue
        client = clients[line.client_id]
        for key, value in line.values.items():
            if key == "kind":
                continue
            if getattr(client, key) != value:
                line.changes.append(CHANGE_LABELS.get(key, key))
        if set(line.groups) - groups.get(client.id, set()):
            line.changes.append(CHANGE_LABELS["groups"])
        if line.address_values:
            current = addresses.get(client.id, [])
            if not current:
                line.address = "add"
            else:
                line.address_id = current[0].id
                if any((getattr(current[0], k) or "") != v
                       for k, v in line.address_values.items()):
                    line.address = "update"
        if line.person_values:
            _plan_contact(line, links.get(client.id, []))
        line.action = "update" if (line.changes or line.address or line.contact) \
            else "unchanged"


def _plan_contact(line: LinePlan, links: list[ClientPerson]) -> None:
    wanted = line.person_values
    email = wanted.get("email")
    name = fold(f"{wanted['first_name']} {wanted['last_name']}")
    person = next((link.person for link in links if email and link.person.email == email),
                  None)
    if person is None:
        person = next((link.person for link in links if fold(link.person.full_name) == name),
                      None)
    if person is None:
        line.contact = "add"
        return
    line.contact_person_id = person.id
    if any((getattr(person, key) or "") != value for key, value in wanted.items()):
        line.contact = "update"


def reserve_numbers(dbsession: Session, series: str, count: int) -> list[int]:
    """``count`` consecutive numbers of ``series`` in one step.

    The same counter row as :func:`plugins.crm_register.numbering.next_number`, taken
    with one locked update instead of ``count`` (an import may add thousands of clients).
    """
    if count <= 0:
        return []
    first = next_number(dbsession, series)  # locks the counter row until the commit
    counter = dbsession.scalar(sa.select(Counter).where(Counter.name == series))
    counter.value = first + count - 1
    return list(range(first, first + count))


def apply_plan(request: Request, plan: Plan) -> dict[str, int]:
    """Write the plan (which must have no errors); returns the counts written.

    Objects are linked through relationships and flushed together, so a large file
    takes a few statements per line, not a flush per line.
    """
    dbsession = request.dbsession
    summary = {"created": 0, "updated": 0, "contacts_added": 0, "contacts_updated": 0}
    group_rows = {g.id: g for g in dbsession.scalars(sa.select(ClientGroup))}
    lines = [line for line in plan.lines if line.action in ("create", "update")]
    numbers = iter(reserve_numbers(dbsession, "client",
                                   sum(1 for line in lines if line.action == "create")))
    touched: list[Client] = []
    changed_people: list[Person] = []
    for line in lines:
        if line.action == "create":
            client = Client(number=next(numbers), name=line.values["name"],
                            kind=line.values.get("kind", "company"),
                            language=request.tenant.locale or "et")
            dbsession.add(client)
            summary["created"] += 1
        else:
            client = dbsession.get(Client, line.client_id)
            summary["updated"] += 1
        for key, value in line.values.items():
            if key == "kind" and line.action == "update":
                continue
            setattr(client, key, value)
        if line.groups:
            current = {g.id for g in client.groups} if line.action == "update" else set()
            for group_id in line.groups:
                if group_id not in current and group_id in group_rows:
                    client.groups.append(group_rows[group_id])
        if line.address_values:
            address = dbsession.get(Address, line.address_id) if line.address_id else None
            if address is None:
                address = Address(kind=plan.address_kind, street="")
                client.addresses.append(address)
            for key, value in line.address_values.items():
                setattr(address, key, value)
        if line.contact == "add":
            person = Person(last_name=line.person_values["last_name"])
            for key, value in line.person_values.items():
                setattr(person, key, value)
            person.name_search = fold(person.full_name)
            client.contacts.append(ClientPerson(person=person, role=line.role or ""))
            summary["contacts_added"] += 1
        elif line.contact == "update":
            person = dbsession.get(Person, line.contact_person_id)
            for key, value in line.person_values.items():
                setattr(person, key, value)
            changed_people.append(person)
            summary["contacts_updated"] += 1
        touched.append(client)
    dbsession.flush()
    for person in changed_people:  # also refreshes the person's other clients
        refresh_person_search(dbsession, person)
    refresh_search_many(dbsession, touched)
    dbsession.flush()
    return summary


def refresh_search_many(dbsession: Session, clients: list[Client]) -> None:
    """:func:`plugins.crm_register.clients.refresh_search` for many flushed clients, with
    one query per 500 clients for their contacts' names instead of one per client (on
    PostgreSQL a query per client is slow right after thousands of inserts, before the
    table statistics know the new rows)."""
    names: dict[int, list[str]] = {}
    for chunk in _chunks([c.id for c in clients]):
        rows = dbsession.execute(
            sa.select(ClientPerson.client_id, Person.name_search)
            .join(Person, Person.id == ClientPerson.person_id)
            .where(ClientPerson.client_id.in_(chunk)))
        for client_id, name in rows:
            names.setdefault(client_id, []).append(name)
    for client in clients:
        apply_search_text(client, names.get(client.id, []))
    replace_search_tokens(dbsession, clients)
