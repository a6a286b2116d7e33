"""Client services: search text, duplicates, numbering and finding clients while typing."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from pyramid.request import Request
from sqlalchemy.orm import Session

from plugins.crm_register.access import client_filter
from plugins.crm_register.models import Client, ClientPerson, Person
from plugins.crm_register.search import digits, fold, like_pattern

SEARCH_LIMIT = 10


def refresh_search(dbsession: Session, client: Client) -> None:
    """Recompute the folded search columns of ``client`` from its fields and contacts."""
    names = []
    if client.id is not None:
        names = list(dbsession.scalars(
            sa.select(Person.name_search)
            .join(ClientPerson, ClientPerson.person_id == Person.id)
            .where(ClientPerson.client_id == client.id)
        ))
    apply_search_text(client, names)


def apply_search_text(client: Client, contact_names: list[str]) -> None:
    """Set the folded search columns of ``client`` given its contacts' folded names."""
    client.name_search = fold(client.name)
    parts = [
        client.name_search,
        (client.registry_code or "").lower(),
        (client.vat_number or "").lower(),
        digits(client.phone), digits(client.mobile),
        fold(client.email), fold(client.invoice_email),
        *contact_names,
    ]
    client.search_text = " | ".join(p for p in parts if p)


def refresh_person_search(dbsession: Session, person: Person) -> None:
    """Recompute a person's folded name and the search text of every client they belong to."""
    person.name_search = fold(person.full_name)
    person.birthday_md = person.birthday.strftime("%m-%d") if person.birthday else None
    dbsession.flush()
    for client in dbsession.scalars(
        sa.select(Client).join(ClientPerson).where(ClientPerson.person_id == person.id)
    ):
        refresh_search(dbsession, client)


@dataclass(frozen=True)
class Duplicate:
    """An existing client that clashes with the one being saved."""

    client: Client
    field: str


def find_duplicates(dbsession: Session, client_id: int | None, registry_code: str | None,
                    vat_number: str | None) -> list[Duplicate]:
    """Clients (other than ``client_id``) with the same registry code or VAT number."""
    found = []
    for field, value in (("registry_code", registry_code), ("vat_number", vat_number)):
        if not value:
            continue
        other = dbsession.scalar(
            sa.select(Client).where(getattr(Client, field) == value, Client.id != (client_id or 0))
        )
        if other is not None:
            found.append(Duplicate(other, field))
    return found


def similar_names(dbsession: Session, client_id: int | None, name: str) -> list[Client]:
    """Clients whose folded name equals or contains ``name`` (ignoring the legal form)."""
    core = _without_legal_form(fold(name))
    if len(core) < 3:
        return []
    return list(dbsession.scalars(
        sa.select(Client)
        .where(Client.name_search.like(like_pattern(core), escape="\\"),
               Client.id != (client_id or 0))
        .order_by(Client.name).limit(5)
    ))


LEGAL_FORMS = ("ou", "as", "mtu", "fie", "tu", "uu", "sa", "oy", "ab", "ltd", "gmbh")


def _without_legal_form(folded: str) -> str:
    words = [w for w in folded.replace(",", " ").split() if w not in LEGAL_FORMS]
    return " ".join(words)


def search_clients(request: Request, query: str, limit: int = SEARCH_LIMIT) -> list[Client]:
    """Clients matching ``query`` in name, codes, phone, e-mail or contact names.

    Prefix matches on the name come first, then other matches, each by name.
    """
    folded = fold(query)
    if not folded:
        return []
    conditions = [Client.search_text.like(like_pattern(folded), escape="\\")]
    number = digits(query)
    if len(number) >= 3 and number != folded:
        conditions.append(Client.search_text.like(like_pattern(number), escape="\\"))
    prefix = sa.case((Client.name_search.like(like_pattern(folded)[1:], escape="\\"), 0),
                     else_=1)
    return list(request.dbsession.scalars(
        sa.select(Client)
        .where(sa.or_(*conditions), client_filter(request))
        .order_by(prefix, Client.name_search)
        .limit(limit)
    ))
