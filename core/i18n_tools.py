"""Gettext catalogue tools for the core and for plugins: extract, update, compile, check.

Every translatable package (the core, each plugin) keeps its catalogues in ``locale/`` beside
its ``__init__.py``; the translation domain is the plugin's name (``name`` in ``plugin.toml``),
``core`` for the core. Message ids are English, so only the other languages have a catalogue:

.. code-block:: text

    <package>/locale/<domain>.pot                  extracted message ids (``extract``)
    <package>/locale/et/LC_MESSAGES/<domain>.po    Estonian translations (``update``)
    <package>/locale/et/LC_MESSAGES/<domain>.mo    compiled for the app (``compile``)

Usage (without a folder the core is meant; ``--domain`` overrides the domain for one folder)::

    .venv/bin/python -m core.i18n_tools extract|update|compile|check [package_dir ...]
    .venv/bin/python -m core.i18n_tools all examples/acme_plugin/acme_plugin

Messages are extracted with `lingua <https://pypi.org/project/lingua/>`_ (Python ``_()``
calls with their ``${name}`` placeholders, and Chameleon templates: ``i18n:translate``,
``i18n:name``, ``i18n:attributes``, ``_()`` in ``${...}``); catalogues are read, merged and
compiled with Babel. ``check`` also finds template markup that cannot be translated at run
time, such as ``${...}`` inside an ``i18n:translate`` element without ``i18n:name``
(Chameleon would look up the text with the value already filled in).

Files are only rewritten when their content changes (the ``.pot`` when a message, its files
or its comments change), so running the tools twice leaves the work tree clean.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

CORE_DIR = Path(__file__).resolve().parent
DEFAULT_LOCALES: tuple[str, ...] = ("et",)
"""Languages with a catalogue; English needs none because the message ids are English."""
SKIP_DIRS = frozenset({"tests", "__pycache__", "locale", "static", "node_modules"})
SOURCE_SUFFIXES = frozenset({".py", ".pt"})
COMMENT_TAG = "TRANSLATORS:"
PO_WIDTH = 79
PLACEHOLDER_RE = re.compile(r"\$\{([^{}]*)\}")
CORE_IMPORT_RE = re.compile(r"^\s*from\s+core\.i18n\s+import\s+[^\n]*\b_\b", re.MULTILINE)
_IGNORED_HEADERS = frozenset({"generated-by"})
"""Headers whose value depends on the Babel version, not on the catalogue."""


class I18nError(Exception):
    """A catalogue or a source file cannot be processed; the message names the file."""


# --- Packages --------------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    """A translatable package folder and its translation domain."""

    path: Path
    domain: str
    version: str = ""

    @property
    def locale_dir(self) -> Path:
        """``<package>/locale``."""
        return self.path / "locale"

    @property
    def pot_path(self) -> Path:
        """``locale/<domain>.pot``."""
        return self.locale_dir / f"{self.domain}.pot"

    def po_path(self, locale: str) -> Path:
        """``locale/<locale>/LC_MESSAGES/<domain>.po``."""
        return self.locale_dir / locale / "LC_MESSAGES" / f"{self.domain}.po"

    def mo_path(self, locale: str) -> Path:
        """``locale/<locale>/LC_MESSAGES/<domain>.mo``."""
        return self.po_path(locale).with_suffix(".mo")

    def locales(self) -> list[str]:
        """Languages that have a ``.po`` file, sorted."""
        if not self.locale_dir.is_dir():
            return []
        return sorted(p.parent.parent.name
                      for p in self.locale_dir.glob(f"*/LC_MESSAGES/{self.domain}.po"))


def package(package_dir: str | Path | None = None, domain: str | None = None) -> Package:
    """The package at ``package_dir`` (default: the core).

    The domain is ``domain`` if given, else the ``name`` in the folder's ``plugin.toml``,
    else the folder's name (``core`` for the core).
    """
    path = Path(package_dir).resolve() if package_dir is not None else CORE_DIR
    if not path.is_dir():
        raise I18nError(f"{path}: not a folder")
    version = ""
    manifest = path / "plugin.toml"
    if manifest.is_file():
        try:
            data = tomllib.loads(manifest.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise I18nError(f"{manifest}: {exc}") from exc
        domain = domain or str(data.get("name") or "") or None
        version = str(data.get("version") or "")
    elif path == CORE_DIR:
        version = _core_version()
    return Package(path=path, domain=domain or path.name, version=version)


def _core_version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("kliendihaldus")
    except PackageNotFoundError:
        return ""


def source_files(pkg: Package) -> list[Path]:
    """The package's ``.py`` and ``.pt`` files in path order, without tests and catalogues."""
    found = []
    for file in sorted(pkg.path.rglob("*")):
        relative = file.relative_to(pkg.path)
        if any(part in SKIP_DIRS or part.startswith(".") for part in relative.parts[:-1]):
            continue
        if file.suffix in SOURCE_SUFFIXES and file.is_file() and not file.name.startswith("."):
            if file.name.startswith("test_") or file.name == "conftest.py":
                continue
            found.append(file)
    return found


