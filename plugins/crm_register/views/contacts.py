"""Card tabs for contact persons (C7, C12), addresses (C8) and the client log (C13)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from core.audit import history
from core.forms import Field, Form
from core.web import flash
from plugins.crm_register.access import require_client, visible_client_ids
from plugins.crm_register.clients import refresh_person_search, refresh_search
from plugins.crm_register.i18n import _
from plugins.crm_register.labels import ADDRESS_KINDS
from plugins.crm_register.models import Address, Client, ClientPerson, Person
from plugins.crm_register.permissions import CLIENT_EDIT, CLIENT_VIEW
from plugins.crm_register.search import fold, like_pattern
from plugins.crm_register.views.card import card_context

PERSON_FIELDS = (
    Field("first_name", _("First name"), max_length=100),
    Field("last_name", _("Last name"), required=True, max_length=100),
    Field("title", _("Job title"), max_length=100),
    Field("phone", _("Phone"), max_length=50),
    Field("mobile", _("Mobile"), max_length=50),
    Field("email", _("E-mail"), "email", max_length=254),
    Field("birthday", _("Birthday"), "date"),
    Field("email_consent", _("Agrees to receive newsletters"), "checkbox"),
    Field("notes", _("Notes"), "textarea", max_length=None),
)
LINK_FIELDS = (
    Field("role", _("Role at this client"), max_length=100,
          help=_("E.g. board member, signatory, accountant.")),
    Field("is_primary", _("Main contact"), "checkbox"),
    Field("receives_invoices", _("Receives invoices"), "checkbox"),
)
PERSON_KEYS = ("first_name", "last_name", "title", "phone", "mobile", "email", "birthday",
               "email_consent", "notes")


def _apply_person(person: Person, data: dict[str, Any]) -> None:
    for key in PERSON_KEYS:
        value = data[key]
        setattr(person, key, bool(value) if key == "email_consent" else value)
    person.first_name = person.first_name or ""


@view_config(route_name="crm_client_contacts",
             renderer="plugins.crm_register:templates/contacts.pt", permission=CLIENT_VIEW)
def contacts(request: Request) -> Any:
    """The client's contact persons; add a new person or link an existing one."""
    client = require_client(request)
    form = Form(request, (*PERSON_FIELDS, *LINK_FIELDS))
    if request.method == "POST":
        if not request.has_permission(CLIENT_EDIT):
            raise HTTPNotFound()
        existing_id = request.POST.get("person_id", "")
        if existing_id.isdigit():
            return _link_existing(request, client, int(existing_id))
        if form.validate():
            person = Person(last_name=form.data["last_name"])
            _apply_person(person, form.data)
            request.dbsession.add(person)
            request.dbsession.flush()
            _link(request, client, person, form.data)
            flash(request, _("${name} was added to the contacts."), name=person.full_name)
            return HTTPSeeOther(request.route_url("crm_client_contacts", client_id=client.id))
        request.response.status_int = 400
    return {**card_context(request, client, "crm.contacts"), "form": form,
            "links": client.contacts}


def _link(request: Request, client: Client, person: Person, data: dict[str, Any]) -> None:
    if data.get("is_primary"):
        for other in client.contacts:
            other.is_primary = False
    request.dbsession.add(ClientPerson(
        client_id=client.id, person_id=person.id, role=data.get("role") or "",
        is_primary=bool(data.get("is_primary")),
        receives_invoices=bool(data.get("receives_invoices"))))
    request.dbsession.flush()
    refresh_person_search(request.dbsession, person)
    refresh_search(request.dbsession, client)


def _link_existing(request: Request, client: Client, person_id: int) -> Any:
    person = request.dbsession.get(Person, person_id)
    if person is None:
        raise HTTPNotFound()
    role = request.POST.get("role", "").strip()[:100]
    exists = request.dbsession.scalar(sa.select(ClientPerson.id).where(
        ClientPerson.client_id == client.id, ClientPerson.person_id == person.id,
        ClientPerson.role == role))
    if exists is None:
        _link(request, client, person, {"role": role})
        flash(request, _("${name} was linked to this client."), name=person.full_name)
    else:
        flash(request, _("${name} already has this role here."), "warning",
              name=person.full_name)
    return HTTPSeeOther(request.route_url("crm_client_contacts", client_id=client.id))


@view_config(route_name="crm_client_contact_remove", request_method="POST",
             permission=CLIENT_EDIT)
def remove_contact(request: Request) -> Any:
    """Unlink a person from the client (the person stays, with other links)."""
    client = require_client(request)
    link = request.dbsession.get(ClientPerson, int(request.matchdict["link_id"]))
    if link is None or link.client_id != client.id:
        raise HTTPNotFound()
    name = link.person.full_name
    person = link.person
    request.dbsession.delete(link)
    request.dbsession.flush()
    refresh_search(request.dbsession, client)
    refresh_person_search(request.dbsession, person)
    flash(request, _("${name} was removed from the contacts."), name=name)
    return HTTPSeeOther(request.route_url("crm_client_contacts", client_id=client.id))


@view_config(route_name="crm_person", renderer="plugins.crm_register:templates/person.pt",
             permission=CLIENT_VIEW)
def person_page(request: Request) -> Any:
    """One person: their details and every client they are linked to, with roles."""
    person = request.dbsession.get(Person, int(request.matchdict["person_id"]))
    visible = request.dbsession.scalars(
        sa.select(ClientPerson).where(ClientPerson.person_id == (person.id if person else 0),
                                      ClientPerson.client_id.in_(visible_client_ids(request)))
    ).all()
    if person is None or not visible:
        raise HTTPNotFound()
    initial = {key: getattr(person, key) for key in PERSON_KEYS}
    form = Form(request, PERSON_FIELDS, initial)
    if request.method == "POST":
        if not request.has_permission(CLIENT_EDIT):
            raise HTTPNotFound()
        if form.validate():
            _apply_person(person, form.data)
            refresh_person_search(request.dbsession, person)
            flash(request, _("${name} was saved."), name=person.full_name)
            return HTTPSeeOther(request.route_url("crm_person", person_id=person.id))
        request.response.status_int = 400
    return {"person": person, "links": visible, "form": form,
            "can_edit": request.has_permission(CLIENT_EDIT)}


