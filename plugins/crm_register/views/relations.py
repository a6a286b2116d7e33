"""The "organisations and persons" tab of the client card (C12).

Relations between clients (subsidiary, branch, partner, other) are stored once, from the
subsidiary's (branch's) side, and shown on both cards with the wording of that side:
"Subsidiary of: B" on A's card and "Parent company of: A" on B's. The tab also lists this
client's contact persons who are linked to other clients too (one person, several roles:
e.g. a board member of several companies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy.orm import joinedload

from core.forms import Field, Form
from core.web import flash
from plugins.crm_register.access import require_client, visible_client_ids, visible_clients
from plugins.crm_register.i18n import _
from plugins.crm_register.labels import RELATION_OF, RELATION_OF_REVERSE
from plugins.crm_register.models import Client, ClientPerson, Person, Relation
from plugins.crm_register.permissions import CLIENT_EDIT, CLIENT_VIEW
from plugins.crm_register.views.card import card_context

CLIENT_CHOICES = 500
"""At most this many clients in the plain select; beyond that the number field helps."""
DIRECTIONS: dict[str, tuple[str, bool]] = {
    "subsidiary": ("subsidiary", True),
    "parent": ("subsidiary", False),
    "branch": ("branch", True),
    "head_office": ("branch", False),
    "partner": ("partner", True),
    "other": ("other", True),
}
"""Form choice -> (Relation.kind, this client is the ``from`` side)."""
DIRECTION_LABELS = {
    "subsidiary": RELATION_OF["subsidiary"], "parent": RELATION_OF_REVERSE["subsidiary"],
    "branch": RELATION_OF["branch"], "head_office": RELATION_OF_REVERSE["branch"],
    "partner": RELATION_OF["partner"], "other": RELATION_OF["other"],
}
RELATION_FIELDS = (
    Field("direction", _("This client is"), "select", required=True,
          options=tuple(DIRECTION_LABELS.items())),
    Field("note", _("Note"), max_length=300,
          help=_("E.g. the share held, or who to contact there.")),
)


@dataclass(frozen=True)
class RelationRow:
    """A relation as seen from one client's card."""

    relation: Relation
    other: Client
    phrase: Any
    """"Subsidiary of", "Parent company of"...: what this client is to ``other``."""


@dataclass(frozen=True)
class SharedPerson:
    """A contact person of this client who is linked to other clients too."""

    person: Person
    roles_here: list[str]
    elsewhere: list[ClientPerson]


def relation_rows(request: Request, client: Client) -> list[RelationRow]:
    """The client's relations from its side, with the other client visible to the user."""
    relations = request.dbsession.scalars(
        sa.select(Relation).where(sa.or_(Relation.from_client_id == client.id,
                                         Relation.to_client_id == client.id))
        .options(joinedload(Relation.from_client), joinedload(Relation.to_client))).all()
    other_ids = {r.to_client_id if r.from_client_id == client.id else r.from_client_id
                 for r in relations}
    visible = set(request.dbsession.scalars(
        visible_client_ids(request).where(Client.id.in_(other_ids)))) if other_ids else set()
    rows = []
    for r in relations:
        outgoing = r.from_client_id == client.id
        other = r.to_client if outgoing else r.from_client
        if other.id not in visible or other.id == client.id:
            continue
        phrase = (RELATION_OF if outgoing else RELATION_OF_REVERSE).get(r.kind, r.kind)
        rows.append(RelationRow(r, other, phrase))
    order = list(DIRECTION_LABELS.values())
    rows.sort(key=lambda row: (order.index(row.phrase) if row.phrase in order else 99,
                               row.other.name_search or row.other.name.lower(), row.other.id))
    return rows


def shared_persons(request: Request, client: Client) -> list[SharedPerson]:
    """This client's contact persons who are also linked to other (visible) clients."""
    links = request.dbsession.scalars(
        sa.select(ClientPerson).where(ClientPerson.client_id == client.id)
        .options(joinedload(ClientPerson.person))).all()
    if not links:
        return []
    person_ids = {link.person_id for link in links}
    others = request.dbsession.scalars(
        sa.select(ClientPerson).where(ClientPerson.person_id.in_(person_ids),
                                      ClientPerson.client_id != client.id,
                                      ClientPerson.client_id.in_(visible_client_ids(request)))
        .options(joinedload(ClientPerson.client))
        .order_by(ClientPerson.id)).all()
    elsewhere: dict[int, list[ClientPerson]] = {}
    for link in others:
        elsewhere.setdefault(link.person_id, []).append(link)
    result: dict[int, SharedPerson] = {}
    for link in links:
        if link.person_id not in elsewhere:
            continue
        shared = result.setdefault(link.person_id, SharedPerson(
            link.person, [], sorted(elsewhere[link.person_id],
                                    key=lambda x: (x.client.name_search or "", x.id))))
        if link.role:
            shared.roles_here.append(link.role)
    return sorted(result.values(), key=lambda s: (s.person.last_name, s.person.first_name))


