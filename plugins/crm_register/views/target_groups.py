"""Target groups (R3): build a client filter, see the count and the list, save it by name,
and export e-mail addresses, postal addresses (CSV, XLSX) and address labels (PDF).

The filter travels in the query string (``GET /target-groups?groups=3&city=Tartu``), so a
filtered page and its exports can be bookmarked; saved groups keep it as JSON. Every query
goes through :func:`plugins.crm_register.access.visible_clients`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy.orm import selectinload

from core.forms import Field, Form
from core.models import User
from core.paging import paginate
from core.web import flash
from plugins.crm_register import exports
from plugins.crm_register.access import visible_client_ids
from plugins.crm_register.i18n import _
from plugins.crm_register.labels import CLIENT_KINDS
from plugins.crm_register.models import Address, Client, ClientGroup, ClientType, TargetGroup
from plugins.crm_register.permissions import TARGET_GROUP_USE
from plugins.crm_register.target_groups import (
    address_rows,
    email_rows,
    filter_statement,
    last_activities,
    ordered,
    parse_filters,
    query_params,
)

PAGE_SIZE = 50
TEMPLATE = "plugins.crm_register:templates/target_groups.pt"
NAME_FIELDS = (Field("name", _("Name of the target group"), required=True, max_length=100),)
STATUS_LABELS = (("active", _("Active clients")), ("inactive", _("Inactive clients")),
                 ("all", _("All clients")))
EXPORTS = {("emails", "csv"), ("emails", "xlsx"), ("addresses", "csv"),
           ("addresses", "xlsx"), ("labels", "pdf")}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _options(request: Request) -> dict[str, Any]:
    db = request.dbsession

    def distinct(column: Any) -> list[str]:
        values = db.scalars(sa.select(column).where(
            column.is_not(None), column != "",
            Address.client_id.in_(visible_client_ids(request))).distinct().order_by(column))
        return list(values)

    return {
        "groups": db.scalars(sa.select(ClientGroup).order_by(ClientGroup.position,
                                                             ClientGroup.name)).all(),
        "types": db.scalars(sa.select(ClientType).order_by(ClientType.position,
                                                           ClientType.name)).all(),
        "salespeople": db.scalars(sa.select(User).where(User.active.is_(True))
                                  .order_by(User.name)).all(),
        "counties": distinct(Address.county),
        "cities": distinct(Address.city),
        "kinds": list(CLIENT_KINDS.items()),
        "statuses": STATUS_LABELS,
        "saved": db.scalars(sa.select(TargetGroup).order_by(TargetGroup.name)).all(),
    }


def _saved_group(request: Request) -> TargetGroup:
    raw = request.matchdict.get("group_id", "")
    group = request.dbsession.get(TargetGroup, int(raw)) if str(raw).isdigit() else None
    if group is None:
        raise HTTPNotFound()
    return group


def _filters_for(request: Request, group: TargetGroup | None) -> tuple[dict[str, Any],
                                                                        dict[str, str]]:
    """The filters of the page: from the query string, else from the saved group."""
    source: Mapping[str, Any] = request.GET
    if group is not None and "f" not in request.GET:
        source = group.filters or {}
    parsed = parse_filters(source)
    errors = {key: request.translate(message) for key, message in parsed.errors.items()}
    return parsed.filters, errors


def _page(request: Request, filters: dict[str, Any], errors: dict[str, str],
          group: TargetGroup | None, form: Form, modified: bool | None = None
          ) -> dict[str, Any]:
    if errors:
        request.response.status_int = 400
        pager = None
        last: dict[int, Any] = {}
    else:
        stmt = ordered(filter_statement(request, filters)).options(
            selectinload(Client.group_links), selectinload(Client.client_type),
            selectinload(Client.salesperson))
        pager = paginate(request.dbsession, request, stmt, size=PAGE_SIZE)
        last = last_activities(request, [c.id for c in pager.items])
    params = query_params(filters)
    if modified is None:
        modified = group is not None and "f" in request.GET
    if group is not None and not modified:
        export_url = {
            (what, fmt): request.route_url("crm_target_group_export", group_id=group.id,
                                           what=what, fmt=fmt)
            for what, fmt in EXPORTS}
    else:
        export_url = {
            (what, fmt): request.route_url("crm_target_export", what=what, fmt=fmt,
                                           _query=params)
            for what, fmt in EXPORTS}
    return {
        "filters": filters, "errors": errors, "pager": pager, "last_activity": last,
        "params": params, "group": group, "modified": modified, "form": form,
        "export_url": export_url,
        "page_url": request.route_url("crm_target_group", group_id=group.id)
        if group is not None else request.route_url("crm_target_groups"),
        **_options(request),
    }


@view_config(route_name="crm_target_groups", request_method="GET", renderer=TEMPLATE,
             permission=TARGET_GROUP_USE)
def target_groups(request: Request) -> dict[str, Any]:
    """The filter builder with the count and a paged list of the matching clients."""
    filters, errors = _filters_for(request, None)
    return _page(request, filters, errors, None, Form(request, NAME_FIELDS))


def _name_taken(request: Request, name: str, group_id: int | None) -> bool:
    return request.dbsession.scalar(
        sa.select(TargetGroup.id).where(TargetGroup.name == name,
                                        TargetGroup.id != (group_id or 0))) is not None


def _posted(request: Request, form: Form, group: TargetGroup | None
            ) -> tuple[dict[str, Any], dict[str, str], bool]:
    """The POSTed filters, their errors, and whether filters and name may be saved."""
    parsed = parse_filters(request.POST)
    errors = {key: request.translate(message) for key, message in parsed.errors.items()}
    valid = form.validate()
    if valid and _name_taken(request, form.data["name"], group.id if group else None):
        form.add_error("name", _("A target group with this name already exists."))
        valid = False
    if errors:
        form.set_form_error(_("Correct the filter before saving it."))
    return parsed.filters, errors, valid and not errors


@view_config(route_name="crm_target_groups", request_method="POST", renderer=TEMPLATE,
             permission=TARGET_GROUP_USE)
def save_target_group(request: Request) -> Any:
    """Save the current filter as a new target group (name unique per tenant)."""
    form = Form(request, NAME_FIELDS)
    filters, errors, valid = _posted(request, form, None)
    if not valid:
        page = _page(request, filters, errors, None, form)
        request.response.status_int = 400
        return page
    group = TargetGroup(name=form.data["name"], filters=filters,
                        created_by_id=request.user.id)
    request.dbsession.add(group)
    request.dbsession.flush()
    flash(request, _("The target group ${name} was saved."), name=group.name)
    return HTTPSeeOther(request.route_url("crm_target_group", group_id=group.id))


@view_config(route_name="crm_target_group", request_method="GET", renderer=TEMPLATE,
             permission=TARGET_GROUP_USE)
def target_group(request: Request) -> dict[str, Any]:
    """A saved target group: its filter (changeable), count, list and exports."""
    group = _saved_group(request)
    filters, errors = _filters_for(request, group)
    return _page(request, filters, errors, group, Form(request, NAME_FIELDS,
                                                       {"name": group.name}))


@view_config(route_name="crm_target_group", request_method="POST", renderer=TEMPLATE,
             permission=TARGET_GROUP_USE)
def update_target_group(request: Request) -> Any:
    """Rename a saved group and replace its filter with the one shown."""
    group = _saved_group(request)
    form = Form(request, NAME_FIELDS, {"name": group.name})
    filters, errors, valid = _posted(request, form, group)
    if not valid:
        page = _page(request, filters, errors, group, form, modified=True)
        request.response.status_int = 400
        return page
    group.name = form.data["name"]
    group.filters = dict(filters)  # a new dict, so that the JSON column is saved
    flash(request, _("The target group ${name} was saved."), name=group.name)
    return HTTPSeeOther(request.route_url("crm_target_group", group_id=group.id))


@view_config(route_name="crm_target_group_delete", request_method="POST",
             permission=TARGET_GROUP_USE)
def delete_target_group(request: Request) -> Any:
    """Delete a saved target group (the clients stay as they are)."""
    group = _saved_group(request)
    name = group.name
    request.dbsession.delete(group)
    flash(request, _("The target group ${name} was deleted."), name=name)
    return HTTPSeeOther(request.route_url("crm_target_groups"))


def _filename(base: str, what: str, fmt: str, request: Request) -> str:
    words = {"emails": _("e-mails"), "addresses": _("addresses"), "labels": _("labels")}
    return f"{base}-{request.translate(words[what])}.{fmt}"


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", folded).strip("-") or "export"


def file_response(content: bytes, filename: str, content_type: str) -> Response:
    """A download: ``Content-Disposition: attachment`` with an ASCII and a UTF-8 name."""
    response = Response(body=content, content_type=content_type.split(";")[0])
    if content_type.startswith("text/"):
        response.charset = "utf-8"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{_ascii(filename)}\"; filename*=UTF-8''{quote(filename)}")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _export(request: Request, filters: dict[str, Any], base: str, back: str,
            title: str | None = None) -> Any:
    what, fmt = request.matchdict["what"], request.matchdict["fmt"]
    if (what, fmt) not in EXPORTS:
        raise HTTPNotFound()
    title = title or request.translate(_("Target group"))
    t = request.translate
    if what == "emails":
        headers = [t(_("Client")), t(_("E-mail")), t(_("Contact person"))]
        rows = [(r.client, r.email, r.contact) for r in email_rows(request, filters)]
    else:
        addresses, _missing = address_rows(request, filters)
        if what == "labels":
            skip_raw = request.GET.get("skip", "0").strip() or "0"
            if not skip_raw.isdigit() or int(skip_raw) >= exports.LABELS_PER_PAGE:
                flash(request, _("Give the number of labels to skip, 0 to 23."), "error")
                return HTTPSeeOther(back)
            if not addresses:
                flash(request, _("None of these clients has a postal or billing address."),
                      "warning")
                return HTTPSeeOther(back)
            labels = [_label_lines(request, r) for r in addresses]
            content = exports.labels_pdf(labels, skip=int(skip_raw), title=title)
            return file_response(content, _filename(base, what, fmt, request),
                                 CONTENT_TYPES[fmt])
        headers = [t(_("Name")), t(_("Recipient")), t(_("Street address")),
                   t(_("City or parish")), t(_("County")), t(_("Postal code")),
                   t(_("Country"))]
        rows = [(r.name, r.recipient, r.street, r.city, r.county, r.postal_code, r.country)
                for r in addresses]
    if fmt == "csv":
        content = exports.write_csv(headers, rows)
    else:
        content = exports.write_xlsx(headers, rows, title)
    return file_response(content, _filename(base, what, fmt, request), CONTENT_TYPES[fmt])


def _label_lines(request: Request, row: Any) -> list[str]:
    """Name, recipient, street, "postal code city", county, and the country if not Estonia."""
    place = " ".join(p for p in (row.postal_code, row.city) if p)
    lines = [row.name]
    if row.recipient and row.recipient != row.name:
        lines.append(row.recipient)
    lines += [row.street, place, row.county]
    if row.country and row.country.upper() != "EE":
        lines.append(row.country.upper())
    return lines


@view_config(route_name="crm_target_export", request_method="GET",
             permission=TARGET_GROUP_USE)
def export_filter(request: Request) -> Any:
    """Export the clients of the filter in the query string."""
    parsed = parse_filters(request.GET)
    back = request.route_url("crm_target_groups", _query=list(request.GET.items()))
    if parsed.errors:  # the filter page shows what is wrong
        return HTTPSeeOther(back)
    return _export(request, parsed.filters, "target-group", back)


@view_config(route_name="crm_target_group_export", request_method="GET",
             permission=TARGET_GROUP_USE)
def export_group(request: Request) -> Any:
    """Export the clients of a saved target group."""
    group = _saved_group(request)
    parsed = parse_filters(group.filters or {})
    back = request.route_url("crm_target_group", group_id=group.id)
    return _export(request, parsed.filters, _ascii(group.name).lower(), back, group.name)


def includeme(config: Any) -> None:
    """Register the target group routes."""
    config.add_route("crm_target_groups", "/target-groups")
    config.add_route("crm_target_export", "/target-groups/export/{what}.{fmt}")
    config.add_route("crm_target_group", "/target-groups/{group_id:\\d{1,9}}")
    config.add_route("crm_target_group_delete", "/target-groups/{group_id:\\d{1,9}}/delete")
    config.add_route("crm_target_group_export",
                     "/target-groups/{group_id:\\d{1,9}}/export/{what}.{fmt}")
    config.scan(__name__)
