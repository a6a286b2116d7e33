"""Demo data of the client register (issue item 13): realistic Estonian clients.

:func:`create_demo_data` fills the demo tenant with about 200 clients (companies and some
private persons) whose registry codes, personal codes, VAT numbers and IBANs pass the same
checks as the client form (python-stdnum, schwifty), with contact persons (some of them
board members of two companies), addresses in real towns, relations, sales projects, about
1500 activities over the past six months and the next four weeks (some today for the demo
administrator, so the front page has something to show), announcements and, when a file
storage is given, a few registered documents with a small generated file.

Everything is drawn from a seeded :class:`random.Random`, so two loads on the same day give
the same data; dates are relative to the day of loading. The word lists are also used by
``bench/crm_dataset.py`` for the large benchmark data set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from schwifty import IBAN
from sqlalchemy.orm import Session
from stdnum.ee import ik, kmkr, registrikood

from core.db import utcnow
from core.models import Tenant, User
from plugins.crm_register.clients import refresh_person_search, refresh_search
from plugins.crm_register.models import (
    Activity,
    ActivityItem,
    ActivityType,
    Address,
    Announcement,
    CatalogueItem,
    Client,
    ClientGroup,
    ClientPerson,
    ClientType,
    Counter,
    Document,
    DocumentType,
    DocumentVersion,
    Person,
    Project,
    Relation,
)
from plugins.crm_register.numbering import next_number
from plugins.crm_register.search import fold

SEED = 20261123
COMPANIES = 180
PRIVATE_PERSONS = 20
ACTIVITIES = 1500
PAST_DAYS = 182
FUTURE_DAYS = 28
DEMO_ADMIN = "mari.tamm@demo.ee"

# --- word lists -----------------------------------------------------------------------------

NAME_STEMS = (
    "Põldma", "Tartu", "Saare", "Pärnu", "Viru", "Lääne", "Harju", "Järva", "Rapla", "Võru",
    "Valga", "Narva", "Kuressaare", "Haapsalu", "Rakvere", "Viljandi", "Paide", "Jõgeva",
    "Põlva", "Kärdla", "Otepää", "Emajõe", "Peipsi", "Toome", "Kalevi", "Männi", "Kuuse",
    "Lepa", "Pihlaka", "Vahtra", "Kivi", "Raba", "Metsa", "Nõmme", "Ranna", "Mere", "Järve",
    "Oru", "Mäe", "Aasa", "Allika", "Koidu", "Ilmarise", "Kotka", "Karu", "Ilvese", "Rebase",
    "Sepa", "Möldri", "Tamme", "Kase", "Vaskna", "Soome", "Läti", "Hiiu", "Muhu", "Vormsi",
    "Kihnu", "Ruhnu", "Taara", "Vanemuise", "Linda", "Kalju", "Tooma", "Sõpruse", "Öö",
    "Ülemiste", "Kadrioru", "Kopli", "Pirita", "Tähtvere", "Annelinna", "Supilinna",
)
TRADES = (
    "Ehitus", "Mööbel", "Kala", "Puit", "Transport", "Logistika", "Aiandus", "Elekter",
    "Torutööd", "Autoteenindus", "Trükikoda", "Pagarid", "Kohvik", "IT", "Raamatupidamine",
    "Turvateenused", "Metall", "Betoon", "Katused", "Aknad", "Põllumajandus", "Piimatalu",
    "Kinnisvara", "Hambaravi", "Ilusalong", "Ehitusmaterjalid", "Tehnika", "Energia", "Küte",
    "Ventilatsioon", "Puhastus", "Kaubandus", "Hulgi", "Tarkvara", "Disain", "Reklaam",
    "Reisid", "Majutus", "Toitlustus", "Lihatööstus", "Õlletehas", "Õmblus", "Veod",
    "Remont", "Haljastus", "Klaas", "Kivitööd", "Mesi", "Juust", "Saun", "Paadid",
)
LEGAL_FORMS = ("OÜ", "OÜ", "OÜ", "OÜ", "OÜ", "OÜ", "AS", "AS", "MTÜ")
MALE_NAMES = (
    "Andres", "Toomas", "Jüri", "Margus", "Rein", "Tarmo", "Urmas", "Priit", "Kalev", "Mart",
    "Siim", "Rasmus", "Martin", "Ott", "Indrek", "Aivar", "Raivo", "Peeter", "Hannes",
    "Kristjan", "Karl", "Marko", "Veiko", "Lauri", "Erki", "Tõnis", "Jaanus", "Meelis",
    "Ülo", "Sander", "Kaspar", "Mihkel", "Heiki", "Aare", "Enn",
)
FEMALE_NAMES = (
    "Kadri", "Kersti", "Tiina", "Anu", "Eve", "Liina", "Triin", "Maarja", "Kristiina", "Helen",
    "Merike", "Pille", "Katrin", "Ülle", "Reet", "Marju", "Mari-Liis", "Kaja", "Anneli",
    "Sirje", "Tiiu", "Maire", "Eha", "Ingrid", "Grete", "Laura", "Signe", "Ene", "Õie",
    "Kärt", "Liisa", "Getter", "Piia", "Elo",
)
SURNAMES = (
    "Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Ilves", "Pärn", "Koppel",
    "Lepik", "Kuusk", "Karu", "Lember", "Mets", "Raudsepp", "Vaher", "Kallas", "Põder", "Kivi",
    "Luik", "Lõhmus", "Org", "Jõgi", "Teder", "Laur", "Kõiv", "Murumägi", "Ots", "Valk",
    "Aavik", "Oja", "Kruus", "Lill", "Paju", "Sild", "Ruus", "Toom", "Nõmm", "Männik", "Uibo",
    "Hein", "Parts", "Põldma", "Mölder", "Raud", "Vaht", "Järv", "Kütt", "Sarapuu", "Õunapuu",
    "Allik", "Kangur", "Pihlak", "Rätsep", "Tõnisson", "Västrik", "Ärm", "Üprus",
)
JOB_TITLES = (
    "tegevjuht", "juhatuse liige", "raamatupidaja", "pearaamatupidaja", "ostujuht",
    "müügijuht", "projektijuht", "laojuhataja", "office manager", "IT-juht", "finantsjuht",
    "tootmisjuht", "turundusjuht", "hankespetsialist",
)
ROLES = ("kontaktisik", "kontaktisik", "raamatupidaja", "ostuesindaja", "allkirjaõiguslik",
         "tehniline kontakt")
BOARD_ROLE = "juhatuse liige"
STREETS = (
    "Pikk", "Lai", "Tartu mnt", "Pärnu mnt", "Narva mnt", "Riia", "Kalda", "Jaama", "Kooli",
    "Aia", "Posti", "Rüütli", "Tööstuse", "Vabriku", "Sadama", "Lõuna", "Põhja", "Ringi",
    "Mõisa", "Turu", "Laki", "Peterburi tee", "Kesk", "Tallinna", "Vabaduse pst", "Lille",
    "Metsa", "Pargi", "Järve", "Männi",
)
TOWNS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    # town, county, postal codes, landline prefix (after +372)
    ("Tallinn", "Harju maakond", ("10111", "10115", "10119", "10141", "10145", "10151",
                                  "11313", "11415", "12618", "13415", "10621", "11912"), "6"),
    ("Tartu", "Tartu maakond", ("50090", "50103", "50303", "50411", "51003", "51014"), "7"),
    ("Pärnu", "Pärnu maakond", ("80010", "80042", "80044", "80035"), "44"),
    ("Narva", "Ida-Viru maakond", ("20308", "20104", "20507"), "35"),
    ("Jõhvi", "Ida-Viru maakond", ("41531", "41533"), "33"),
    ("Viljandi", "Viljandi maakond", ("71020", "71004"), "43"),
    ("Rakvere", "Lääne-Viru maakond", ("44306", "44310"), "32"),
    ("Kuressaare", "Saare maakond", ("93815", "93819"), "45"),
    ("Haapsalu", "Lääne maakond", ("90502", "90504"), "47"),
    ("Võru", "Võru maakond", ("65608", "65610"), "78"),
    ("Valga", "Valga maakond", ("68203", "68206"), "76"),
    ("Paide", "Järva maakond", ("72711", "72713"), "38"),
    ("Rapla", "Rapla maakond", ("79513", "79511"), "48"),
    ("Jõgeva", "Jõgeva maakond", ("48306", "48304"), "77"),
    ("Põlva", "Põlva maakond", ("63308", "63306"), "79"),
    ("Kärdla", "Hiiu maakond", ("92411", "92413"), "46"),
    ("Keila", "Harju maakond", ("76607", "76610"), "6"),
    ("Maardu", "Harju maakond", ("74111", "74114"), "6"),
    ("Elva", "Tartu maakond", ("61507", "61505"), "7"),
    ("Otepää", "Valga maakond", ("67405", "67403"), "76"),
)
TOWN_WEIGHTS = (40, 18, 8, 4, 2, 3, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 2, 1, 1, 1)
TYPE_SHARES = {"Ostja": 60, "Edasimüüja": 20, "Tarnija": 12, "Partner": 8}
BANKS = (("22", "HABAEE2X"), ("10", "EEUHEE2X"), ("17", "RIKOEE22"), ("77", "LHVBEE22"))
BANK_WEIGHTS = (45, 25, 12, 18)
PRIVATE_MAIL = ("gmail.com", "mail.ee", "hot.ee", "online.ee", "outlook.com")

ACTIVITY_NAMES: dict[str, tuple[str, ...]] = {
    "call": ("Tellimuse täpsustamine", "Arve meeldetuletus", "Uue hinnakirja tutvustus",
             "Tagasiside küsimine", "Tarneaja kinnitamine", "Pakkumise järelkõne",
             "Lepingu pikendamine", "Kohtumise kokkuleppimine"),
    "meeting": ("Aastaleping 2027", "Koostöö arutelu", "Uue toote esitlus",
                "Projekti avakoosolek", "Hinnaläbirääkimised", "Kvartali ülevaade"),
    "email": ("Pakkumise saatmine", "Kataloogi saatmine", "Arve koopia saatmine",
              "Lepingu projekti saatmine", "Kohtumise kokkuvõte"),
    "task": ("Lepingu ettevalmistamine", "Pakkumise koostamine", "Hinnavõrdlus",
             "Krediidiinfo kontroll", "Näidiste komplekteerimine"),
    "visit": ("Kliendikülastus: objekti ülevaatus", "Kliendikülastus: mõõtmine",
              "Kliendikülastus: toote demo", "Kliendikülastus: lepingu allkirjastamine"),
    "service": ("Seadmete hooldus", "Paigaldustööd", "Garantiiremont", "Koolitus kliendile",
                "Hooldusleping: korraline kontroll"),
}
TYPE_WEIGHTS = {"call": 34, "meeting": 14, "email": 20, "task": 14, "visit": 9, "service": 9}
PROJECT_NAMES = (
    "Laohoone laiendus", "Kontori sisustus", "Aastaleping 2027", "Uus kassasüsteem",
    "Sõidukipargi uuendus", "Tootmisliini automatiseerimine", "Veebipoe arendus",
    "Energiatõhususe audit", "Hooldusleping", "Katuse renoveerimine", "Esindussalong Tartus",
    "Jõulukampaania",
)
ANNOUNCEMENTS = (
    ("Uus hinnakiri kehtib järgmise kuu algusest",
     "Palun tutvustage püsiklientidele uut hinnakirja. Kuldklientide allahindlus jääb "
     "samaks.", 30),
    ("Märkige kliendikülastuste kilomeetrid",
     "Autoga tehtud kliendikülastustel on kilomeetrid kohustuslikud: nii näeme iga kliendi "
     "teenindamise kulu.", 60),
)
DOCUMENT_TITLES = (
    ("Leping", "Raamleping"), ("Pakkumine", "Hinnapakkumine"),
    ("Spetsifikatsioon", "Tehniline kirjeldus"), ("Akt", "Üleandmise-vastuvõtmise akt"),
)


# --- identifiers ----------------------------------------------------------------------------

def registry_code(rng: random.Random, first: str = "1") -> str:
    """A valid Estonian registry code: ``first`` (1 companies, 8 non-profits) + 6 digits +
    the check digit of :mod:`stdnum.ee.registrikood`."""
    second = rng.choice("01246") if first == "1" else str(rng.randrange(10))
    body = first + second + "".join(str(rng.randrange(10)) for _ in range(5))
    code = body + registrikood.calc_check_digit(body + "0")  # the last digit is ignored
    assert registrikood.is_valid(code)
    return code


def vat_number(rng: random.Random) -> str:
    """A valid Estonian VAT number ``EE10xxxxxxx`` (:func:`stdnum.ee.kmkr.checksum` is 0)."""
    body = "10" + "".join(str(rng.randrange(10)) for _ in range(6))
    weights = (3, 7, 1, 3, 7, 1, 3, 7)
    last = -sum(w * int(n) for w, n in zip(weights, body, strict=True)) % 10
    number = body + str(last)
    assert kmkr.checksum(number) == 0
    return "EE" + number


def personal_code(rng: random.Random, birthday: dt.date, female: bool) -> str:
    """A valid Estonian personal code (isikukood) for ``birthday``."""
    century = 3 if birthday.year < 2000 else 5
    body = (f"{century + int(female)}{birthday:%y%m%d}"
            + "".join(str(rng.randrange(10)) for _ in range(3)))
    code = body + ik.calc_check_digit(body + "0")  # the last digit is ignored
    assert ik.is_valid(code)
    return code


def iban(rng: random.Random) -> tuple[str, str]:
    """A valid Estonian IBAN of one of the big banks and that bank's BIC."""
    bank_code, bic = rng.choices(BANKS, BANK_WEIGHTS)[0]
    account = str(rng.randrange(10**9, 10**10))
    return IBAN.generate("EE", bank_code=bank_code, account_code=account).compact, bic


