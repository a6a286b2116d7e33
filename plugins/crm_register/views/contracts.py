"""The contracts tab of the client card (C9): the base terms agreed with the client.

A contract may carry a file: it is registered in the documents register as a document of
the type "Leping" (when the tenant has that type) and linked by ``Contract.document_id``;
a new file on an existing contract becomes a new version of that document.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from core.db import utcnow
from core.forms import Field, Form
from core.i18n import tenant_zone
from core.web import flash
from plugins.crm_register.access import require_client
from plugins.crm_register.documents import (
    add_version,
    contract_document_type,
    register_document,
)
from plugins.crm_register.i18n import _
from plugins.crm_register.models import Client, Contract, Document
from plugins.crm_register.permissions import (
    CLIENT_EDIT,
    CLIENT_VIEW,
    DOCUMENT_EDIT,
    DOCUMENT_VIEW,
)
from plugins.crm_register.storage import (
    StorageError,
    Upload,
    UploadError,
    max_upload_bytes,
    read_upload,
)
from plugins.crm_register.views.card import card_context
from plugins.crm_register.views.documents import STORAGE_FAILED, upload_limit_mb

log = logging.getLogger(__name__)
CONTRACT_KEYS = ("number", "title", "starts_on", "ends_on", "terms")
CONTRACT_FIELDS = (
    Field("number", _("Contract number"), required=True, max_length=50),
    Field("title", _("Title"), required=True, max_length=200),
    Field("starts_on", _("Valid from"), "date"),
    Field("ends_on", _("Valid until"), "date"),
    Field("terms", _("Terms to respect in service"), "textarea", max_length=None,
          help=_("E.g. response time, prices agreed, who may order.")),
)


def _contracts(request: Request, client: Client) -> list[Contract]:
    return list(request.dbsession.scalars(
        sa.select(Contract).where(Contract.client_id == client.id)
        .order_by(Contract.starts_on.desc().nulls_last(), Contract.id.desc())))


def _page(request: Request, client: Client, form: Form,
          editing: Contract | None) -> dict[str, Any]:
    contracts = _contracts(request, client)
    document_ids = {c.document_id for c in contracts if c.document_id}
    if editing is not None and editing.document_id:
        document_ids.add(editing.document_id)
    documents = {d.id: d for d in request.dbsession.scalars(
        sa.select(Document).where(Document.id.in_(document_ids),
                                  Document.client_id == client.id))} if document_ids else {}
    return {
        **card_context(request, client, "crm.contracts"), "form": form, "editing": editing,
        "contracts": contracts, "documents": documents,
        "today": today_in(request),
        "can_attach": request.has_permission(DOCUMENT_EDIT),
        "can_see_documents": request.has_permission(DOCUMENT_VIEW),
        "max_mb": upload_limit_mb(request),
    }


def _validate(request: Request, client: Client, form: Form,
              contract: Contract | None) -> Upload | None:
    """Check the fields and read the optional file; errors go to ``form``."""
    form.validate()
    data = form.data
    if (data.get("starts_on") and data.get("ends_on") and "ends_on" not in form.errors
            and data["ends_on"] < data["starts_on"]):
        form.add_error("ends_on", _("The end date cannot be before the start date."))
    if data.get("number") and "number" not in form.errors:
        same = sa.select(Contract.id).where(Contract.client_id == client.id,
                                            Contract.number == data["number"])
        if contract is not None:
            same = same.where(Contract.id != contract.id)
        if request.dbsession.scalar(same) is not None:
            form.add_error("number", _("This client already has a contract with this number."))
    field = request.POST.get("file")
    if getattr(field, "file", None) is None:
        return None
    if not request.has_permission(DOCUMENT_EDIT):
        form.add_error("file", _("You may not register documents."))
        form.set_form_error(_("You may not register documents."))
        return None
    try:
        return read_upload(field, max_upload_bytes(request.registry.settings))
    except UploadError as exc:
        form.add_error("file", exc.args[0])
        return None


def _attach(request: Request, client: Client, document_id: int | None, data: dict[str, Any],
            upload: Upload) -> int:
    """Store the file as the contract's document (a new version if it has one); returns the
    document's id. The file is stored before any row is written."""
    document = None
    if document_id:
        document = request.dbsession.scalar(sa.select(Document).where(
            Document.id == document_id, Document.client_id == client.id))
    if document is not None:
        add_version(request, document, upload)
        return document.id
    doc_type = contract_document_type(request)
    document = register_document(
        request, client, upload, title=f"{data['number']} {data['title']}"[:200],
        type_id=doc_type.id if doc_type else None, status="signed",
        description=None, project_id=None, activity_id=None)
    return document.id


