"""Administration: modules per tenant, users, role permissions, audit log, outbox."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from core.audit import history
from core.forms import Field, Form
from core.i18n import LANGUAGES, _
from core.models import ROLES, AuditEntry, AuthSession, Job, MailMessage, RolePermission, User
from core.paging import paginate
from core.plugins import dependants, dependency_closure
from core.security import declared_permissions
from core.tenancy import PluginStateError, disable_plugin, enable_plugin
from core.views.account import MIN_PASSWORD
from core.web import flash

ROLE_LABELS = {
    "admin": _("Administrator"),
    "manager": _("Manager"),
    "sales": _("Salesperson"),
    "accountant": _("Accountant"),
    "secretary": _("Secretary"),
}


STATUS_LABELS = {
    "queued": _("queued"),
    "sending": _("sending"),
    "sent": _("sent"),
    "failed": _("failed"),
    "running": _("running"),
    "done": _("done"),
}
ACTION_LABELS = {"insert": _("created"), "update": _("changed"), "delete": _("deleted")}


# --- Modules ---------------------------------------------------------------------------

@view_config(route_name="admin_modules", renderer="core:templates/admin/modules.pt",
             permission="core:modules:manage")
def modules(request: Request) -> dict[str, Any]:
    """Every installed plugin with its state for this tenant."""
    plugins = request.registry["plugins"]
    enabled = request.enabled_plugins
    locale = request.locale_name
    rows = []
    for name in plugins.order:
        manifest = plugins.manifests[name]
        rows.append({
            "name": name,
            "label": manifest.label_for(locale),
            "description": manifest.description_for(locale),
            "version": manifest.version,
            "enabled": name in enabled,
            "depends": [plugins.label(d, locale) for d in manifest.depends],
            "needed_by": [plugins.label(d, locale)
                          for d in dependants(plugins.manifests, name) if d in enabled],
            "will_enable": [plugins.label(d, locale)
                            for d in dependency_closure(plugins.manifests, name)
                            if d != name and d not in enabled],
        })
    return {"modules": rows}


@view_config(route_name="admin_module_toggle", request_method="POST",
             permission="core:modules:manage")
def toggle_module(request: Request) -> Any:
    """Enable (with its dependencies) or disable one plugin for the tenant."""
    plugins = request.registry["plugins"]
    name = request.matchdict["name"]
    if name not in plugins.manifests:
        raise HTTPNotFound()
    label = plugins.label(name, request.locale_name)
    action = request.POST.get("action")
    if action == "enable":
        newly = enable_plugin(request.dbsession, plugins, request.tenant, name)
        others = [plugins.label(n, request.locale_name) for n in newly if n != name]
        if others:
            flash(request, _("${name} was enabled, together with ${others}."),
                  name=label, others=", ".join(others))
        else:
            flash(request, _("${name} was enabled."), name=label)
    elif action == "disable":
        try:
            disable_plugin(request.dbsession, plugins, request.tenant, name)
        except PluginStateError as exc:
            flash(request, _("${name} cannot be disabled: ${others} need it. Disable them first."),
                  "error", name=label,
                  others=", ".join(plugins.label(n, request.locale_name) for n in exc.others))
        else:
            flash(request, _("${name} was disabled. Its data is kept."), name=label)
    else:
        flash(request, _("Unknown action."), "error")
    return HTTPSeeOther(request.route_url("admin_modules"))


# --- Users -----------------------------------------------------------------------------

def user_fields(new: bool) -> tuple[Field, ...]:
    """Fields of the user form; a password is required for a new user."""
    return (
        Field("name", _("Name"), required=True),
        Field("email", _("E-mail"), "email", required=True, max_length=254),
        Field("role", _("Role"), "select", required=True, options=tuple(ROLE_LABELS.items())),
        Field("locale", _("Language"), "select", options=tuple(LANGUAGES.items())),
        Field("phone", _("Phone"), max_length=50),
        Field("birthday", _("Birthday"), "date"),
        Field("active", _("Active (may log in)"), "checkbox"),
        Field("password", _("Password") if new else _("New password"), "password",
              required=new, min_length=MIN_PASSWORD, autocomplete="new-password",
              help=None if new else _("Leave empty to keep the current password.")),
    )


@view_config(route_name="admin_users", renderer="core:templates/admin/users.pt",
             permission="core:users:manage")
def users(request: Request) -> dict[str, Any]:
    """The tenant's users."""
    page = paginate(request.dbsession, request, sa.select(User).order_by(User.name))
    return {"pager": page, "role_labels": ROLE_LABELS}


