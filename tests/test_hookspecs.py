"""Every hook specification is documented (docstring and ``docs/plugins.md``) and tested.

A hook counts as tested when some test in the repository is marked
``@pytest.mark.hookspec("<hook name>")``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pluggy
import pytest

from core import hookspecs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "plugins.md"
TEST_ROOTS = ("tests", "core", "plugins", "examples")


def _spec_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    hookspecs.add_all(pm)
    return pm


PM = _spec_manager()
HOOKS = sorted(name for name, caller in vars(PM.hook).items()
               if isinstance(caller, pluggy.HookCaller) and caller.spec is not None)


def _doc_sections() -> dict[str, str]:
    """``### `name``` sections of the plugin guide, by hook name (code blocks skipped)."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    sections: dict[str, str] = {}
    current: str | None = None
    in_code = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,3} ", line):
            match = re.fullmatch(r"### `([a-z_]+)`\s*", line)
            current = match.group(1) if match else None
            if current is not None:
                sections[current] = ""
            continue
        if current is not None:
            sections[current] += line + "\n"
    return sections


def _test_files() -> list[Path]:
    files: set[Path] = set()
    for top in TEST_ROOTS:
        folder = ROOT / top
        if folder.is_dir():
            for pattern in ("test_*.py", "*_test.py", "conftest.py"):
                files.update(p for p in folder.rglob(pattern) if ".venv" not in p.parts)
    files.discard(Path(__file__).resolve())
    return sorted(files)


def _marked_hooks() -> set[str]:
    marker = re.compile(r"""pytest\.mark\.hookspec\(\s*["']([a-z_]+)["']\s*\)""")
    found: set[str] = set()
    for path in _test_files():
        found.update(marker.findall(path.read_text(encoding="utf-8")))
    return found


SECTIONS = _doc_sections()
MARKED = _marked_hooks()


def test_the_spec_modules_define_hooks() -> None:
    assert len(HOOKS) >= len(hookspecs.SPEC_MODULES)
    for module in hookspecs.SPEC_MODULES:
        assert any(getattr(PM.hook, name).spec.namespace is module for name in HOOKS), module


@pytest.mark.parametrize("name", HOOKS)
def test_hookspec_has_a_docstring(name: str) -> None:
    spec = getattr(PM.hook, name).spec
    doc = (spec.function.__doc__ or "").strip()
    assert doc, f"hookspec {name} has no docstring"


@pytest.mark.parametrize("name", HOOKS)
def test_hookspec_is_documented_in_the_plugin_guide(name: str) -> None:
    assert name in SECTIONS, f"docs/plugins.md has no section ### `{name}`"
    section = SECTIONS[name]
    spec = getattr(PM.hook, name).spec
    assert f"{name}(" in section, "the section shows the signature"
    for arg in spec.argnames:
        assert f"`{arg}`" in section, f"argument {arg!r} is not described"
    kind = "firstresult" if spec.opts.get("firstresult") else "broadcast"
    assert kind in section.lower(), f"the section does not say that {name} is {kind}"
    assert "```python" in section, "the section has an example"


@pytest.mark.parametrize("name", HOOKS)
def test_hookspec_is_exercised_by_a_marked_test(name: str) -> None:
    assert name in MARKED, (
        f"no test is marked @pytest.mark.hookspec({name!r}); mark the tests that "
        "exercise the hook")


def test_guide_documents_no_unknown_hooks() -> None:
    assert set(SECTIONS) <= set(HOOKS), set(SECTIONS) - set(HOOKS)
