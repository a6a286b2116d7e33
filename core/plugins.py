"""Plugin discovery, manifests, dependency order and the per-tenant hook relay.

A plugin is a Python package registered in the entry-point group ``kliendihaldus.plugins``
(``name = "package.module"``) with a ``plugin.toml`` manifest beside its ``__init__.py``:

.. code-block:: toml

    name = "acme"
    version = "1.0.0"
    label = { en = "ACME tools", et = "ACME tööriistad" }
    depends = []               # plugins that must be installed and enabled first
    optional_depends = []      # plugins used when present

Manifests are read without importing the plugin, so a broken dependency graph is reported
before any plugin code runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from core import hookspecs

ENTRY_POINT_GROUP = "kliendihaldus.plugins"
CORE = "core"
"""The name under which the core registers its own hook implementations."""


class StartupError(SystemExit):
    """Start-up cannot continue; the message is one line naming the setting or plugin."""


@dataclass(frozen=True)
class Manifest:
    """A plugin's ``plugin.toml``: identity, labels and dependencies."""

    name: str
    version: str
    module: str
    path: Path
    label: Mapping[str, str] = field(default_factory=dict)
    description: Mapping[str, str] = field(default_factory=dict)
    depends: tuple[str, ...] = ()
    optional_depends: tuple[str, ...] = ()
    hooks: str | None = None
    table_prefix: str = ""
    """Prefix of the plugin's table names (``acme`` -> ``acme_note``); defaults to the name."""

    def __post_init__(self) -> None:
        if not self.table_prefix:
            object.__setattr__(self, "table_prefix", self.name)

    def label_for(self, locale: str) -> str:
        """The plugin's label in ``locale``, falling back to English and then the name."""
        return self.label.get(locale) or self.label.get("en") or self.name

    def description_for(self, locale: str) -> str:
        """The plugin's description in ``locale``, falling back to English."""
        return self.description.get(locale) or self.description.get("en") or ""

    @property
    def migrations_dir(self) -> Path | None:
        """The plugin's Alembic versions folder, if it has one."""
        path = self.path / "migrations" / "versions"
        return path if path.is_dir() else None

    @property
    def locale_dir(self) -> Path | None:
        """The plugin's gettext catalogue folder, if it has one."""
        path = self.path / "locale"
        return path if path.is_dir() else None