def _save_user(request: Request, form: Form, user: User | None) -> User | None:
    data = form.data
    clash = request.dbsession.scalar(sa.select(User.id).where(User.email == data["email"]))
    if clash is not None and (user is None or clash != user.id):
        form.add_error("email", _("Another user already has this e-mail address."))
        return None
    if user is not None and user.id == request.user.id and (
            data["role"] != "admin" or not data["active"]):
        form.add_error("role", _("You cannot take away your own administrator rights."))
        return None
    if user is None:
        user = User(email=data["email"], name=data["name"], role=data["role"])
        request.dbsession.add(user)
    user.name, user.email, user.role = data["name"], data["email"], data["role"]
    user.locale, user.phone, user.birthday = data["locale"], data["phone"], data["birthday"]
    user.active = bool(data["active"])
    if data["password"]:
        user.password_hash = request.registry["passwords"].hash(data["password"])
    request.dbsession.flush()
    if not user.active or data["password"]:
        request.dbsession.execute(sa.delete(AuthSession).where(AuthSession.user_id == user.id))
    return user


@view_config(route_name="admin_user_new", renderer="core:templates/admin/user_form.pt",
             permission="core:users:manage")
def user_new(request: Request) -> Any:
    """Create a user."""
    form = Form(request, user_fields(True), {"role": "sales", "active": True,
                                              "locale": request.tenant.locale})
    if request.method == "POST" and form.validate() and _save_user(request, form, None):
        flash(request, _("User ${name} was created."), name=form.data["name"])
        return HTTPSeeOther(request.route_url("admin_users"))
    return {"form": form, "user": None, "log": [], "action_labels": ACTION_LABELS}


@view_config(route_name="admin_user_edit", renderer="core:templates/admin/user_form.pt",
             permission="core:users:manage")
def user_edit(request: Request) -> Any:
    """Change a user's details, role, state or password."""
    user = request.dbsession.get(User, int(request.matchdict["id"]))
    if user is None:
        raise HTTPNotFound()
    form = Form(request, user_fields(False), {
        "name": user.name, "email": user.email, "role": user.role, "locale": user.locale,
        "phone": user.phone, "birthday": user.birthday, "active": user.active,
    })
    if request.method == "POST" and form.validate() and _save_user(request, form, user):
        flash(request, _("User ${name} was saved."), name=user.name)
        return HTTPSeeOther(request.route_url("admin_users"))
    return {"form": form, "user": user, "log": history(request.dbsession, User, user.id, 20),
            "action_labels": ACTION_LABELS}


# --- Roles -----------------------------------------------------------------------------

@view_config(route_name="admin_roles", renderer="core:templates/admin/roles.pt",
             permission="core:roles:manage")
def roles(request: Request) -> Any:
    """The permission matrix: which role holds which permission (admin holds all)."""
    declared = declared_permissions(request)
    editable_roles = [r for r in ROLES if r != "admin"]
    if request.method == "POST":
        wanted = {
            (role, name)
            for role in editable_roles
            for name in declared
            if f"{role}|{name}" in request.POST
        }
        current = {(rp.role, rp.permission): rp
                   for rp in request.dbsession.scalars(sa.select(RolePermission))}
        for key, row in current.items():
            if key[1] in declared and key not in wanted:
                request.dbsession.delete(row)
        for role, name in wanted - set(current):
            request.dbsession.add(RolePermission(role=role, permission=name))
        flash(request, _("Permissions were saved."))
        return HTTPSeeOther(request.route_url("admin_roles"))
    granted = {(rp.role, rp.permission)
               for rp in request.dbsession.scalars(sa.select(RolePermission))}
    plugins = request.registry["plugins"]
    groups: dict[str, list[Any]] = {}
    for name in sorted(declared):
        plugin = name.split(":", 1)[0]
        label = request.translate(_("Core")) if plugin == "core" else (
            plugins.label(plugin, request.locale_name) if plugin in plugins.manifests else plugin)
        groups.setdefault(label, []).append(declared[name])
    return {"groups": groups, "roles": editable_roles, "granted": granted,
            "role_labels": ROLE_LABELS}


# --- Audit log -------------------------------------------------------------------------

@view_config(route_name="admin_audit", renderer="core:templates/admin/audit.pt",
             permission="core:audit:view")
def audit(request: Request) -> dict[str, Any]:
    """Audit entries, optionally of one entity type or one record."""
    entity = request.GET.get("entity", "").strip()
    entity_id = request.GET.get("entity_id", "").strip()
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    page = paginate(request.dbsession, request, stmt)
    return {"pager": page, "entity": entity, "entity_id": entity_id,
            "action_labels": ACTION_LABELS}


# --- Outbox ----------------------------------------------------------------------------

@view_config(route_name="admin_outbox", renderer="core:templates/admin/outbox.pt",
             permission="core:outbox:view")
def outbox(request: Request) -> dict[str, Any]:
    """Outgoing e-mail and background jobs with their state."""
    status = request.GET.get("status", "")
    stmt = sa.select(MailMessage).order_by(MailMessage.id.desc())
    if status:
        stmt = stmt.where(MailMessage.status == status)
    page = paginate(request.dbsession, request, stmt)
    jobs = request.dbsession.scalars(sa.select(Job).order_by(Job.id.desc()).limit(20)).all()
    return {"pager": page, "jobs": jobs, "status": status, "status_labels": STATUS_LABELS}
