"""Parsing untrusted XML (uploaded bank statements, received e-invoices...) safely.

:func:`parse_xml` refuses every document type declaration: no DOCTYPE means no internal or
external DTD, no entity declarations and therefore no entity expansion ("billion laughs") and no
external entity reads (XXE, ``file:///etc/passwd``, network fetches). The document is checked
twice: its prolog is scanned *before* the parser sees it, and the parsed tree's document
information is checked *after*, so a DOCTYPE that hides behind an unusual encoding is still
caught. The parser itself is configured defensively (no entity resolution, no DTD loading, no
network, no huge-tree mode), and input larger than a limit is refused before parsing.

Errors are :class:`XmlInputError` (a :class:`ValueError`): :class:`UnsafeXml` for refused
input, :class:`MalformedXml` for input that is not well-formed XML.
"""

from __future__ import annotations

import codecs
import io
import re

from lxml import etree

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""50 MiB: far above a bank statement or an e-invoice, far below a memory problem."""

_PROLOG_SCAN_CHARS = 64 * 1024
"""How much of the decoded start of the document the prolog scan looks at at most."""

# Byte order marks and the first bytes of "<?" in the encodings XML allows without a BOM
# (XML 1.0, appendix F): (leading bytes, codec to decode the prolog with, bytes to skip).
_ENCODING_MARKERS: tuple[tuple[bytes, str, int], ...] = (
    (codecs.BOM_UTF32_BE, "utf-32-be", 4),
    (codecs.BOM_UTF32_LE, "utf-32-le", 4),
    (codecs.BOM_UTF8, "utf-8", 3),
    (codecs.BOM_UTF16_BE, "utf-16-be", 2),
    (codecs.BOM_UTF16_LE, "utf-16-le", 2),
    (b"\x00\x00\x00<", "utf-32-be", 0),
    (b"<\x00\x00\x00", "utf-32-le", 0),
    (b"\x00<\x00?", "utf-16-be", 0),
    (b"<\x00?\x00", "utf-16-le", 0),
)

_XML_DECLARATION = re.compile(r"<\?xml[^>]*\?>", re.DOTALL)
_PROCESSING_INSTRUCTION = re.compile(r"<\?.*?\?>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_WHITESPACE = re.compile(r"[ \t\r\n]+")


class XmlInputError(ValueError):
    """The data cannot be accepted as XML (base class of the errors of this module)."""


class UnsafeXml(XmlInputError):
    """The data is refused for safety: a DOCTYPE / DTD, an entity declaration, or too large."""


class MalformedXml(XmlInputError):
    """The data is not well-formed XML."""


def _decode_prolog(data: bytes) -> str:
    """The start of ``data`` as text, good enough to find markup in the prolog.

    Only ASCII markup is looked for, so ASCII-compatible encodings (UTF-8, ISO-8859-x,
    Windows-125x) are all decoded as Latin-1, which never fails; UTF-16 and UTF-32 are
    recognised by their byte order mark or by the bytes of the leading ``<?``.
    """
    head = data[: _PROLOG_SCAN_CHARS * 4]
    for marker, encoding, skip in _ENCODING_MARKERS:
        if head.startswith(marker):
            return head[skip:].decode(encoding, errors="replace")
    return head.decode("latin-1")


def _check_prolog(data: bytes) -> None:
    """Raise :class:`UnsafeXml` when the prolog of ``data`` holds a DOCTYPE or an entity
    declaration. Only the prolog (before the root element) can hold one."""
    text = _decode_prolog(data)
    position = 0
    length = min(len(text), _PROLOG_SCAN_CHARS)
    declaration = _XML_DECLARATION.match(text, position)
    if declaration:
        position = declaration.end()
    while position < length:
        for pattern in (_WHITESPACE, _COMMENT, _PROCESSING_INSTRUCTION):
            found = pattern.match(text, position)
            if found:
                position = found.end()
                break
        else:
            break
    rest = text[position:position + 16].upper()
    if rest.startswith("<!DOCTYPE"):
        raise UnsafeXml("XML refused: it contains a DOCTYPE (document type declaration); "
                        "DTDs and entity declarations are not accepted.")
    if rest.startswith("<!") and not rest.startswith("<!--"):
        # <!ENTITY, <!ELEMENT... outside a DOCTYPE are malformed anyway; refuse them as unsafe.
        # (An unterminated comment is left to the parser, which reports it as malformed.)
        raise UnsafeXml("XML refused: it contains a markup declaration before the root element; "
                        "DTDs and entity declarations are not accepted.")


def _make_parser() -> etree.XMLParser:
    """A new lxml parser that resolves nothing and loads nothing (parsers are not shared
    between threads, so each parse gets its own)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._ElementTree:
    """Parse untrusted XML ``data`` into an lxml element tree, refusing dangerous input.

    Raises :class:`UnsafeXml` when ``data`` is larger than ``max_bytes`` or declares a
    DOCTYPE, a DTD or entities (checked before and after parsing), and :class:`MalformedXml`
    when it is not well-formed XML. Both are :class:`ValueError`. ``data`` must be bytes, so
    the parser can honour the document's own encoding declaration.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"parse_xml() needs bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise UnsafeXml(f"XML refused: {len(data)} bytes is more than the limit of "
                        f"{max_bytes} bytes.")
    if not data.strip():
        raise MalformedXml("Malformed XML: the document is empty.")
    _check_prolog(data)
    try:
        tree = etree.parse(io.BytesIO(data), _make_parser())
    except etree.XMLSyntaxError as error:
        line = f" (line {error.lineno}, column {error.offset})" if error.lineno else ""
        raise MalformedXml(f"Malformed XML{line}: {error.msg}") from error
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXml("XML refused: it contains a DOCTYPE (document type declaration); "
                        "DTDs and entity declarations are not accepted.")
    return tree
