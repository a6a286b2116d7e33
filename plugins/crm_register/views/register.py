"""The client register (R1, R2, R4): list with filters and paging, search while typing,
and creating or editing a client with validated identifiers and duplicate checks."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy.orm import selectinload

from core.forms import Field, Form, Invalid
from core.models import User
from core.paging import paginate
from core.web import flash
from plugins.crm_register import identifiers
from plugins.crm_register.access import require_client, visible_clients
from plugins.crm_register.clients import (
    find_duplicates,
    refresh_search,
    search_clients,
    search_condition,
    similar_names,
)
from plugins.crm_register.i18n import _
from plugins.crm_register.labels import CLIENT_KINDS
from plugins.crm_register.models import Client, ClientGroup, ClientGroupLink, ClientType
from plugins.crm_register.numbering import next_number
from plugins.crm_register.permissions import CLIENT_CREDIT, CLIENT_EDIT, CLIENT_VIEW, IMPORT_RUN

PAGE_SIZE = 50
LANGUAGES = (("et", _("Estonian")), ("en", _("English")))


def _options(request: Request) -> dict[str, Any]:
    db = request.dbsession
    return {
        "groups": db.scalars(sa.select(ClientGroup).order_by(ClientGroup.position,
                                                             ClientGroup.name)).all(),
        "types": db.scalars(sa.select(ClientType).order_by(ClientType.position,
                                                           ClientType.name)).all(),
        "salespeople": db.scalars(sa.select(User).where(User.active.is_(True))
                                  .order_by(User.name)).all(),
    }


@view_config(route_name="crm_clients", renderer="plugins.crm_register:templates/register.pt",
             permission=CLIENT_VIEW)
def register(request: Request) -> dict[str, Any]:
    """The client list with search, filters by group, type and salesperson, and paging."""
    params = request.GET
    stmt = visible_clients(request)
    query = params.get("q", "").strip()
    if query:
        stmt = stmt.where(search_condition(query))
    group = params.get("group", "")
    if group.isdigit():
        stmt = stmt.where(Client.id.in_(
            sa.select(ClientGroupLink.client_id).where(ClientGroupLink.group_id == int(group))))
    client_type = params.get("type", "")
    if client_type.isdigit():
        stmt = stmt.where(Client.client_type_id == int(client_type))
    salesperson = params.get("salesperson", "")
    if salesperson.isdigit():
        stmt = stmt.where(Client.salesperson_id == int(salesperson))
    if params.get("inactive") != "1":
        stmt = stmt.where(Client.active.is_(True))
    stmt = stmt.options(selectinload(Client.group_links), selectinload(Client.salesperson))
    page = paginate(request.dbsession, request, stmt.order_by(Client.name_search, Client.id),
                    size=PAGE_SIZE)
    return {"pager": page, "q": query, "group": group, "type": client_type,
            "salesperson": salesperson, "can_edit": request.has_permission(CLIENT_EDIT),
            "can_import": request.has_permission(IMPORT_RUN),
            **_options(request)}


@view_config(route_name="crm_client_search", renderer="json", permission=CLIENT_VIEW)
def search_json(request: Request) -> dict[str, Any]:
    """Search while typing: up to 10 clients for the query ``q``."""
    query = request.GET.get("q", "").strip()[:100]
    clients = search_clients(request, query) if len(query) >= 2 else []
    return {
        "query": query,
        "results": [
            {"id": c.id, "name": c.name, "registry_code": c.registry_code or "",
             "phone": c.phone or "", "email": c.email or "",
             "url": request.route_url("crm_client", client_id=c.id)}
            for c in clients
        ],
        "create_url": request.route_url("crm_client_new", _query={"name": query})
        if request.has_permission(CLIENT_EDIT) else None,
    }


def client_fields(request: Request) -> list[Field]:
    """The fields of the client form; credit terms only with the credit permission."""
    options = _options(request)
    fields = [
        Field("kind", _("Client is"), "select", required=True, options=tuple(CLIENT_KINDS.items())),
        Field("name", _("Name"), required=True),
        Field("registry_code", _("Registry code / personal code"), max_length=20),
        Field("vat_number", _("VAT number (KMKR)"), max_length=20,
              validator=identifiers.vat_number),
        Field("iban", _("Bank account (IBAN)"), max_length=42, validator=identifiers.iban),
        Field("phone", _("Phone"), max_length=50),
        Field("mobile", _("Mobile"), max_length=50),
        Field("fax", _("Fax"), max_length=50),
        Field("email", _("E-mail"), "email", max_length=254),
        Field("invoice_email", _("E-mail for invoices"), "email", max_length=254,
              help=_("Leave empty to send invoices to the main e-mail.")),
        Field("website", _("Website"), max_length=200),
        Field("registered_on", _("Registration date"), "date"),
        Field("client_type_id", _("Client type"), "select",
              options=tuple((str(t.id), t.name) for t in options["types"])),
        Field("salesperson_id", _("Responsible salesperson"), "select",
              options=tuple((str(u.id), u.name) for u in options["salespeople"])),
        Field("language", _("Language of invoices and letters"), "select", required=True,
              options=LANGUAGES),
        Field("notes", _("Notes"), "textarea", max_length=None,
              help=_('Operational info, e.g. "if Terje cannot be reached, call Teet".')),
        Field("email_consent", _("Agrees to receive newsletters"), "checkbox"),
        Field("active", _("Active client"), "checkbox"),
    ]
    if request.has_permission(CLIENT_CREDIT):
        fields += [
            Field("sales_blocked", _("Sales blocked"), "checkbox"),
            Field("credit_limit", _("Credit limit (EUR)"), "decimal"),
            Field("payment_term_days", _("Payment term (days)"), "integer"),
        ]
    return fields


FORM_KEYS = ("kind", "name", "registry_code", "vat_number", "iban", "phone", "mobile", "fax",
             "email", "invoice_email", "website", "registered_on", "client_type_id",
             "salesperson_id", "language", "notes", "email_consent", "active")
CREDIT_KEYS = ("sales_blocked", "credit_limit", "payment_term_days")


def _initial(client: Client) -> dict[str, Any]:
    return {key: getattr(client, key) for key in (*FORM_KEYS, *CREDIT_KEYS)}


def _check_values(request: Request, form: Form) -> None:
    data = form.data
    code = data.get("registry_code") if "registry_code" not in form.errors else None
    if code:
        try:
            check = identifiers.registry_code if data.get("kind") != "person" \
                else identifiers.personal_code
            data["registry_code"] = check(code)
        except Invalid as exc:
            form.add_error("registry_code", exc.args[0])
    if data.get("credit_limit") is not None and data["credit_limit"] < 0:
        form.add_error("credit_limit", _("The credit limit cannot be negative."))
    term = data.get("payment_term_days")
    if term is not None and not 0 <= term <= 365:
        form.add_error("payment_term_days", _("Give a term between 0 and 365 days."))
    for key in ("client_type_id", "salesperson_id"):
        if data.get(key):
            data[key] = int(data[key])


def _save(request: Request, form: Form, client: Client | None) -> tuple[Client | None, Any]:
    """Validate the POSTed form and save; returns (client, None) or (None, page data).

    Every field is checked before anything is reported, so the user sees all errors at once.
    """
    form.validate()
    _check_values(request, form)
    if form.errors:
        return None, {}
    data = form.data
    duplicates = find_duplicates(request.dbsession, client.id if client else None,
                                 data.get("registry_code"), data.get("vat_number"))
    for duplicate in duplicates:
        form.add_error(duplicate.field, _("Another client already has this code."))
    if duplicates:
        return None, {"duplicates": duplicates}
    if client is None and not request.POST.get("confirm_similar"):
        similar = similar_names(request.dbsession, None, data["name"])
        if similar:
            return None, {"similar": similar}
    if client is None:
        client = Client(number=next_number(request.dbsession, "client"), name=data["name"])
        request.dbsession.add(client)
    for key in FORM_KEYS:
        setattr(client, key, data[key])
    client.email_consent = bool(data["email_consent"])
    client.active = bool(data["active"])
    if request.has_permission(CLIENT_CREDIT):
        for key in CREDIT_KEYS:
            setattr(client, key, data[key])
        client.sales_blocked = bool(data["sales_blocked"])
    wanted = {int(g) for g in request.POST.getall("groups") if g.isdigit()}
    groups = request.dbsession.scalars(sa.select(ClientGroup).where(ClientGroup.id.in_(wanted)))
    client.groups = list(groups)
    request.dbsession.flush()
    refresh_search(request.dbsession, client)
    return client, None


def _form_page(request: Request, form: Form, client: Client | None,
               extra: dict[str, Any]) -> dict[str, Any]:
    chosen = ({int(g) for g in request.POST.getall("groups") if g.isdigit()}
              if request.method == "POST"
              else {g.id for g in client.groups} if client else set())
    return {"form": form, "client": client, "chosen_groups": chosen, "duplicates": [],
            "similar": [], **_options(request), **extra}


@view_config(route_name="crm_client_new", renderer="plugins.crm_register:templates/client_form.pt",
             permission=CLIENT_EDIT)
def client_new(request: Request) -> Any:
    """Create a client (also the quick create from the search box: ``?name=...``)."""
    initial = {"kind": "company", "language": request.tenant.locale or "et", "active": True,
               "salesperson_id": request.user.id, "name": request.GET.get("name", "")}
    form = Form(request, client_fields(request), initial)
    extra: dict[str, Any] = {}
    if request.method == "POST":
        client, extra = _save(request, form, None)
        if client is not None:
            flash(request, _("Client ${name} was added."), name=client.name)
            return HTTPSeeOther(request.route_url("crm_client", client_id=client.id))
    if request.method == "POST":
        request.response.status_int = 400 if form.errors else 200
    return _form_page(request, form, None, extra or {})


@view_config(route_name="crm_client_edit",
             renderer="plugins.crm_register:templates/client_form.pt", permission=CLIENT_EDIT)
def client_edit(request: Request) -> Any:
    """Change a client's details."""
    client = require_client(request)
    form = Form(request, client_fields(request), _initial(client))
    extra: dict[str, Any] = {}
    if request.method == "POST":
        saved, extra = _save(request, form, client)
        if saved is not None:
            flash(request, _("Client ${name} was saved."), name=saved.name)
            return HTTPSeeOther(request.route_url("crm_client", client_id=saved.id))
    if request.method == "POST":
        request.response.status_int = 400  # nothing was changed: values apply only when valid
    return _form_page(request, form, client, extra or {})


def includeme(config: Any) -> None:
    """Register routes."""
    config.add_route("crm_clients", "/clients")
    config.add_route("crm_client_search", "/clients/search.json")
    config.add_route("crm_client_new", "/clients/new")
    config.add_route("crm_client_edit", "/clients/{client_id:\\d{1,9}}/edit")
    config.scan(__name__)