def _save(request: Request, client: Client, form: Form, contract: Contract | None,
          upload: Upload | None) -> Contract | None:
    """Store the file first, then the contract; None (with a form error) when storing fails."""
    document_id = contract.document_id if contract is not None else None
    if upload is not None:
        try:
            document_id = _attach(request, client, document_id, form.data, upload)
        except StorageError:
            log.exception("Storing the file of a contract of client %s failed", client.id)
            form.set_form_error(STORAGE_FAILED)
            return None
    if contract is None:
        contract = Contract(client_id=client.id, number=form.data["number"],
                            title=form.data["title"])
        request.dbsession.add(contract)
    for key in CONTRACT_KEYS:
        setattr(contract, key, form.data[key])
    contract.document_id = document_id
    request.dbsession.flush()
    return contract


@view_config(route_name="crm_client_contracts", request_method="GET",
             renderer="plugins.crm_register:templates/contracts.pt", permission=CLIENT_VIEW)
def client_contracts(request: Request) -> dict[str, Any]:
    """The client's contracts with their terms and files; the new contract form."""
    client = require_client(request)
    return _page(request, client, Form(request, CONTRACT_FIELDS), None)


@view_config(route_name="crm_client_contracts", request_method="POST",
             renderer="plugins.crm_register:templates/contracts.pt", permission=CLIENT_EDIT)
def add_contract(request: Request) -> Any:
    """Add a contract (optionally with its file); 400 with field errors on bad input."""
    client = require_client(request)
    form = Form(request, CONTRACT_FIELDS)
    upload = _validate(request, client, form, None)
    if form.errors:
        request.response.status_int = 400
        return _page(request, client, form, None)
    contract = _save(request, client, form, None, upload)
    if contract is None:
        request.response.status_int = 503
        return _page(request, client, form, None)
    flash(request, _("Contract ${number} was added."), number=contract.number)
    return HTTPSeeOther(request.route_url("crm_client_contracts", client_id=client.id))


def _client_contract(request: Request) -> tuple[Client, Contract]:
    client = require_client(request)
    contract = request.dbsession.get(Contract, int(request.matchdict["contract_id"]))
    if contract is None or contract.client_id != client.id:
        raise HTTPNotFound()
    return client, contract


def _edit_form(request: Request, contract: Contract) -> Form:
    return Form(request, CONTRACT_FIELDS, {key: getattr(contract, key) for key in CONTRACT_KEYS})


@view_config(route_name="crm_client_contract", request_method="GET",
             renderer="plugins.crm_register:templates/contracts.pt", permission=CLIENT_EDIT)
def contract_form(request: Request) -> dict[str, Any]:
    """The tab with one contract's form filled in, to change or delete it."""
    client, contract = _client_contract(request)
    return _page(request, client, _edit_form(request, contract), contract)


@view_config(route_name="crm_client_contract", request_method="POST",
             renderer="plugins.crm_register:templates/contracts.pt", permission=CLIENT_EDIT)
def contract_edit(request: Request) -> Any:
    """Save or delete a contract; its document stays in the documents register."""
    client, contract = _client_contract(request)
    if request.POST.get("action") == "delete":
        number = contract.number
        request.dbsession.delete(contract)
        flash(request, _("Contract ${number} was deleted."), number=number)
        return HTTPSeeOther(request.route_url("crm_client_contracts", client_id=client.id))
    form = _edit_form(request, contract)
    upload = _validate(request, client, form, contract)
    if form.errors:
        request.response.status_int = 400
        return _page(request, client, form, contract)
    if _save(request, client, form, contract, upload) is None:
        request.response.status_int = 503
        return _page(request, client, form, contract)
    flash(request, _("Contract ${number} was saved."), number=contract.number)
    return HTTPSeeOther(request.route_url("crm_client_contracts", client_id=client.id))


def today_in(request: Request) -> dt.date:
    """Today's date in the tenant's time zone."""
    return utcnow().astimezone(tenant_zone(request)).date()


def includeme(config: Any) -> None:
    """Register routes."""
    config.add_route("crm_client_contracts", "/clients/{client_id:\\d{1,9}}/contracts")
    config.add_route("crm_client_contract",
                     "/clients/{client_id:\\d{1,9}}/contracts/{contract_id:\\d{1,9}}")
    config.scan(__name__)
