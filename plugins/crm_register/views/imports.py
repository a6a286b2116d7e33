"""Import of clients and contacts from CSV or XLSX (issue item 9), in four steps:

1. ``GET/POST /clients/import``: upload a file (CSV in UTF-8 with ``;`` or ``,``, or XLSX;
   at most 10 MB and 20 000 lines). The table is kept server-side as a JSON file under
   ``storage.path`` with a random token, bound to the user (see
   :class:`plugins.crm_register.importing.ImportStore`): nothing goes to the database yet,
   and nothing large goes into the (cookie) session.
2. ``/clients/import/{token}``: map each column to a field or ignore it; the mapping of the
   last finished import is remembered in ``Tenant.settings["crm_register.import_mapping"]``.
3. ``/clients/import/{token}/preview``: a dry run saying per line what will happen, with
   the errors by line number. Nothing is written.
4. ``POST /clients/import/{token}/confirm``: the same plan is computed again; if it differs
   from the preview (the register changed meanwhile) or has errors, nothing is written and
   the new preview is shown. Otherwise the stored file is claimed (an atomic rename, so a
   second click cannot run the import twice), every line is written in one transaction
   (all or nothing), and the file is removed after the commit (given back if the
   transaction is rolled back, e.g. to be retried).
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy.exc import IntegrityError
from translationstring import TranslationString

from core.paging import Page, page_number
from core.web import flash
from plugins.crm_register.i18n import _
from plugins.crm_register.importing import (
    FIELD_BY_KEY,
    FIELDS,
    MAPPING_SETTING,
    MAX_BYTES,
    FileRefused,
    ImportStore,
    LinePlan,
    Plan,
    apply_plan,
    guess_mapping,
    make_plan,
    new_state,
    read_file,
)
from plugins.crm_register.labels import ADDRESS_KINDS
from plugins.crm_register.permissions import IMPORT_RUN
from plugins.crm_register.search import fold

UPLOAD_TEMPLATE = "plugins.crm_register:templates/import_upload.pt"
MAPPING_TEMPLATE = "plugins.crm_register:templates/import_mapping.pt"
PREVIEW_TEMPLATE = "plugins.crm_register:templates/import_preview.pt"
LINES_PER_PAGE = 100
SAMPLE_ROWS = 3
PARTS = (("client", _("Client")), ("address", _("Address")), ("contact", _("Contact person")))
ACTION_LABELS = {"create": _("New client"), "update": _("Update"),
                 "unchanged": _("No changes"), "error": _("Error")}


def message(request: Request, text: Any) -> str:
    """Translate ``text``, including translation strings inside its mapping."""
    if isinstance(text, TranslationString) and text.mapping:
        mapping = {key: request.translate(value) if isinstance(value, TranslationString)
                   else value for key, value in text.mapping.items()}
        return request.translate(TranslationString(text, mapping=mapping))
    return request.translate(text)


def _store(request: Request) -> ImportStore:
    return ImportStore.for_request(request)


def _state(request: Request) -> dict[str, Any] | None:
    return _store(request).load(request.matchdict["token"], request.user.id)


def _expired(request: Request) -> HTTPSeeOther:
    flash(request, _("This import has finished or expired. Upload the file again."), "warning")
    return HTTPSeeOther(request.route_url("crm_import"))


@view_config(route_name="crm_import", request_method="GET", renderer=UPLOAD_TEMPLATE,
             permission=IMPORT_RUN)
def upload_form(request: Request) -> dict[str, Any]:
    """Step 1: choose the file."""
    return {"error": None, "fields": FIELDS}


@view_config(route_name="crm_import", request_method="POST", renderer=UPLOAD_TEMPLATE,
             permission=IMPORT_RUN)
def upload(request: Request) -> Any:
    """Read the uploaded file and keep its table for the next steps."""
    upload = request.POST.get("file")
    error: Any = None
    if request.content_length and request.content_length > MAX_BYTES + 1024 * 1024:
        error = _("The file is larger than 10 MB.")
    elif not hasattr(upload, "file") or not getattr(upload, "filename", ""):
        error = _("Choose a file to import.")
    else:
        try:
            data = upload.file.read(MAX_BYTES + 1)
            sheet = read_file(upload.filename, data)
        except FileRefused as exc:
            error = exc.args[0]
    if error is not None:
        request.response.status_int = 400
        return {"error": message(request, error), "fields": FIELDS}
    token = _store(request).create(new_state(request.user.id, upload.filename, sheet))
    return HTTPSeeOther(request.route_url("crm_import_mapping", token=token))


def _mapping_page(request: Request, state: dict[str, Any], mapping: list[str],
                  errors: list[str]) -> dict[str, Any]:
    samples = [cells for _number, cells in state["rows"][:SAMPLE_ROWS]]
    columns = [
        {"index": i, "header": header, "choice": mapping[i] if i < len(mapping) else "",
         "samples": [row[i] for row in samples if i < len(row) and row[i]]}
        for i, header in enumerate(state["headers"])
    ]
    options = [(request.translate(label), [(f.key, request.translate(f.label))
                                           for f in FIELDS if f.part == part])
               for part, label in PARTS]
    return {"state": state, "columns": columns, "options": options, "errors": errors,
            "token": request.matchdict["token"], "address_kinds": list(ADDRESS_KINDS.items()),
            "address_kind": state.get("address_kind") or "billing",
            "line_count": len(state["rows"])}


@view_config(route_name="crm_import_mapping", request_method="GET", renderer=MAPPING_TEMPLATE,
             permission=IMPORT_RUN)
def mapping_form(request: Request) -> Any:
    """Step 2: which field each column holds (remembered from the last import)."""
    state = _state(request)
    if state is None:
        return _expired(request)
    mapping = state.get("mapping")
    if not mapping:
        remembered = (request.tenant.settings or {}).get(MAPPING_SETTING) or {}
        columns = remembered.get("columns") if isinstance(remembered, dict) else None
        mapping = guess_mapping(state["headers"], columns if isinstance(columns, dict) else {})
        if remembered.get("address_kind") in ADDRESS_KINDS:
            state["address_kind"] = remembered["address_kind"]
    return _mapping_page(request, state, mapping, [])


@view_config(route_name="crm_import_mapping", request_method="POST",
             renderer=MAPPING_TEMPLATE, permission=IMPORT_RUN)
def save_mapping(request: Request) -> Any:
    """Check the mapping and go on to the preview."""
    state = _state(request)
    if state is None:
        return _expired(request)
    mapping: list[str] = []
    errors: list[str] = []
    used: dict[str, str] = {}
    for i, header in enumerate(state["headers"]):
        key = request.POST.get(f"col-{i}", "")
        if key and key not in FIELD_BY_KEY:
            errors.append(request.translate(_("Column ${column}: choose one of the options.",
                                              mapping={"column": header})))
            key = ""
        if key in used:
            errors.append(request.translate(_(
                "${field} is chosen for two columns: ${a} and ${b}.",
                mapping={"field": request.translate(FIELD_BY_KEY[key].label),
                         "a": used[key], "b": header})))
        elif key:
            used[key] = header
        mapping.append(key)
    if "name" not in used:
        errors.append(request.translate(_("Choose the column that holds the client's name.")))
    kind = request.POST.get("address_kind", "billing")
    if kind not in ADDRESS_KINDS:
        errors.append(request.translate(_("Choose the type of the imported addresses.")))
        kind = "billing"
    state["address_kind"] = kind
    if errors:
        request.response.status_int = 400
        return _mapping_page(request, state, mapping, errors)
    state["mapping"] = mapping
    _store(request).save(request.matchdict["token"], state)
    return HTTPSeeOther(request.route_url("crm_import_preview",
                                          token=request.matchdict["token"]))


def _line_view(request: Request, line: LinePlan) -> dict[str, Any]:
    details: list[str] = []
    if line.action == "update" and line.changes:
        details.append(request.translate(_("Changes: ${fields}", mapping={
            "fields": ", ".join(request.translate(c) for c in line.changes)})))
    if line.address == "add":
        details.append(request.translate(_("Adds an address")))
    elif line.address == "update":
        details.append(request.translate(_("Changes the address")))
    if line.contact == "add":
        details.append(request.translate(_("Adds the contact person ${name}",
                                           mapping={"name": line.contact_name})))
    elif line.contact == "update":
        details.append(request.translate(_("Updates the contact person ${name}",
                                           mapping={"name": line.contact_name})))
    return {
        "line": line.line, "name": line.name, "action": line.action,
        "action_label": request.translate(ACTION_LABELS[line.action]),
        "client_number": line.client_number,
        "client_url": request.route_url("crm_client", client_id=line.client_id)
        if line.client_id else None,
        "details": details, "errors": [message(request, e) for e in line.errors],
    }


def _preview_page(request: Request, state: dict[str, Any], plan: Plan,
                  notice: Any = None) -> dict[str, Any]:
    number = page_number(request)
    start = (number - 1) * LINES_PER_PAGE
    shown = plan.lines[start:start + LINES_PER_PAGE]
    pager = Page(items=[_line_view(request, line) for line in shown], number=number,
                 size=LINES_PER_PAGE, total=len(plan.lines), request=request)
    return {
        "state": state, "plan": plan, "pager": pager, "token": request.matchdict["token"],
        "error_lines": [_line_view(request, line) for line in plan.errors[:500]],
        "error_count": len(plan.errors),
        "counts": {"create": plan.count("create"), "update": plan.count("update"),
                   "unchanged": plan.count("unchanged"),
                   "contacts_added": plan.contacts_added,
                   "contacts_updated": plan.contacts_updated},
        "fingerprint": plan.fingerprint,
        "notice": message(request, notice) if notice is not None else None,
    }


@view_config(route_name="crm_import_preview", request_method="GET",
             renderer=PREVIEW_TEMPLATE, permission=IMPORT_RUN)
def preview(request: Request) -> Any:
    """Step 3: the dry run; nothing is written."""
    state = _state(request)
    if state is None:
        return _expired(request)
    if not state.get("mapping"):
        return HTTPSeeOther(request.route_url("crm_import_mapping",
                                              token=request.matchdict["token"]))
    plan = make_plan(request, state)
    return _preview_page(request, state, plan)


@view_config(route_name="crm_import_confirm", request_method="POST",
             renderer=PREVIEW_TEMPLATE, permission=IMPORT_RUN)
def confirm(request: Request) -> Any:
    """Step 4: write the previewed plan in one transaction, or nothing at all."""
    state = _state(request)
    if state is None or not state.get("mapping"):
        return _expired(request)
    plan = make_plan(request, state)
    if plan.errors:
        request.response.status_int = 400
        return _preview_page(request, state, plan,
                             _("Correct the lines with errors in the file and upload it again."))
    if request.POST.get("fingerprint") != plan.fingerprint:
        request.response.status_int = 409
        return _preview_page(request, state, plan, _(
            "The client register changed after the preview. Check the preview below and "
            "confirm again."))
    store, token = _store(request), request.matchdict["token"]
    if store.claim(token, request.user.id) is None:  # a second click while the first runs
        return _expired(request)
    applied = {"done": False}

    def after_commit(committed: bool) -> None:
        if committed and applied["done"]:
            store.delete(token)
        else:
            store.release(token)

    transaction = request.tm.get()
    transaction.addAfterCommitHook(after_commit)
    transaction.addAfterAbortHook(lambda: store.release(token))
    try:
        with request.dbsession.begin_nested():
            summary = apply_plan(request, plan)
    except IntegrityError:
        request.response.status_int = 409
        return _preview_page(request, state, plan, _(
            "Another user saved the same client at the same time; nothing was imported. "
            "Check the preview and confirm again."))
    applied["done"] = True
    tenant = request.tenant
    columns = {fold(header): key for header, key in zip(state["headers"], state["mapping"],
                                                        strict=False)}
    remembered = {"columns": columns, "address_kind": plan.address_kind}
    # A new dict: the JSON column is not mutation-tracked, so SQLAlchemy sees the change.
    tenant.settings = {**(tenant.settings or {}), MAPPING_SETTING: remembered}
    flash(request, _("Import finished: ${created} clients added, ${updated} updated, "
                     "${contacts} contact persons added, ${contacts_updated} updated."),
          created=summary["created"], updated=summary["updated"],
          contacts=summary["contacts_added"], contacts_updated=summary["contacts_updated"])
    return HTTPSeeOther(request.route_url("crm_clients"))


@view_config(route_name="crm_import_cancel", request_method="POST", permission=IMPORT_RUN)
def cancel(request: Request) -> Any:
    """Drop the uploaded file without importing anything."""
    _store(request).delete(request.matchdict["token"])
    flash(request, _("The import was cancelled; nothing was changed."), "info")
    return HTTPSeeOther(request.route_url("crm_import"))


def includeme(config: Any) -> None:
    """Register the import routes."""
    # The token's shape is checked by ImportStore (a bad one reads as an expired import).
    config.add_route("crm_import", "/clients/import")
    config.add_route("crm_import_mapping", "/clients/import/{token}")
    config.add_route("crm_import_preview", "/clients/import/{token}/preview")
    config.add_route("crm_import_confirm", "/clients/import/{token}/confirm")
    config.add_route("crm_import_cancel", "/clients/import/{token}/cancel")
    config.scan(__name__)