@view_config(route_name="crm_person_search", renderer="json", permission=CLIENT_VIEW)
def person_search(request: Request) -> dict[str, Any]:
    """Persons matching ``q`` (to link an existing person to another client)."""
    query = fold(request.GET.get("q", ""))[:100]
    if len(query) < 2:
        return {"results": []}
    linked = sa.select(ClientPerson.person_id).where(
        ClientPerson.client_id.in_(visible_client_ids(request)))
    people = request.dbsession.scalars(
        sa.select(Person).where(Person.name_search.like(like_pattern(query), escape="\\"),
                                Person.id.in_(linked))
        .order_by(Person.name_search).limit(10)).all()
    return {"results": [{"id": p.id, "name": p.full_name, "email": p.email or "",
                         "title": p.title or ""} for p in people]}


ADDRESS_FIELDS = (
    Field("kind", _("Address type"), "select", required=True, options=tuple(ADDRESS_KINDS.items())),
    Field("recipient", _("Recipient (if not the client)"), max_length=200),
    Field("street", _("Street address"), required=True, max_length=200),
    Field("city", _("City or parish"), max_length=100),
    Field("county", _("County"), max_length=100),
    Field("postal_code", _("Postal code"), max_length=20),
    Field("country", _("Country code"), max_length=2, help=_("Two letters, e.g. EE, FI, LV.")),
)
ADDRESS_KEYS = ("kind", "recipient", "street", "city", "county", "postal_code", "country")


def _address_form(request: Request, address: Address | None) -> Form:
    initial = ({key: getattr(address, key) for key in ADDRESS_KEYS} if address
               else {"kind": "billing", "country": "EE"})
    return Form(request, ADDRESS_FIELDS, initial)


def _save_address(request: Request, form: Form, address: Address) -> bool:
    form.validate()
    country = (form.data.get("country") or "EE").upper()
    if not (len(country) == 2 and country.isalpha()):
        form.add_error("country", _("Two letters, e.g. EE, FI, LV."))
    if form.errors:
        return False
    for key in ADDRESS_KEYS:
        setattr(address, key, form.data[key])
    address.country = country
    return True


@view_config(route_name="crm_client_addresses",
             renderer="plugins.crm_register:templates/addresses.pt", permission=CLIENT_VIEW)
def addresses(request: Request) -> Any:
    """The client's addresses by type; add one."""
    client = require_client(request)
    form = _address_form(request, None)
    if request.method == "POST":
        if not request.has_permission(CLIENT_EDIT):
            raise HTTPNotFound()
        address = Address(client_id=client.id, street="")
        if _save_address(request, form, address):
            request.dbsession.add(address)
            flash(request, _("The address was added."))
            return HTTPSeeOther(request.route_url("crm_client_addresses", client_id=client.id))
        request.response.status_int = 400
    return {**card_context(request, client, "crm.addresses"), "form": form, "editing": None}


def _client_address(request: Request) -> tuple[Client, Address]:
    client = require_client(request)
    address = request.dbsession.get(Address, int(request.matchdict["address_id"]))
    if address is None or address.client_id != client.id:
        raise HTTPNotFound()
    return client, address


@view_config(route_name="crm_client_address",
             renderer="plugins.crm_register:templates/addresses.pt",
             permission=CLIENT_EDIT)
def address_edit(request: Request) -> Any:
    """Change or delete one address."""
    client, address = _client_address(request)
    form = _address_form(request, address)
    if request.method == "POST":
        if request.POST.get("action") == "delete":
            request.dbsession.delete(address)
            flash(request, _("The address was deleted."))
            return HTTPSeeOther(request.route_url("crm_client_addresses", client_id=client.id))
        if _save_address(request, form, address):
            flash(request, _("The address was saved."))
            return HTTPSeeOther(request.route_url("crm_client_addresses", client_id=client.id))
        request.response.status_int = 400
    return {**card_context(request, client, "crm.addresses"), "form": form, "editing": address}


@view_config(route_name="crm_client_log", renderer="plugins.crm_register:templates/log.pt",
             permission=CLIENT_VIEW)
def client_log(request: Request) -> Any:
    """Every change of the client and of what belongs to it, newest first (C13)."""
    client = require_client(request)
    entries = history(request.dbsession, Client, client.id, limit=500, with_children=True)
    return {**card_context(request, client, "crm.log"), "entries": entries}


def includeme(config: Any) -> None:
    """Register routes."""
    config.add_route("crm_client_contacts", "/clients/{client_id:\\d{1,9}}/contacts")
    config.add_route("crm_client_contact_remove",
                     "/clients/{client_id:\\d{1,9}}/contacts/{link_id:\\d{1,9}}/remove")
    config.add_route("crm_client_addresses", "/clients/{client_id:\\d{1,9}}/addresses")
    config.add_route("crm_client_address",
                     "/clients/{client_id:\\d{1,9}}/addresses/{address_id:\\d{1,9}}")
    config.add_route("crm_client_log", "/clients/{client_id:\\d{1,9}}/log")
    config.add_route("crm_person_search", "/persons/search.json")
    config.add_route("crm_person", "/persons/{person_id:\\d{1,9}}")
    config.scan(__name__)
