"""Tests of :mod:`core.safe_xml`: untrusted XML is parsed without DTDs, entities or bombs."""

from __future__ import annotations

import pytest

from core.safe_xml import MalformedXml, UnsafeXml, XmlInputError, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE statement [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<statement><owner>&xxe;</owner></statement>
"""

GOOD = """<?xml version="1.0" encoding="UTF-8"?>
<!-- a bank statement -->
<?app hint?>
<Document xmlns="urn:example:statement"><Owner>Põhjala Tarkvara OÜ</Owner>
<Amount Ccy="EUR">12.40</Amount><![CDATA[<!DOCTYPE is only text here>]]></Document>
""".encode()


def test_good_xml_parses() -> None:
    tree = parse_xml(GOOD)
    root = tree.getroot()
    assert root.tag == "{urn:example:statement}Document"
    assert root.findtext("{urn:example:statement}Owner") == "Põhjala Tarkvara OÜ"
    assert tree.docinfo.doctype == ""


def test_good_xml_without_declaration_and_in_utf16_parses() -> None:
    assert parse_xml(b"<a><b>1</b></a>").getroot().findtext("b") == "1"
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><a>õ</a>'.encode("utf-16")
    assert parse_xml(utf16).getroot().text == "õ"


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        parse_xml(BILLION_LAUGHS)


def test_external_entity_is_refused() -> None:
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        parse_xml(EXTERNAL_ENTITY)


def test_doctype_alone_is_refused() -> None:
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        parse_xml(b'<?xml version="1.0"?>\n<!-- x -->\n<!DOCTYPE note SYSTEM "note.dtd">\n<note/>')
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        parse_xml(b"<!DOCTYPE note><note/>")


def test_doctype_hidden_in_utf16_is_refused() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        parse_xml(data.encode("utf-16"))
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        parse_xml(data.encode("utf-16-le"))


def test_doctype_after_a_long_prolog_is_refused_after_parsing() -> None:
    # The prolog scan only decodes the first 256 KiB; the check of the parsed tree still
    # refuses the DOCTYPE behind a longer comment.
    comment = b"<!--" + b"x" * (300 * 1024) + b"-->"
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        parse_xml(comment + b'<!DOCTYPE a SYSTEM "a.dtd"><a/>')


def test_entity_declaration_without_doctype_is_refused() -> None:
    with pytest.raises(UnsafeXml):
        parse_xml(b'<!ENTITY e "x"><a/>')


def test_too_large_is_refused() -> None:
    data = b"<a>" + b"x" * 2000 + b"</a>"
    with pytest.raises(UnsafeXml, match="limit of 1000 bytes"):
        parse_xml(data, max_bytes=1000)
    assert parse_xml(data, max_bytes=len(data)).getroot().tag == "a"


@pytest.mark.parametrize("data", [b"<a><b></a>", b"not xml at all", b"<a>", b"", b"<!-- open"])
def test_malformed_xml_gives_a_clear_error(data: bytes) -> None:
    with pytest.raises(MalformedXml, match="Malformed XML") as caught:
        parse_xml(data)
    assert isinstance(caught.value, XmlInputError)
    assert isinstance(caught.value, ValueError)


def test_text_is_not_accepted() -> None:
    with pytest.raises(TypeError):
        parse_xml("<a/>")  # type: ignore[arg-type]