# --- Extraction ------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something that keeps a message from being translated; ``str()`` is one line."""

    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


def _extractors() -> dict[str, Any]:
    try:
        from lingua.extractors.python import PythonExtractor
        from lingua.extractors.xml import ChameleonExtractor
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise I18nError(
            "message extraction needs lingua: .venv/bin/pip install -e '.[test]'"
        ) from exc

    class CheckingChameleonExtractor(ChameleonExtractor):
        """Lingua's extractor, noting ``${...}`` that Chameleon would fill in before
        translating and ``i18n:translate`` outside any ``i18n:domain``."""

        def __call__(self, filename: str, options: Any, fileobj: Any = None,
                     lineno: int = 0) -> Any:
            self.problems: list[tuple[int, str]] = []
            self._reported: set[int] = set()
            self._interpolated: list[Any] = []
            messages = super().__call__(filename, options, fileobj, lineno)
            # The text of such an element is never looked up as written: leave it out.
            self.untranslatable = {context.msgid for context in self._interpolated}
            return messages

        def visit_text(self, data: str) -> None:
            context = self.translatestack[-1] if self.translatestack else None
            if context is not None and id(context) not in self._reported:
                if context.domain is None and data.strip():
                    self._reported.add(id(context))
                    self.problems.append((self.linenumber, (
                        f"i18n:translate outside any i18n:domain: {data.strip()[:60]!r}")))
                elif context.domain == self.target_domain and re.search(
                        r"(?<!\$)\$\{", data):
                    self._reported.add(id(context))
                    if not context.msgid:  # no explicit id: the text is the id
                        self._interpolated.append(context)
                    self.problems.append((self.linenumber, (
                        "${...} inside i18n:translate is filled in before the lookup, so "
                        "the text is never translated; wrap it in an element with "
                        f"i18n:name: {' '.join(data.split())[:80]!r}")))
            super().visit_text(data)

    return {".py": PythonExtractor(), ".pt": CheckingChameleonExtractor()}


AUTO_FLAGS = frozenset({"python-format", "python-brace-format", "c-format"})
"""Flags that Lingua and Babel guess from "{...}" and "%"; translation strings use neither
(placeholders are ``${name}``), and a wrong flag makes translation tools check the wrong
thing. They are left out of the written catalogues."""


def _strip_auto_flags(catalog: Catalog) -> Catalog:
    for message in catalog:
        if message.id:
            message.flags -= AUTO_FLAGS
    return catalog