def _as_labels(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": value}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {}


def read_manifest(module: str) -> Manifest:
    """Read the ``plugin.toml`` of the package ``module`` without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        raise StartupError(f"Plugin package '{module}' cannot be found: {exc}") from exc
    if spec is None or not spec.submodule_search_locations:
        raise StartupError(f"Plugin package '{module}' is not installed or is not a package")
    path = Path(next(iter(spec.submodule_search_locations)))
    manifest_file = path / "plugin.toml"
    try:
        data = tomllib.loads(manifest_file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise StartupError(f"Plugin package '{module}' has no plugin.toml") from exc
    except tomllib.TOMLDecodeError as exc:
        raise StartupError(f"Plugin package '{module}' has an invalid plugin.toml: {exc}") from exc
    hooks = data.get("hooks")
    if hooks is not None and not isinstance(hooks, str):
        raise StartupError(f"plugin.toml of '{module}': hooks must be a module name")
    for key in ("depends", "optional_depends"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise StartupError(f"plugin.toml of '{module}': {key} must be a list of names")
    try:
        return Manifest(
            name=str(data["name"]),
            version=str(data["version"]),
            module=module,
            path=path,
            label=_as_labels(data.get("label")),
            description=_as_labels(data.get("description")),
            depends=tuple(data.get("depends", ())),
            optional_depends=tuple(data.get("optional_depends", ())),
            hooks=hooks,
            table_prefix=str(data.get("table_prefix") or ""),
        )
    except KeyError as exc:
        raise StartupError(f"plugin.toml of '{module}' lacks the field {exc.args[0]}") from exc


def discover_manifests() -> dict[str, Manifest]:
    """Manifests of every plugin registered in the ``kliendihaldus.plugins`` group."""
    manifests: dict[str, Manifest] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        manifest = read_manifest(ep.value)
        if manifest.name != ep.name:
            raise StartupError(
                f"Plugin entry point '{ep.name}' points to a manifest named '{manifest.name}'"
            )
        if manifest.name in manifests and manifests[manifest.name].module != manifest.module:
            raise StartupError(f"Plugin '{manifest.name}' is installed twice")
        manifests[manifest.name] = manifest
    return manifests


def dependency_order(manifests: Mapping[str, Manifest]) -> list[str]:
    """Plugin names ordered so that every plugin comes after its dependencies.

    Raises :class:`StartupError` naming the plugin when a dependency is missing or when
    dependencies form a cycle. Optional dependencies order plugins when present.
    """
    for manifest in manifests.values():
        for dep in manifest.depends:
            if dep not in manifests:
                raise StartupError(
                    f"Plugin '{manifest.name}' depends on '{dep}', which is not installed"
                )
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise StartupError(f"Plugin '{name}' has a dependency cycle: {cycle}")
        state[name] = "visiting"
        manifest = manifests[name]
        deps = [*manifest.depends, *(d for d in manifest.optional_depends if d in manifests)]
        for dep in sorted(deps):
            visit(dep, [*path, name])
        state[name] = "done"
        order.append(name)

    for name in sorted(manifests):
        visit(name, [])
    return order


def dependency_closure(manifests: Mapping[str, Manifest], name: str) -> list[str]:
    """``name`` and everything it depends on (required dependencies), dependencies first."""
    result: list[str] = []

    def visit(current: str) -> None:
        if current in result:
            return
        for dep in manifests[current].depends:
            visit(dep)
        result.append(current)

    visit(name)
    return result


def dependants(manifests: Mapping[str, Manifest], name: str) -> list[str]:
    """Plugins that require ``name`` directly or indirectly."""
    found: set[str] = set()
    frontier = {name}
    while frontier:
        frontier = {
            m.name
            for m in manifests.values()
            if m.name != name and m.name not in found and frontier & set(m.depends)
        }
        found |= frontier
    return sorted(found)


class PluginSet:
    """The installed plugins, imported in dependency order, with their pluggy manager.

    ``hooks_for(enabled)`` relays hook calls only to the core and the enabled plugins.
    """

    def __init__(self, manifests: Mapping[str, Manifest]) -> None:
        self.manifests: dict[str, Manifest] = dict(manifests)
        self.order: list[str] = dependency_order(self.manifests)
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        hookspecs.add_all(self.pm)
        self.modules: dict[str, ModuleType] = {}
        self._hook_modules: dict[str, ModuleType] = {}
        self._relays: dict[frozenset[str], HookRelay] = {}

    @classmethod
    def discover(cls) -> PluginSet:
        """Discover the installed plugins from their entry points."""
        return cls(discover_manifests())

    def load(self) -> PluginSet:
        """Import every plugin and register the core's and the plugins' hook implementations."""
        from core import hooks as core_hooks

        if self.pm.is_registered(core_hooks):
            return self  # already loaded
        self.pm.register(core_hooks, name=CORE)
        for name in self.order:
            manifest = self.manifests[name]
            try:
                module = importlib.import_module(manifest.module)
                hook_module = importlib.import_module(manifest.hooks) if manifest.hooks else module
            except Exception as exc:
                raise StartupError(f"Plugin '{name}' failed to import: {exc}") from exc
            self.modules[name] = module
            self._hook_modules[name] = hook_module
            self.pm.register(hook_module, name=name)
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise StartupError(f"Plugin '{exc.plugin}' implements an unknown hook: {exc}") from exc
        return self

    def hooks_for(self, enabled: Iterable[str]) -> HookRelay:
        """A hook relay reaching the core and the plugins in ``enabled`` only."""
        key = frozenset(name for name in enabled if name in self._hook_modules)
        relay = self._relays.get(key)
        if relay is None:
            disabled = [m for n, m in self._hook_modules.items() if n not in key]
            relay = HookRelay(self.pm, disabled)
            self._relays[key] = relay
        return relay

    def call_for(self, name: str, hook: str, **kwargs: Any) -> list[Any]:
        """Call plugin ``name``'s implementation of ``hook`` only (empty when it has none)."""
        module = self._hook_modules.get(name)
        if module is None:
            return []
        others = [m for n, m in self._hook_modules.items() if n != name]
        core = self.pm.get_plugin(CORE)
        if core is not None:
            others.append(core)
        results = self.pm.subset_hook_caller(hook, others)(**kwargs)
        return list(results) if isinstance(results, list) else [results]

    def plugin_of_module(self, module_name: str) -> str | None:
        """The plugin whose package contains the module ``module_name``, if any."""
        for name, manifest in self.manifests.items():
            if module_name == manifest.module or module_name.startswith(manifest.module + "."):
                return name
        return None

    def permissions_of(self, name: str) -> list[Any]:
        """The permissions declared by plugin ``name`` (or by the core for ``"core"``)."""
        found: list[Any] = []
        for impl in self.pm.hook.permissions.get_hookimpls():
            if impl.plugin_name == name:
                found.extend(impl.function() or [])
        return found

    def label(self, name: str, locale: str) -> str:
        """The label of plugin ``name`` in ``locale``."""
        return self.manifests[name].label_for(locale)


class HookRelay:
    """Attribute access to hook callers that skip the given (disabled) plugins."""

    def __init__(self, pm: pluggy.PluginManager, disabled: list[ModuleType]) -> None:
        self._pm = pm
        self._disabled = disabled
        self._callers: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        caller = self._callers.get(name)
        if caller is None:
            if not hasattr(self._pm.hook, name):
                raise AttributeError(f"no hook specification named {name!r}")
            if self._disabled:
                caller = self._pm.subset_hook_caller(name, self._disabled)
            else:
                caller = getattr(self._pm.hook, name)
            self._callers[name] = caller
        return caller
