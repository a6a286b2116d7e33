"""Start-up refuses bad plugin graphs and bad settings with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import main
from core.plugins import Manifest, PluginSet, StartupError, dependency_order


def _fake_plugin(root: Path, name: str, depends: list[str]) -> None:
    """Install a plugin package into ``root`` the way pip would (dist-info + entry point)."""
    package = root / f"fake_{name}"
    package.mkdir()
    (package / "__init__.py").write_text("")
    deps = ", ".join(f'"{d}"' for d in depends)
    (package / "plugin.toml").write_text(
        f'name = "{name}"\nversion = "0.1"\nlabel = "Fake {name}"\ndepends = [{deps}]\n')
    info = root / f"fake_{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fake-{name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[kliendihaldus.plugins]\n{name} = fake_{name}\n")


def _run_cli(args: list[str], pythonpath: Path, db_url: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(pythonpath), DATABASE_URL=db_url)
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "--config", "config/test.ini", *args],
        capture_output=True, text=True, env=env, timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )


def test_missing_dependency_stops_cli_with_one_line(tmp_path, db_url):
    _fake_plugin(tmp_path, "orphan", ["no_such_plugin"])
    result = _run_cli(["db", "upgrade"], tmp_path, db_url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["Error: Plugin 'orphan' depends on 'no_such_plugin', which is not installed"]


def test_dependency_cycle_stops_cli(tmp_path, db_url):
    _fake_plugin(tmp_path, "chicken", ["egg"])
    _fake_plugin(tmp_path, "egg", ["chicken"])
    result = _run_cli(["plugins", "list"], tmp_path, db_url)
    assert result.returncode == 2
    assert "dependency cycle" in result.stderr
    assert "chicken -> egg -> chicken" in result.stderr


def test_app_factory_refuses_missing_dependency(tmp_path, monkeypatch, app_settings):
    _fake_plugin(tmp_path, "orphan", ["no_such_plugin"])
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(StartupError, match="Plugin 'orphan' depends on 'no_such_plugin'"):
        main({}, **app_settings)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("session.secret", "short", "session.secret"),
    ("mail.smtp.port", "abc", "mail.smtp.port"),
    ("mail.backend", "pigeon", "mail.backend"),
    ("session.secure", "maybe", "session.secure"),
    ("sqlalchemy.url", "mysql://x/y", "sqlalchemy.url"),
])
def test_invalid_setting_is_named(app_settings, key, value, message):
    settings = dict(app_settings, **{key: value})
    with pytest.raises(StartupError, match=message):
        main({}, **settings)


def test_database_url_overrides_setting(app_settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", app_settings["sqlalchemy.url"])
    settings = dict(app_settings, **{"sqlalchemy.url": "sqlite:///does/not/matter.sqlite"})
    app = main({}, **settings)
    assert app.registry.settings["sqlalchemy.url"].endswith(
        app_settings["sqlalchemy.url"].rsplit("/", 1)[-1])


def test_unmigrated_database_is_refused(app_settings, tmp_path):
    settings = dict(app_settings, **{"sqlalchemy.url": f"sqlite:///{tmp_path / 'empty.sqlite'}"})
    with pytest.raises(StartupError, match="db upgrade"):
        main({}, **settings)


def test_dependency_order_puts_dependencies_first():
    def m(name, *deps, optional=()):
        return Manifest(name=name, version="1", module=name, path=Path("."), depends=deps,
                        optional_depends=optional)

    order = dependency_order({
        "invoicing": m("invoicing", "crm_register"),
        "bank_import": m("bank_import", "invoicing"),
        "crm_register": m("crm_register"),
        "reports": m("reports", "crm_register", optional=("invoicing", "absent")),
    })
    assert order.index("crm_register") < order.index("invoicing") < order.index("bank_import")
    assert order.index("invoicing") < order.index("reports")


def test_manifest_is_read_without_importing(tmp_path, monkeypatch):
    _fake_plugin(tmp_path, "lazy", [])
    (tmp_path / "fake_lazy" / "__init__.py").write_text("raise RuntimeError('imported!')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins = PluginSet.discover()
    assert plugins.manifests["lazy"].label_for("et") == "Fake lazy"
    with pytest.raises(StartupError, match="Plugin 'lazy' failed to import"):
        plugins.load()