def extract_messages(pkg: Package) -> tuple[Catalog, list[Problem]]:
    """Extract every message of ``pkg.domain`` from the package (nothing is written).

    Returns the template catalogue (locations are files without line numbers) and the
    problems found: untranslatable template markup, nested ``i18n:translate`` without
    ``i18n:name``, a plugin using the core's ``_``.
    """
    from lingua.extract import ExtractorOptions

    extractors = _extractors()
    catalog = Catalog(
        domain=pkg.domain, project=pkg.domain, version=pkg.version or None,
        header_comment=(f"# Messages of the translation domain {pkg.domain!r}.\n"
                        "# Generated by core.i18n_tools from the Python sources and templates."),
        charset="utf-8", fuzzy=True,
    )
    problems: list[Problem] = []
    base = pkg.path.parent
    for file in source_files(pkg):
        relative = file.relative_to(base).as_posix()
        extractor = extractors[file.suffix]
        options = ExtractorOptions(comment_tag=COMMENT_TAG, domain=pkg.domain, keywords=[])
        if file.suffix == ".py" and pkg.domain != "core":
            source = file.read_text(encoding="utf-8")
            if CORE_IMPORT_RE.search(source):
                problems.append(Problem(relative, (
                    "imports _ from core.i18n: its messages belong to the domain 'core'; use "
                    f"TranslationStringFactory({pkg.domain!r})")))
        try:
            messages = list(extractor(str(file), options))
        except SystemExit as exc:  # lingua reports parse errors on stderr and exits
            raise I18nError(f"{relative}: cannot be parsed for messages ({exc})") from None
        except (SyntaxError, ValueError) as exc:
            raise I18nError(f"{relative}: cannot be parsed for messages: {exc}") from exc
        for line, text in getattr(extractor, "problems", []):
            problems.append(Problem(f"{relative}:{line}", text))
        untranslatable = getattr(extractor, "untranslatable", set())
        for message in messages:
            if not message.msgid or message.msgid in untranslatable:
                continue
            if "<dynamic element>" in message.msgid:
                problems.append(Problem(f"{relative}:{message.location[1]}", (
                    "an element inside i18n:translate needs i18n:name: "
                    f"{message.msgid!r}")))
                continue
            comments = [line for line in (message.comment or "").splitlines() if line.strip()]
            catalog.add(message.msgid, locations=[(relative, None)],
                        flags=[f for f in message.flags if f not in AUTO_FLAGS],
                        auto_comments=comments, context=message.msgctxt or None)
    return catalog, problems


def _signature(catalog: Catalog) -> list[tuple[Any, ...]]:
    return [
        (m.id, m.context, tuple(sorted({f for f, _line in m.locations})),
         tuple(sorted(m.flags - AUTO_FLAGS - {"fuzzy"})), tuple(m.auto_comments))
        for m in catalog if m.id
    ]


def _read_catalog(path: Path, locale: str | None = None, domain: str | None = None) -> Catalog:
    try:
        with path.open("rb") as f:
            return read_po(f, locale=locale, domain=domain)
    except Exception as exc:
        raise I18nError(f"{path}: cannot be read: {exc}") from exc


def _po_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, _strip_auto_flags(catalog), width=PO_WIDTH, include_lineno=False)
    return buf.getvalue()


def _write_if_changed(path: Path, content: bytes) -> bool:
    if path.is_file() and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    tmp.replace(path)
    return True


def extract(pkg: Package) -> tuple[bool, list[Problem]]:
    """Write ``locale/<domain>.pot`` when its messages changed; (written, problems)."""
    catalog, problems = extract_messages(pkg)
    if pkg.pot_path.is_file():
        old = _read_catalog(pkg.pot_path)
        if _signature(old) == _signature(catalog):
            return False, problems
    return _write_if_changed(pkg.pot_path, _po_bytes(catalog)), problems


# --- Update ----------------------------------------------------------------------------


