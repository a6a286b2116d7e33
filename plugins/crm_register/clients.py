"""Client services: search text, duplicates, numbering and finding clients while typing."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from pyramid.request import Request
from sqlalchemy.orm import Session

from plugins.crm_register.access import client_filter
from plugins.crm_register.models import Client, ClientPerson, ClientSearchToken, Person
from plugins.crm_register.search import (
    PART_SEPARATOR,
    digits,
    fold,
    like_pattern,
    prefix_range,
    search_tokens,
)

SEARCH_LIMIT = 10
# Candidates read from the token index per search-while-typing request: enough to fill the
# result list for every realistic prefix, few enough to stay one short index range.
CANDIDATE_LIMIT = 200
_CHUNK = 500


def refresh_search(dbsession: Session, client: Client) -> None:
    """Recompute the folded search columns and search tokens of ``client`` from its fields
    and contacts (flushes the session first, so a new client gets its id)."""
    dbsession.flush()
    names = list(dbsession.scalars(
        sa.select(Person.name_search)
        .join(ClientPerson, ClientPerson.person_id == Person.id)
        .where(ClientPerson.client_id == client.id)
    ))
    apply_search_text(client, names)
    replace_search_tokens(dbsession, [client])


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
    client.search_text = PART_SEPARATOR.join(p for p in parts if p)


def replace_search_tokens(dbsession: Session, clients: list[Client]) -> None:
    """Replace the ``crm_client_search_token`` rows of flushed ``clients`` with the tokens of
    their current search text."""
    for start in range(0, len(clients), _CHUNK):
        chunk = clients[start:start + _CHUNK]
        dbsession.execute(sa.delete(ClientSearchToken).where(
            ClientSearchToken.client_id.in_([c.id for c in chunk])))
        rows = [
            {"tenant_id": c.tenant_id, "client_id": c.id, "token": token, "is_name": is_name}
            for c in chunk
            for token, is_name in search_tokens(c.search_text, c.name_search).items()
        ]
        if rows:
            dbsession.execute(sa.insert(ClientSearchToken), rows)


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


def _typed_prefixes(query: str) -> list[str]:
    """The folded prefixes to look up for ``query``: the folded text, and its digits when
    the input is a number written with spaces or signs ("+372 5123" -> "3725123")."""
    folded = fold(query)
    if not folded:
        return []
    prefixes = [folded]
    number = digits(query)
    if len(number) >= 3 and number != folded:
        prefixes.append(number)
    return prefixes


def _token_match(prefixes: list[str]) -> sa.ColumnElement[bool]:
    return sa.or_(*(prefix_range(ClientSearchToken.token, p) for p in prefixes))


def search_condition(query: str) -> sa.ColumnElement[bool]:
    """A condition on :class:`Client` for "matches the typed ``query``" (the register's and
    the API's search filter): a word or field of the client starts with the query."""
    prefixes = _typed_prefixes(query)
    if not prefixes:
        return sa.true()
    return Client.id.in_(
        sa.select(ClientSearchToken.client_id).where(_token_match(prefixes))
    )


def search_clients(request: Request, query: str, limit: int = SEARCH_LIMIT) -> list[Client]:
    """Clients whose name, codes, phone, e-mail or contact names start with ``query`` (a word
    of them or the whole field), for search while typing.

    Clients whose whole name starts with the query come first, by name; then other matches
    among the first :data:`CANDIDATE_LIMIT` tokens of the prefix, by name. Both steps are
    index ranges of ``crm_client_search_token``, so the time does not grow with the register.
    """
    prefixes = _typed_prefixes(query)
    if not prefixes:
        return []
    db = request.dbsession
    visible = client_filter(request)
    by_name = list(db.scalars(
        sa.select(Client)
        .join(ClientSearchToken, ClientSearchToken.client_id == Client.id)
        .where(ClientSearchToken.is_name.is_(True),
               prefix_range(ClientSearchToken.token, prefixes[0]), visible)
        .order_by(ClientSearchToken.token, Client.id)
        .limit(limit)
    ))
    if len(by_name) >= limit:
        return by_name
    candidates = (
        sa.select(ClientSearchToken.client_id)
        .join(Client, Client.id == ClientSearchToken.client_id)
        .where(_token_match(prefixes), visible)
        .order_by(ClientSearchToken.token)
        .limit(CANDIDATE_LIMIT)
        .subquery()
    )
    seen = {c.id for c in by_name}
    others = db.scalars(
        sa.select(Client)
        .where(Client.id.in_(sa.select(candidates.c.client_id)),
               Client.id.not_in(seen) if seen else sa.true())
        .order_by(Client.name_search, Client.id)
        .limit(limit - len(by_name))
    )
    return by_name + list(others)