def mobile(rng: random.Random) -> str:
    """An Estonian mobile number: ``+372 5xxx xxxx``."""
    return f"+372 5{rng.randrange(100, 1000)} {rng.randrange(1000, 10000)}"


def landline(rng: random.Random, prefix: str) -> str:
    """A landline number with the area prefix of the town."""
    rest = "".join(str(rng.randrange(10)) for _ in range(7 - len(prefix)))
    digits = prefix + rest
    return f"+372 {digits[:3]} {digits[3:]}"


def slug(text: str) -> str:
    """ASCII letters and digits of ``text`` (for e-mail addresses and web sites)."""
    return "".join(ch for ch in fold(text) if ch.isalnum())


def person_email(first: str, last: str, domain: str) -> str:
    """``first.last@domain`` without diacritics."""
    return f"{slug(first)}.{slug(last)}@{domain}"


def company_names(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` different company names with their legal form: ``("Põldma Ehitus OÜ",
    "OÜ")``."""
    seen: set[str] = set()
    names: list[tuple[str, str]] = []
    while len(names) < count:
        form = rng.choice(LEGAL_FORMS)
        name = f"{rng.choice(NAME_STEMS)} {rng.choice(TRADES)} {form}"
        if name not in seen:
            seen.add(name)
            names.append((name, form))
    return names


@dataclass
class PersonData:
    """A generated person."""

    first_name: str
    last_name: str
    female: bool
    birthday: dt.date | None


def person_data(rng: random.Random, today: dt.date) -> PersonData:
    """A random Estonian name with (usually) a birthday between 22 and 70 years ago."""
    female = rng.random() < 0.5
    first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
    birthday = None
    if rng.random() < 0.7:
        birthday = today - dt.timedelta(days=rng.randrange(22 * 365, 70 * 365))
    return PersonData(first, rng.choice(SURNAMES), female, birthday)


# --- the data set ---------------------------------------------------------------------------

@dataclass
class _Context:
    dbsession: Session
    rng: random.Random
    tz: ZoneInfo
    today: dt.date
    users: dict[str, User]
    salespeople: list[User]
    groups: dict[str, ClientGroup]
    types: dict[str, ClientType]
    activity_types: dict[str, ActivityType]
    catalogue: dict[str, CatalogueItem]
    clients: list[Client] = field(default_factory=list)
    contacts: dict[int, list[int]] = field(default_factory=dict)
    projects: list[Project] = field(default_factory=list)


FileStore = Callable[[str, bytes], str]
"""``store(filename, content) -> storage key``: how demo documents' files are saved."""


def create_demo_data(dbsession: Session, tenant: Tenant, store: FileStore | None = None,
                     today: dt.date | None = None) -> None:
    """Fill the (current) demo tenant with clients, contacts, activities and the rest.

    ``store``, when given, saves a document's file and returns its storage key; without it
    no documents are created. ``today`` (the tenant's local date by default) anchors every
    date, so the activities spread around the day of loading.
    """
    from plugins.crm_register.defaults import create_defaults

    create_defaults(dbsession)  # normally done when the plugin was enabled: idempotent
    tz = ZoneInfo(tenant.timezone or "Europe/Tallinn")
    today = today or utcnow().astimezone(tz).date()
    users = {u.email: u for u in dbsession.scalars(sa.select(User).order_by(User.id))}
    salespeople = [u for u in users.values() if u.role == "sales"] or list(users.values())
    ctx = _Context(
        dbsession=dbsession, rng=random.Random(SEED),  # noqa: S311 - not a secret
        tz=tz, today=today, users=users,
        salespeople=salespeople,
        groups={g.name: g for g in dbsession.scalars(sa.select(ClientGroup))},
        types={t.name: t for t in dbsession.scalars(sa.select(ClientType))},
        activity_types={t.code: t for t in dbsession.scalars(sa.select(ActivityType))},
        catalogue={c.name: c for c in dbsession.scalars(sa.select(CatalogueItem))},
    )
    _clients(ctx)
    _contacts(ctx)
    _relations(ctx)
    _projects(ctx)
    activities = _activities(ctx)
    if store is not None:
        _documents(ctx, activities, store)
    _announcements(ctx)
    dbsession.flush()


def reserve_numbers(dbsession: Session, series: str, count: int) -> list[int]:
    """``count`` consecutive numbers of ``series``: the first from
    :func:`~plugins.crm_register.numbering.next_number` (which locks the counter row), the
    rest by moving the locked counter on, in one flush instead of one per number."""
    if count <= 0:
        return []
    first = next_number(dbsession, series)
    counter = dbsession.scalar(sa.select(Counter).where(Counter.name == series))
    counter.value = first + count - 1
    dbsession.flush()
    return list(range(first, first + count))


def _pick_salesperson(ctx: _Context) -> User:
    return ctx.rng.choice(ctx.salespeople)


def _groups_for(ctx: _Context, big: bool) -> list[ClientGroup]:
    rng = ctx.rng
    names = ["Püsiklient" if rng.random() < 0.55 else "Juhuklient"]
    if big or rng.random() < 0.08:
        names.append("Suurklient")
    if rng.random() < (0.35 if big else 0.06):
        names.append("Kuldklient")
    return [ctx.groups[n] for n in names if n in ctx.groups]


STEM_TOWNS = {"Saare": "Kuressaare", "Hiiu": "Kärdla", "Harju": "Tallinn", "Ülemiste": "Tallinn",
              "Kadrioru": "Tallinn", "Kopli": "Tallinn", "Pirita": "Tallinn", "Nõmme": "Tallinn",
              "Emajõe": "Tartu", "Toome": "Tartu", "Tähtvere": "Tartu", "Annelinna": "Tartu",
              "Supilinna": "Tartu", "Vanemuise": "Tartu", "Järva": "Paide", "Lääne": "Haapsalu"}
"""Name stems that tell where a company is (town names themselves are matched as well)."""


def _town(rng: random.Random, client_name: str) -> tuple[str, str, tuple[str, ...], str]:
    stem = client_name.split(" ", 1)[0]
    town = STEM_TOWNS.get(stem, stem)
    for entry in TOWNS:
        if entry[0] == town and rng.random() < 0.85:
            return entry
    return rng.choices(TOWNS, TOWN_WEIGHTS)[0]


def _address(ctx: _Context, client_name: str, kind: str = "billing") -> Address:
    rng = ctx.rng
    town, county, codes, _prefix = _town(rng, client_name)
    number = f"{rng.randrange(1, 120)}"
    if rng.random() < 0.3:
        number += f"-{rng.randrange(1, 40)}"
    elif rng.random() < 0.15:
        number += rng.choice("abc")
    return Address(kind=kind, street=f"{rng.choice(STREETS)} {number}", city=town,
                   county=county, postal_code=rng.choice(codes), country="EE",
                   recipient=client_name if kind == "postal" and rng.random() < 0.5 else None)


def _clients(ctx: _Context) -> None:
    rng, db = ctx.rng, ctx.dbsession
    codes: set[str] = set()
    vats: set[str] = set()
    type_names = list(ctx.types)
    type_weights = [TYPE_SHARES.get(name, 5) for name in type_names]
    numbers = iter(reserve_numbers(db, "client", COMPANIES + PRIVATE_PERSONS))
    for name, form in company_names(rng, COMPANIES):
        code = registry_code(rng, "8" if form == "MTÜ" else "1")
        while code in codes:
            code = registry_code(rng, "8" if form == "MTÜ" else "1")
        codes.add(code)
        vat = None
        if form != "MTÜ" and rng.random() < 0.8:
            vat = vat_number(rng)
            while vat in vats:
                vat = vat_number(rng)
            vats.add(vat)
        account, bic = iban(rng) if rng.random() < 0.85 else (None, None)
        address = _address(ctx, name)
        prefix = next(t[3] for t in TOWNS if t[0] == address.city)
        domain = f"{slug(name.rsplit(' ', 1)[0])}.ee"
        big = form == "AS"
        client = Client(
            number=next(numbers), kind="company", name=name,
            registry_code=code, vat_number=vat, iban=account, bic=bic,
            phone=landline(rng, prefix), mobile=mobile(rng) if rng.random() < 0.6 else None,
            fax=landline(rng, prefix) if rng.random() < 0.05 else None,
            email=f"{rng.choice(('info', 'info', 'kontor', 'myyk'))}@{domain}",
            invoice_email=f"arved@{domain}" if rng.random() < 0.3 else None,
            website=f"www.{domain}" if rng.random() < 0.75 else None,
            registered_on=ctx.today - dt.timedelta(days=rng.randrange(200, 9000)),
            client_type=ctx.types[rng.choices(type_names, type_weights)[0]]
            if type_names else None,
            salesperson=_pick_salesperson(ctx), language="et" if rng.random() < 0.93 else "en",
            notes=_client_note(rng), email_consent=rng.random() < 0.6,
            active=rng.random() > 0.04,
            sales_blocked=rng.random() < 0.03,
            credit_limit=Decimal(rng.choice((1000, 2500, 5000, 10000, 20000)))
            if rng.random() < 0.3 else None,
            payment_term_days=rng.choice((7, 14, 14, 21, 30)) if rng.random() < 0.5 else None,
        )
        client.addresses.append(address)
        if rng.random() < 0.3:
            client.addresses.append(_address(ctx, name, "delivery"))
        if rng.random() < 0.1:
            client.addresses.append(_address(ctx, name, "postal"))
        client.groups = _groups_for(ctx, big)
        db.add(client)
        ctx.clients.append(client)
    for _ in range(PRIVATE_PERSONS):
        data = person_data(rng, ctx.today)
        birthday = data.birthday or ctx.today - dt.timedelta(days=rng.randrange(25 * 365,
                                                                                 60 * 365))
        code = personal_code(rng, birthday, data.female)
        name = f"{data.first_name} {data.last_name}"
        client = Client(
            number=next(numbers), kind="person", name=name, registry_code=code,
            phone=None, mobile=mobile(rng),
            email=person_email(data.first_name, data.last_name, rng.choice(PRIVATE_MAIL)),
            client_type=ctx.types.get("Ostja"), salesperson=_pick_salesperson(ctx),
            language="et", email_consent=rng.random() < 0.4, active=True,
        )
        client.addresses.append(_address(ctx, name))
        client.groups = [ctx.groups[n] for n in ("Juhuklient",) if n in ctx.groups]
        db.add(client)
        ctx.clients.append(client)
        # The private client is also their own contact person (with the personal code).
        person = Person(first_name=data.first_name, last_name=data.last_name,
                        mobile=client.mobile, email=client.email, birthday=birthday,
                        personal_code=code, email_consent=client.email_consent)
        client.contacts.append(ClientPerson(person=person, role="", is_primary=True,
                                            receives_invoices=True))
    db.flush()


def _client_note(rng: random.Random) -> str | None:
    if rng.random() > 0.25:
        return None
    first = rng.choice(FEMALE_NAMES)
    second = rng.choice(MALE_NAMES)
    return rng.choice((
        f"Kui {first} ei vasta, helistada {second}le.",
        "Arved ainult e-arvena.",
        "Kaup tuua tagauksest, laadimisplats maja taga.",
        f"Tellimused kinnitab {first}, hinnad {second}.",
        "Eelistab suhtlust e-kirja teel.",
        "Makseraskused 2025. aastal: enne suurt tellimust ettemaks.",
    ))


def _new_person(ctx: _Context, domain: str) -> Person:
    rng = ctx.rng
    data = person_data(rng, ctx.today)
    return Person(
        first_name=data.first_name, last_name=data.last_name,
        title=rng.choice(JOB_TITLES), phone=None, mobile=mobile(rng),
        email=person_email(data.first_name, data.last_name, domain),
        birthday=data.birthday, email_consent=rng.random() < 0.5,
    )


def _contacts(ctx: _Context) -> None:
    """1-3 contact persons per company, a few board members shared by two companies, a few
    birthdays this week; then the search columns of every person and client."""
    rng, db = ctx.rng, ctx.dbsession
    companies = [c for c in ctx.clients if c.kind == "company"]
    people: list[Person] = [link.person for c in ctx.clients for link in c.contacts]
    board: list[Person] = []
    for client in companies:
        domain = client.email.split("@", 1)[1] if client.email else "näide.ee"
        for i in range(rng.choice((1, 1, 2, 2, 2, 3))):
            person = _new_person(ctx, domain)
            role = BOARD_ROLE if i == 0 and rng.random() < 0.5 else rng.choice(ROLES)
            if role == BOARD_ROLE:
                person.title = "juhatuse liige"
                board.append(person)
            client.contacts.append(ClientPerson(
                person=person, role=role, is_primary=i == 0,
                receives_invoices=role == "raamatupidaja" or (i == 0 and rng.random() < 0.3)))
            people.append(person)
    # The same person on the board of two companies: one Person, two links (C12).
    for person in rng.sample(board, min(15, len(board))):
        other = rng.choice(companies)
        if all(link.client is not other for link in person.links):
            other.contacts.append(ClientPerson(person=person, role=BOARD_ROLE))
    # Birthdays today and later this week, for the front-page widget.
    for offset, person in enumerate(rng.sample(people, 4)):
        born = ctx.today + dt.timedelta(days=offset * 2)
        try:
            person.birthday = born.replace(year=born.year - rng.randrange(28, 60))
        except ValueError:  # 29 February
            person.birthday = born.replace(year=born.year - 28, day=28)
    for person in people:
        person.name_search = fold(person.full_name)
    db.flush()
    for person in people:
        refresh_person_search(db, person)
    for client in ctx.clients:
        refresh_search(db, client)
        ctx.contacts[client.id] = [link.person_id for link in client.contacts]
    db.flush()


def _relations(ctx: _Context) -> None:
    rng, db = ctx.rng, ctx.dbsession
    companies = [c for c in ctx.clients if c.kind == "company"]
    parents = [c for c in companies if c.name.endswith(" AS")] or companies
    seen: set[tuple[int, int, str]] = set()
    wanted = (("subsidiary", 12), ("branch", 6), ("partner", 10))
    for kind, count in wanted:
        made = 0
        while made < count:
            to_client = rng.choice(parents if kind != "partner" else companies)
            from_client = rng.choice(companies)
            key = (from_client.id, to_client.id, kind)
            if from_client is to_client or key in seen:
                continue
            seen.add(key)
            note = {"subsidiary": "100% tütarettevõte", "branch": "Filiaal",
                    "partner": "Koostööpartner"}[kind]
            db.add(Relation(from_client_id=from_client.id, to_client_id=to_client.id,
                            kind=kind, note=note if rng.random() < 0.6 else None))
            made += 1
    db.flush()


def _projects(ctx: _Context) -> None:
    rng, db = ctx.rng, ctx.dbsession
    statuses = ("lead", "offer", "offer", "negotiation", "won", "won", "lost", "on_hold")
    companies = [c for c in ctx.clients if c.kind == "company" and c.active]
    for name, client in zip(PROJECT_NAMES, rng.sample(companies, len(PROJECT_NAMES)),
                            strict=True):
        start = ctx.today - dt.timedelta(days=rng.randrange(10, 150))
        project = Project(
            client_id=client.id, name=name, status=rng.choice(statuses),
            salesperson_id=client.salesperson_id, starts_on=start,
            ends_on=start + dt.timedelta(days=rng.randrange(30, 200)),
            expected_value=Decimal(rng.randrange(20, 800) * 100),
            description="Müügiprojekt: " + name.lower() + ".",
        )
        db.add(project)
        ctx.projects.append(project)
    db.flush()


def _slot(ctx: _Context, day: dt.date) -> dt.datetime:
    rng = ctx.rng
    minutes = rng.randrange(8 * 4, 17 * 4) * 15  # 08:00 ... 16:45 in quarter hours
    local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=ctx.tz)
    return local.astimezone(dt.UTC)


def _workday(ctx: _Context) -> dt.date:
    rng = ctx.rng
    while True:
        day = ctx.today + dt.timedelta(days=rng.randrange(-PAST_DAYS, FUTURE_DAYS + 1))
        if day.weekday() < 5 or rng.random() < 0.03:
            return day


def _activity(ctx: _Context, number: int, client: Client, code: str, starts_at: dt.datetime,
              performer: User) -> Activity:
    rng = ctx.rng
    kind = ctx.activity_types[code]
    estimated = kind.default_minutes or 30
    now = utcnow()
    if starts_at < now - dt.timedelta(hours=2):
        status = rng.choices(("done", "cancelled", "planned"), (90, 7, 3))[0]
    elif starts_at < now + dt.timedelta(hours=1):
        status = rng.choice(("in_progress", "done", "planned"))
    else:
        status = "planned"
    actual = None
    if status == "done":
        actual = max(5, int(estimated * rng.uniform(0.6, 1.6)) // 5 * 5)
    contacts = ctx.contacts.get(client.id) or [None]
    activity = Activity(
        number=number, name=rng.choice(ACTIVITY_NAMES[code]), client_id=client.id,
        person_id=rng.choice(contacts), type_id=kind.id, status=status,
        performer_id=performer.id, starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=actual or estimated),
        estimated_minutes=estimated, actual_minutes=actual,
        kilometres=Decimal(rng.randrange(4, 180)) if kind.requires_kilometres else None,
        created_by_id=performer.id,
        created_at=min(starts_at, now) - dt.timedelta(days=rng.randrange(0, 10)),
        description=None if rng.random() < 0.7 else rng.choice((
            "Klient soovib pakkumist kahes variandis.", "Järgmine kontakt kuu lõpus.",
            "Otsustaja on puhkusel, helistada uuesti.", "Kõik kokku lepitud.",
        )),
    )
    if kind.requires_kilometres and "Sõiduauto" in ctx.catalogue:
        activity.items.append(ActivityItem(item_id=ctx.catalogue["Sõiduauto"].id,
                                           quantity=Decimal(activity.kilometres or 0)))
    if code == "service" and rng.random() < 0.6:
        item = ctx.catalogue.get(rng.choice(("Paigaldus", "Koolitus")))
        if item is not None:
            activity.items.append(ActivityItem(item_id=item.id,
                                               quantity=Decimal(rng.randrange(1, 9))))
    if code == "meeting" and rng.random() < 0.2 and "Projektor" in ctx.catalogue:
        activity.items.append(ActivityItem(item_id=ctx.catalogue["Projektor"].id,
                                           quantity=Decimal(1)))
    return activity


def _activities(ctx: _Context) -> list[Activity]:
    """About 1500 activities; the demo administrator gets a full day today."""
    rng, db = ctx.rng, ctx.dbsession
    codes = [c for c in TYPE_WEIGHTS if c in ctx.activity_types]
    weights = [TYPE_WEIGHTS[c] for c in codes]
    performers = [u for u in ctx.users.values() if u.role in ("sales", "manager", "admin")]
    active = [c for c in ctx.clients if c.active]
    # Well-served clients get most of the activities.
    client_weights = [3 if c.name.endswith(" AS") else 1 for c in active]
    numbers = reserve_numbers(db, "activity", ACTIVITIES)
    admin = ctx.users.get(DEMO_ADMIN)
    plan: list[tuple[Client, str, dt.datetime, User]] = []
    if admin is not None:
        today_plan = (("call", 9, 0), ("meeting", 10, 30), ("call", 12, 15), ("visit", 13, 30),
                      ("email", 15, 45), ("call", 16, 30))
        for (code, hour, minute), client in zip(today_plan, rng.sample(active, len(today_plan)),
                                                strict=True):
            if code in ctx.activity_types:
                start = dt.datetime.combine(ctx.today, dt.time(hour, minute), tzinfo=ctx.tz)
                plan.append((client, code, start.astimezone(dt.UTC), admin))
    while len(plan) < ACTIVITIES:
        client = rng.choices(active, client_weights)[0]
        performer = client.salesperson if rng.random() < 0.75 and client.salesperson \
            else rng.choice(performers)
        plan.append((client, rng.choices(codes, weights)[0], _slot(ctx, _workday(ctx)),
                     performer))
    plan.sort(key=lambda p: p[2])
    activities = [_activity(ctx, number, *entry) for number, entry in zip(numbers, plan,
                                                                          strict=True)]
    projects_by_client: dict[int, Project] = {p.client_id: p for p in ctx.projects}
    for activity in activities:
        project = projects_by_client.get(activity.client_id)
        if project is not None and rng.random() < 0.6:
            activity.project_id = project.id
    db.add_all(activities)
    db.flush()
    # Follow-ups: a later activity of the same client continues an earlier one.
    by_client: dict[int, list[Activity]] = {}
    for activity in activities:
        by_client.setdefault(activity.client_id, []).append(activity)
    for series in by_client.values():
        for earlier, later in itertools.pairwise(series):
            if rng.random() < 0.12:
                later.follow_up_of_id = earlier.id
    db.flush()
    return activities


def _documents(ctx: _Context, activities: Sequence[Activity], store: FileStore) -> None:
    rng, db = ctx.rng, ctx.dbsession
    types = {t.name: t for t in db.scalars(sa.select(DocumentType))}
    registrar = ctx.users.get(DEMO_ADMIN) or next(iter(ctx.users.values()))
    first_activity = {}
    for activity in activities:
        first_activity.setdefault(activity.project_id, activity)
    for project in ctx.projects:
        client = next(c for c in ctx.clients if c.id == project.client_id)
        for type_name, title in rng.sample(DOCUMENT_TITLES, rng.randrange(1, 3)):
            versions = rng.randrange(1, 3)
            activity = first_activity.get(project.id)
            document = Document(
                number=next_number(db, "document"), client_id=client.id,
                title=f"{title}: {project.name}", type=types.get(type_name),
                status=rng.choice(("draft", "in_preparation", "sent", "signed")),
                project_id=project.id, activity_id=activity.id if activity else None,
                registrar_id=registrar.id,
                registered_at=utcnow() - dt.timedelta(days=rng.randrange(1, 90)),
            )
            for version in range(1, versions + 1):
                content = _document_text(client, project, title, version).encode("utf-8")
                filename = f"{slug(title)}-{document.number}-v{version}.txt"
                document.versions.append(DocumentVersion(
                    version=version, filename=filename, content_type="text/plain",
                    size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                    storage_key=store(filename, content), uploaded_by_id=registrar.id,
                    uploaded_at=document.registered_at + dt.timedelta(days=version - 1)))
            db.add(document)
    db.flush()


def _document_text(client: Client, project: Project, title: str, version: int) -> str:
    return (f"{title}\n\nKlient: {client.name} (registrikood {client.registry_code})\n"
            f"Projekt: {project.name}\nVersioon: {version}\n\n"
            "See on demoandmete näidisdokument.\n")


def _announcements(ctx: _Context) -> None:
    author = ctx.users.get(DEMO_ADMIN)
    for title, body, days in ANNOUNCEMENTS:
        ctx.dbsession.add(Announcement(
            title=title, body=body, author_id=author.id if author else None,
            expires_on=ctx.today + dt.timedelta(days=days)))


def demo_file_store(tenant: Tenant) -> FileStore:
    """Save demo files in the application's storage service.

    The ``demo_data`` hook gets no request or settings, so the storage is the one in the
    current Pyramid registry when there is one (``registry["file_storage"]``), else the
    local folder of :func:`plugins.crm_register.storage.storage_from_settings` with the
    registry's settings (``var/files`` of the current folder, where ``kliendihaldus demo``
    runs).
    """
    from pyramid.threadlocal import get_current_registry

    from plugins.crm_register.storage import REGISTRY_KEY, storage_from_settings

    registry = get_current_registry()
    storage = registry.get(REGISTRY_KEY) or storage_from_settings(registry.settings or {})

    def store(filename: str, content: bytes) -> str:
        return storage.save(content, filename, tenant_id=tenant.id)

    return store


def summary(dbsession: Session) -> dict[str, Any]:
    """Row counts of the demo data (for the command line and the tests)."""
    models = (Client, Person, ClientPerson, Address, Relation, Project, Activity, Document,
              Announcement)
    return {m.__tablename__: dbsession.scalar(sa.select(sa.func.count(m.id))) for m in models}