def update(pkg: Package, locales: Sequence[str] | None = None) -> list[Path]:
    """Merge the ``.pot`` into each language's ``.po`` (creating missing ones).

    New messages get an empty translation (or a fuzzy guess from a similar old one), messages
    no longer in the sources are kept as obsolete (``#~``). Returns the files written.
    """
    if not pkg.pot_path.is_file():
        extract(pkg)
    template = _read_catalog(pkg.pot_path)
    written = []
    for locale in locales or pkg.locales() or DEFAULT_LOCALES:
        po_path = pkg.po_path(locale)
        if po_path.is_file():
            catalog = _read_catalog(po_path, locale=locale, domain=pkg.domain)
            catalog.update(template)
        else:
            catalog = _read_catalog(pkg.pot_path, locale=locale, domain=pkg.domain)
            catalog.locale = locale
            catalog.header_comment = (
                f"# {catalog.locale.english_name} translations of the domain {pkg.domain!r}.")
            catalog.revision_date = dt.datetime.now(dt.UTC).replace(microsecond=0)
            catalog.language_team = f"{catalog.locale.english_name} <{locale}@li.org>"
            catalog.fuzzy = False
        if _write_if_changed(po_path, _po_bytes(catalog)):
            written.append(po_path)
    return written


# --- Compile and check -----------------------------------------------------------------


def placeholders(text: str) -> list[str]:
    """The ``${name}`` placeholders of a message, sorted (with repeats)."""
    return sorted(PLACEHOLDER_RE.findall(text))


def catalog_errors(catalog: Catalog, where: str) -> list[Problem]:
    """Translations that would break at run time: changed placeholders, Babel's checks."""
    problems = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = placeholders(ids[0])
        for string in strings:
            if string and placeholders(string) != wanted:
                problems.append(Problem(where, (
                    f"placeholders differ in {ids[0]!r}: {wanted} in the id, "
                    f"{placeholders(string)} in the translation")))
    for message, errors in catalog.check():
        for error in errors:
            problems.append(Problem(where, f"{message.id!r}: {error}"))
    return problems


def compile_po(po_path: Path, locale: str, domain: str) -> bytes:
    """The ``.mo`` bytes for ``po_path`` (fuzzy and untranslated messages are left out)."""
    catalog = _read_catalog(po_path, locale=locale, domain=domain)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def _mo_content(data: bytes) -> tuple[dict[Any, Any], dict[str, str]]:
    catalog = read_mo(io.BytesIO(data))
    messages = {(m.context, m.id): m.string for m in catalog if m.id}
    headers = {k.lower(): v for k, v in catalog.mime_headers}
    raw_header = next((m.string for m in catalog if not m.id), "") or ""
    for line in raw_header.splitlines():
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    for name in _IGNORED_HEADERS:
        headers.pop(name, None)
    return messages, headers


def mo_is_current(pkg: Package, locale: str) -> bool:
    """True when the ``.mo`` holds exactly what compiling the ``.po`` gives now.

    The comparison is of the compiled messages and headers, not of bytes, so a different
    Babel version (which writes its version into the file) does not count as a change.
    """
    mo_path = pkg.mo_path(locale)
    if not mo_path.is_file():
        return False
    fresh = compile_po(pkg.po_path(locale), locale, pkg.domain)
    current = mo_path.read_bytes()
    return current == fresh or _mo_content(current) == _mo_content(fresh)


def compile_catalogs(pkg: Package, locales: Sequence[str] | None = None
                     ) -> tuple[list[Path], list[Problem]]:
    """Compile each ``.po`` to ``.mo`` with Babel; a catalogue with errors is not written."""
    written, problems = [], []
    for locale in locales or pkg.locales():
        po_path = pkg.po_path(locale)
        catalog = _read_catalog(po_path, locale=locale, domain=pkg.domain)
        errors = catalog_errors(catalog, _display(po_path))
        if errors:
            problems.extend(errors)
            continue
        if mo_is_current(pkg, locale):
            continue
        mo_path = pkg.mo_path(locale)
        if _write_if_changed(mo_path, compile_po(po_path, locale, pkg.domain)):
            written.append(mo_path)
    return written, problems