def _client_choices(request: Request, client: Client) -> tuple[list[Client], bool]:
    clients = list(request.dbsession.scalars(
        visible_clients(request).where(Client.id != client.id)
        .order_by(Client.name_search, Client.id).limit(CLIENT_CHOICES + 1)))
    return clients[:CLIENT_CHOICES], len(clients) > CLIENT_CHOICES


def _page(request: Request, client: Client, form: Form, other_error: str | None = None,
          other_id: str = "", other_number: str = "") -> dict[str, Any]:
    choices, truncated = _client_choices(request, client) if request.has_permission(
        CLIENT_EDIT) else ([], False)
    return {
        **card_context(request, client, "crm.relations"), "form": form,
        "rows": relation_rows(request, client), "shared": shared_persons(request, client),
        "choices": choices, "truncated": truncated, "other_error": other_error,
        "other_id": other_id, "other_number": other_number,
    }


@view_config(route_name="crm_client_relations", request_method="GET",
             renderer="plugins.crm_register:templates/relations.pt", permission=CLIENT_VIEW)
def client_relations(request: Request) -> dict[str, Any]:
    """Related organisations from this client's side, and persons shared with others."""
    client = require_client(request)
    return _page(request, client, Form(request, RELATION_FIELDS, {"direction": "subsidiary"}))


def _other_client(request: Request, client: Client) -> tuple[Client | None, Any]:
    """The chosen other client, or None with the reason."""
    raw_id = request.POST.get("other_id", "")
    raw_number = request.POST.get("other_number", "")
    raw_id = raw_id.strip() if isinstance(raw_id, str) else ""
    raw_number = raw_number.strip() if isinstance(raw_number, str) else ""
    stmt = visible_clients(request)
    if raw_id:
        if not raw_id.isdigit():
            return None, _("Choose the organisation from the list.")
        other = request.dbsession.scalar(stmt.where(Client.id == int(raw_id)))
    elif raw_number:
        if not raw_number.isdigit():
            return None, _("Give the client number as digits.")
        other = request.dbsession.scalar(stmt.where(Client.number == int(raw_number)))
    else:
        return None, _("Choose the organisation.")
    if other is None:
        return None, _("No such client.")
    if other.id == client.id:
        return None, _("A client cannot be related to itself.")
    return other, None


@view_config(route_name="crm_client_relations", request_method="POST",
             renderer="plugins.crm_register:templates/relations.pt", permission=CLIENT_EDIT)
def add_relation(request: Request) -> Any:
    """Relate another client to this one; no relation to itself and no duplicates."""
    client = require_client(request)
    form = Form(request, RELATION_FIELDS)
    form.validate()
    other, problem = _other_client(request, client)
    if other is not None and "direction" not in form.errors:
        kind, outgoing = DIRECTIONS[form.data["direction"]]
        pair = (client.id, other.id)
        exists = request.dbsession.scalar(sa.select(Relation.id).where(
            Relation.kind == kind, Relation.from_client_id.in_(pair),
            Relation.to_client_id.in_(pair)))
        if exists is not None:
            problem = _("These clients already have this kind of relation.")
    if form.errors or problem is not None:
        request.response.status_int = 400
        return _page(request, client, form,
                     request.translate(problem) if problem is not None else None,
                     request.POST.get("other_id", ""), request.POST.get("other_number", ""))
    assert other is not None
    from_id, to_id = (client.id, other.id) if outgoing else (other.id, client.id)
    request.dbsession.add(Relation(from_client_id=from_id, to_client_id=to_id, kind=kind,
                                   note=form.data["note"]))
    request.dbsession.flush()
    flash(request, _("The relation with ${name} was added."), name=other.name)
    return HTTPSeeOther(request.route_url("crm_client_relations", client_id=client.id))


@view_config(route_name="crm_client_relation_remove", request_method="POST",
             permission=CLIENT_EDIT)
def remove_relation(request: Request) -> Any:
    """Remove a relation (from either client's card)."""
    client = require_client(request)
    row = next((row for row in relation_rows(request, client)
                if row.relation.id == int(request.matchdict["relation_id"])), None)
    if row is None:
        raise HTTPNotFound()
    request.dbsession.delete(row.relation)
    flash(request, _("The relation with ${name} was removed."), name=row.other.name)
    return HTTPSeeOther(request.route_url("crm_client_relations", client_id=client.id))


def includeme(config: Any) -> None:
    """Register routes."""
    config.add_route("crm_client_relations", "/clients/{client_id:\\d{1,9}}/relations")
    config.add_route("crm_client_relation_remove",
                     "/clients/{client_id:\\d{1,9}}/relations/{relation_id:\\d{1,9}}/remove")
    config.scan(__name__)
