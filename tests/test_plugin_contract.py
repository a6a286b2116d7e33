"""The contract every installed plugin keeps, checked for each one found by its entry point.

A plugin's manifest reads without importing it; its templates compile; its migrations are
one Alembic branch of its own with one head and produce exactly its models' schema; its
tables are named ``<plugin>_...`` and tenant-scoped with ``tenant_id`` leading every
composite index; its permissions are named ``<plugin>:resource:action``; every view on its
routes declares a permission; its gettext catalogue translates every message to Estonian.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from chameleon import PageTemplateFile

import core.sdk
from core.db import Base, TenantScoped
from core.migrate import CORE_VERSIONS, alembic_config
from core.models import ROLES
from core.plugins import Manifest, PluginSet, discover_manifests

INSTALLED: dict[str, Manifest] = discover_manifests()
PLUGINS = sorted(INSTALLED)
PERMISSION_RE = r"[a-z0-9_-]+:[a-z0-9_-]+"



def _mapped_classes(plugins: PluginSet, name: str) -> list[type]:
    return [
        mapper.class_ for mapper in Base.registry.mappers
        if plugins.plugin_of_module(mapper.class_.__module__) == name
    ]


def _plugin_tables(plugins: PluginSet, name: str) -> list[sa.Table]:
    prefix = PluginSet.discover().manifests[name].table_prefix
    return [t for t in Base.metadata.sorted_tables if t.name.startswith(f"{prefix}_")]


def _script_directory(plugins: PluginSet) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://", plugins))


def _revisions_in(script: ScriptDirectory, folder: Path) -> list[Script]:
    return [s for s in script.walk_revisions()
            if Path(s.path).resolve().parent == folder.resolve()]


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


# --- manifest --------------------------------------------------------------------------

@pytest.mark.parametrize("name", PLUGINS)
def test_manifest_reads_without_importing_the_plugin(name: str) -> None:
    manifest = INSTALLED[name]
    code = (
        "import sys; from core.plugins import read_manifest; "
        f"m = read_manifest({manifest.module!r}); "
        f"loaded = [n for n in sys.modules if n == {manifest.module!r} "
        f"or n.startswith({manifest.module + '.'!r})]; "
        "print(m.name, m.version, loaded)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [name, manifest.version, "[]"]


@pytest.mark.parametrize("name", PLUGINS)
def test_manifest_fields(name: str, plugin_set: PluginSet) -> None:
    manifest = INSTALLED[name]
    assert re.fullmatch(r"[a-z][a-z0-9_]*", name), "plugin names are lower-case identifiers"
    assert re.fullmatch(r"\d+(\.\d+)*([.-]?\w+)*", manifest.version)
    assert manifest.label.get("en") and manifest.label.get("et"), "label in en and et"
    for dep in (*manifest.depends, *manifest.optional_depends):
        assert dep != name
    for dep in manifest.depends:
        assert dep in INSTALLED, f"required plugin {dep!r} is not installed"
    if manifest.hooks is not None:
        assert manifest.hooks.startswith(manifest.module + "."), "hooks module in the package"
        assert plugin_set.plugin_of_module(manifest.hooks) == name


# --- templates -------------------------------------------------------------------------

@pytest.mark.parametrize("name", PLUGINS)
def test_templates_compile(name: str) -> None:
    templates = sorted(INSTALLED[name].path.rglob("*.pt"))
    for path in templates:
        template = PageTemplateFile(str(path))
        template.cook_check()  # parses the markup and compiles every expression
        assert template.macros is not None


# --- migrations ------------------------------------------------------------------------

@pytest.mark.parametrize("name", PLUGINS)
def test_migrations_are_one_branch_with_one_head(name: str, plugin_set: PluginSet) -> None:
    manifest = plugin_set.manifests[name]
    tables = _plugin_tables(plugin_set, name)
    folder = manifest.migrations_dir
    if folder is None:
        assert not tables, f"plugin {name!r} has tables but no migrations/versions folder"
        return
    script = _script_directory(plugin_set)
    own = _revisions_in(script, folder)
    assert own, f"{folder} holds no revision"
    ids = {s.revision for s in own}
    bases = [s for s in own if not _as_tuple(s.down_revision)]
    assert len(bases) == 1, f"expected one base revision, got {[s.revision for s in bases]}"
    assert name in bases[0].branch_labels, f"the base must have branch_labels = ({name!r},)"
    for s in own:
        assert set(_as_tuple(s.down_revision)) <= ids, (
            f"{s.revision} continues a revision outside the plugin's folder; "
            "use depends_on for other branches")
    heads = [s for s in own if not any(s.revision in _as_tuple(o.down_revision) for o in own)]
    assert len(heads) == 1, f"expected one head, got {[s.revision for s in heads]}"
    assert script.get_revision(f"{name}@head").revision == heads[0].revision
    # The branch depends (directly or through a dependency) on the core's first revision.
    core_base = next(s.revision for s in _revisions_in(script, CORE_VERSIONS)
                     if not _as_tuple(s.down_revision))
    reached = {r.revision for r in script.iterate_revisions(heads[0].revision, "base")}
    assert core_base in reached, "the first revision must depend on the core (depends_on)"


@pytest.mark.parametrize("name", PLUGINS)
def test_migrations_create_exactly_the_models_schema(
        name: str, plugin_set: PluginSet, db_url: str) -> None:
    tables = {t.name for t in _plugin_tables(plugin_set, name)}
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            existing = set(sa.inspect(connection).get_table_names())
            assert tables <= existing, f"not created by the migrations: {tables - existing}"
            context = MigrationContext.configure(connection, opts={
                "compare_type": True,
                "include_object": lambda obj, n, kind, reflected, other: (
                    kind != "table" or n in tables),
            })
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"migrations and models of {name!r} differ: {diff}"


# --- models ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", PLUGINS)
def test_models_are_prefixed_and_tenant_scoped(name: str, plugin_set: PluginSet) -> None:
    for cls in _mapped_classes(plugin_set, name):
        table = cls.__table__
        prefix = plugin_set.manifests[name].table_prefix
        assert table.name.startswith(f"{prefix}_"), f"{cls.__name__}: table {table.name}"
        assert issubclass(cls, TenantScoped), f"{cls.__name__} is not TenantScoped"
        assert "tenant_id" in table.c
    for table in _plugin_tables(plugin_set, name):
        assert "tenant_id" in table.c, f"{table.name} has no tenant_id"
        composites = [
            (type(c).__name__, [col.name for col in c.columns])
            for c in (*table.indexes, *table.constraints)
            if isinstance(c, sa.Index | sa.UniqueConstraint) and len(c.columns) > 1
        ]
        for kind, columns in composites:
            assert columns[0] == "tenant_id", f"{table.name}: {kind} {columns} must lead " \
                                              "with tenant_id"


def test_every_table_belongs_to_the_core_or_a_plugin(plugin_set: PluginSet) -> None:
    prefixes = ("core_", *(f"{m.table_prefix}_" for m in plugin_set.manifests.values()))
    strays = [t.name for t in Base.metadata.sorted_tables if not t.name.startswith(prefixes)]
    assert strays == []


# --- permissions -----------------------------------------------------------------------

@pytest.mark.parametrize("name", PLUGINS)
def test_permissions_are_named_after_the_plugin(name: str, plugin_set: PluginSet) -> None:
    for permission in plugin_set.permissions_of(name):
        assert re.fullmatch(f"{re.escape(name)}:{PERMISSION_RE}", permission.name), (
            f"{permission.name!r} is not named {name}:resource:action")
        assert permission.label, f"{permission.name} has no label"
        assert set(permission.default_roles) <= set(ROLES), permission.default_roles


def test_permission_names_are_unique(plugin_set: PluginSet) -> None:
    names = [p.name for n in ("core", *plugin_set.order) for p in plugin_set.permissions_of(n)]
    assert len(names) == len(set(names))


# --- views -----------------------------------------------------------------------------

def _view_permission(introspector: Any, view: Any) -> Any:
    for related in introspector.related(view):
        if related.category_name == "permissions":
            return related["value"]
    return getattr(view.get("derived_callable"), "__permission__", None)


def _under(path: str | None, folder: Path) -> bool:
    return path is not None and Path(path).resolve().is_relative_to(folder.resolve())


@pytest.mark.parametrize("name", PLUGINS)
def test_views_of_the_plugin_declare_a_permission(name: str, app: Any) -> None:
    plugins: PluginSet = app.registry["plugins"]
    folder = plugins.manifests[name].path
    introspector = app.registry.introspector
    routes = {
        item["introspectable"]["name"]
        for item in introspector.get_category("routes")
        if _under(item["introspectable"].action_info.file, folder)
    }
    views = [
        item["introspectable"] for item in introspector.get_category("views")
        if item["introspectable"]["route_name"] in routes
        or plugins.plugin_of_module(getattr(item["introspectable"]["callable"],
                                            "__module__", "") or "") == name
    ]
    for view in views:
        if view["exception_only"]:
            continue
        permission = _view_permission(introspector, view)
        assert permission is not None, f"view {view.title} of {name!r} has no permission"
    routed = {view["route_name"] for view in views}
    assert routes <= routed, f"routes without a view: {routes - routed}"


# --- translations ----------------------------------------------------------------------

def _read_po(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, abort_invalid=True)


@pytest.mark.parametrize("name", PLUGINS)
def test_catalogue_translates_everything_to_estonian(name: str) -> None:
    locale_dir = INSTALLED[name].locale_dir
    if locale_dir is None:
        return
    sources = [*locale_dir.glob("*.pot"), *locale_dir.glob("*/LC_MESSAGES/*.po")]
    if not sources:
        return
    for path in sources:
        assert path.stem == name, f"{path}: the translation domain must be the plugin name"
    catalogues = {path: _read_po(path) for path in sources}
    msgids = {m.id for cat in catalogues.values() for m in cat if m.id}
    et_path = locale_dir / "et" / "LC_MESSAGES" / f"{name}.po"
    assert et_path in catalogues, f"{et_path} is missing"
    et = catalogues[et_path]
    for msgid in sorted(msgids, key=str):
        message = et.get(msgid)
        assert message is not None, f"no Estonian entry for {msgid!r}"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"no Estonian translation for {msgid!r}"
        assert not message.fuzzy, f"the Estonian translation of {msgid!r} is fuzzy"
    mo_path = et_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: compile the catalogue"
    with mo_path.open("rb") as f:
        compiled = read_mo(f)
    for message in et:
        if message.id:
            assert compiled.get(message.id) is not None, f"{mo_path} is stale ({message.id!r})"
            assert compiled[message.id].string == message.string, f"{mo_path} is stale"


# --- the SDK ---------------------------------------------------------------------------

def test_sdk_exports_the_plugin_api() -> None:
    from pyramid.i18n import TranslationString
    from pyramid.security import NO_PERMISSION_REQUIRED

    from core import db, forms, hookspecs, models, web
    from core.hookspecs import types

    expected = {
        "hookimpl": hookspecs.hookimpl, "MenuItem": types.MenuItem,
        "Permission": types.Permission, "Widget": types.Widget,
        "JobHandler": types.JobHandler, "Base": db.Base, "TenantScoped": db.TenantScoped,
        "utcnow": db.utcnow, "Audited": models.Audited, "Field": forms.Field,
        "Form": forms.Form, "flash": web.flash, "NO_PERMISSION_REQUIRED": NO_PERMISSION_REQUIRED,
        "CardTab": types.CardTab, "Invalid": forms.Invalid, "OrderStep": types.OrderStep,
        "EInvoiceChannel": types.EInvoiceChannel, "CardFact": types.CardFact,
        "StatementParser": types.StatementParser,
    }
    for attr, value in expected.items():
        assert getattr(core.sdk, attr) is value, attr
    assert set(core.sdk.__all__) == {*expected, "translation_factory"}
    message = core.sdk.translation_factory("acme")("Notes")
    assert isinstance(message, TranslationString)
    assert (message.domain, str(message)) == ("acme", "Notes")
    assert core.sdk.__doc__ and "stable" in core.sdk.__doc__