def check(pkg: Package, locales: Sequence[str] | None = None) -> list[Problem]:
    """Everything that keeps the package's UI from being fully translated.

    Untranslatable markup, a stale ``.pot``, and for each language: messages missing from
    the ``.po``, empty or fuzzy, placeholders changed, a ``.mo`` that is not the compiled
    ``.po``.
    """
    template, problems = extract_messages(pkg)
    wanted = {(m.id, m.context) for m in template if m.id}
    if not pkg.pot_path.is_file():
        problems.append(Problem(_display(pkg.pot_path), "missing: run extract"))
    else:
        pot = _read_catalog(pkg.pot_path)
        if {(m.id, m.context) for m in pot if m.id} != wanted:
            problems.append(Problem(_display(pkg.pot_path), "out of date: run extract"))
    for locale in locales or pkg.locales() or DEFAULT_LOCALES:
        po_path = pkg.po_path(locale)
        where = _display(po_path)
        if not po_path.is_file():
            problems.append(Problem(where, "missing: run update"))
            continue
        catalog = _read_catalog(po_path, locale=locale, domain=pkg.domain)
        for msgid, context in sorted(wanted, key=lambda k: (k[0], k[1] or "")):
            message = catalog.get(msgid, context)
            if message is None:
                problems.append(Problem(where, f"not in the catalogue: {msgid!r}"))
            elif not message.string:
                problems.append(Problem(where, f"not translated: {msgid!r}"))
            elif message.fuzzy:
                problems.append(Problem(where, f"fuzzy (to be reviewed): {msgid!r}"))
        problems.extend(catalog_errors(catalog, where))
        if not mo_is_current(pkg, locale):
            problems.append(Problem(_display(pkg.mo_path(locale)),
                                    "missing or not compiled from the .po: run compile"))
    return problems


def _display(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


# --- Command line ----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.i18n_tools extract|update|compile|check|all [package_dir ...]``."""
    parser = argparse.ArgumentParser(
        prog="python -m core.i18n_tools",
        description="Extract, update, compile and check the gettext catalogues of the core "
                    "or of plugin packages (default: the core).")
    parser.add_argument("command", choices=("extract", "update", "compile", "check", "all"),
                        help="all = extract, update and compile")
    parser.add_argument("package_dirs", nargs="*", metavar="package_dir",
                        help="package folders (the one with __init__.py and plugin.toml)")
    parser.add_argument("-d", "--domain", help="translation domain (only with one folder)")
    parser.add_argument("-l", "--locale", action="append", dest="locales",
                        help="language to update/compile/check (repeatable; default: the "
                             "existing catalogues, else et)")
    args = parser.parse_args(argv)
    if args.domain and len(args.package_dirs) > 1:
        parser.error("--domain needs exactly one package folder")
    status = 0
    try:
        packages = [package(d, args.domain) for d in args.package_dirs or [None]]
        for pkg in packages:
            status |= _run(args.command, pkg, args.locales)
    except I18nError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return status


def _run(command: str, pkg: Package, locales: Sequence[str] | None) -> int:
    status = 0
    label = f"[{pkg.domain}]"
    if command in ("extract", "all"):
        written, problems = extract(pkg)
        for problem in problems:
            print(f"warning: {problem}", file=sys.stderr)
        print(f"{label} {'wrote' if written else 'unchanged'} {_display(pkg.pot_path)}")
    if command in ("update", "all"):
        written_po = update(pkg, locales)
        for path in written_po:
            print(f"{label} updated {_display(path)}")
        if not written_po:
            print(f"{label} catalogues unchanged")
    if command in ("compile", "all"):
        written_mo, problems = compile_catalogs(pkg, locales)
        for path in written_mo:
            print(f"{label} compiled {_display(path)}")
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
            status = 1
        if not written_mo and not problems:
            print(f"{label} compiled catalogues are current")
    if command == "check":
        problems = check(pkg, locales)
        for problem in problems:
            print(f"{problem}", file=sys.stderr)
        print(f"{label} {len(problems)} problem(s)")
        status = 1 if problems else 0
    return status


if __name__ == "__main__":
    sys.exit(main())
