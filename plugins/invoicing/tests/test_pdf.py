"""The invoice PDF and its HTML and plain-text e-mail versions, in Estonian and English."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from pyramid.i18n import make_localizer

from plugins.invoicing import invoice_labels as labels
from plugins.invoicing.document import (
    KIND_CREDIT,
    KIND_INVOICE,
    KIND_PREPAYMENT,
    Address,
    BankAccount,
    DocumentLine,
    InvoiceDocument,
    Party,
)
from plugins.invoicing.invoice_html import render_html, render_text
from plugins.invoicing.pdf import render_pdf
from plugins.invoicing.references import make_reference
from plugins.invoicing.totals import TaxedAmount, line_net, summarise

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
D = Decimal
ZERO = Decimal("0")
ISSUE = dt.date(2026, 11, 23)
SELLER = Party(
    name="Põhja Õun & Pirn OÜ", registry_code="12345678", vat_number="EE101234567",
    address=Address("Pärnu mnt 10", "Tallinn", "10148", "Harju maakond"),
    email="arved@ounpirn.ee", phone="+372 600 1234",
)
BUYER = Party(
    name="ÕÄÖÜ Šokolaad & Žele AS", registry_code="87654321", vat_number="EE109876543",
    address=Address("Küütri 5", "Tartu", "51007", "Tartu maakond"), email="raamat@zele.ee",
)
IBAN = "EE382200221020145685"
REFERENCE = make_reference(12131295)
LINES = (
    # description, quantity, unit code, unit, unit price, discount %, VAT %
    ("Konsultatsioon: süsteemi seadistus", "12.5", "HUR", "h", "80.00", "0", "24"),
    ("Printer „LaserJet“ <Pro>", "1", "H87", "tk", "349.90", "10", "24"),
    ("Raamat „Eesti käibemaksuseadus“", "3", "H87", "tk", "25.00", "0", "9"),
)
"""Nets 1000.00 + 314.91 (24 %) and 75.00 (9 %): VAT 315.58 + 6.75, total 1712.24."""


def translator(language: str) -> Callable[[Any], str]:
    """The translate function of a real localizer with the plugin's catalogue."""
    return make_localizer(language, [str(LOCALE_DIR)]).translate


def make_line(position: int, description: str, quantity: str, unit_code: str, unit: str,
              price: str, discount: str, vat: str, sign: int = 1) -> DocumentLine:
    """A document line with its net amount computed like the invoice does."""
    qty = D(quantity) * sign
    return DocumentLine(
        position=position, description=description, quantity=qty, unit_code=unit_code,
        unit_label=unit, unit_price=D(price), discount_percent=D(discount),
        net_amount=line_net(qty, D(price), D(discount)), vat_category="S",
        vat_percent=D(vat), product_code=f"P-{position:03d}",
    )


def make_document(kind: str = KIND_INVOICE, language: str = "et",
                  lines: list[DocumentLine] | None = None, buyer: Party = BUYER,
                  invoice_discount: Decimal = ZERO, **fields: Any) -> InvoiceDocument:
    """A realistic Estonian invoice; totals from :func:`summarise` like the real ones."""
    if lines is None:
        sign = -1 if kind == KIND_CREDIT else 1
        lines = [make_line(i, *spec, sign=sign) for i, spec in enumerate(LINES, start=1)]
    summary = summarise([TaxedAmount(line.net_amount, line.vat_category, line.vat_percent)
                         for line in lines], invoice_discount)
    values: dict[str, Any] = {
        "kind": kind, "number": "2026-0042", "issue_date": ISSUE,
        "due_date": ISSUE + dt.timedelta(days=14), "seller": SELLER, "buyer": buyer,
        "lines": lines, "vat": summary.vat, "allowances": summary.allowances,
        "language": language, "reference_number": REFERENCE,
        "bank_accounts": [BankAccount(IBAN, "HABAEE2X", "Swedbank AS")],
        "delivery_date": dt.date(2026, 11, 20), "payment_term_days": 14,
        "notes": "Täname koostöö eest!\nKüsimuste korral kirjutage arved@ounpirn.ee.",
    }
    values.update(fields)
    doc = InvoiceDocument(**values)
    assert doc.total == summary.total
    return doc


def pdf_pages(data: bytes) -> list[str]:
    """The text of every page, no-break spaces made plain and spaces collapsed."""
    reader = PdfReader(io.BytesIO(data))
    return [" ".join(labels.plain_spaces(page.extract_text()).split())
            for page in reader.pages]


def pdf_text(data: bytes) -> str:
    """The text of the whole PDF, normalised like :func:`pdf_pages`."""
    return " ".join(pdf_pages(data))


# --- Formatting --------------------------------------------------------------------------


def test_money_numbers_and_dates_follow_the_client_language() -> None:
    assert labels.plain_spaces(labels.format_money(D("1234.56"), "EUR", "et")) == "1 234,56 €"
    assert labels.format_money(D("1234.56"), "EUR", "en") == "€1,234.56"
    assert labels.plain_spaces(labels.format_money(D("-390.49"), "EUR", "et")) == "-390,49 €"
    assert labels.format_date(ISSUE, "et") == "23.11.2026"
    assert labels.format_date(ISSUE, "en") == "23 Nov 2026"
    assert labels.format_quantity(D("12.500"), "et") == "12,5"
    assert labels.format_quantity(D("2.000"), "en") == "2"
    assert labels.format_unit_price(D("0.12345"), "et") == "0,12345"
    assert labels.format_unit_price(D("80"), "en") == "80.00"
    assert labels.format_percent(D("24.00"), "et") == "24"
    assert labels.format_iban(IBAN) == "EE38 2200 2210 2014 5685"


def test_money_refuses_float() -> None:
    with pytest.raises(TypeError):
        labels.format_money(12.5, "EUR", "et")  # type: ignore[arg-type]


def test_estonian_catalogue_translates_the_labels() -> None:
    translate = translator("et")
    doc = make_document(kind=KIND_PREPAYMENT)
    assert labels.kind_title(doc, translate) == "Ettemaksuarve"
    assert labels.document_title(doc, translate) == "Ettemaksuarve nr 2026-0042"
    assert translate(labels.page_label(1, 2)) == "Lk 1/2"
    assert translate(labels.vat_rate_label(D("24"), "et")) == "KM 24 %"


# --- PDF ---------------------------------------------------------------------------------


def test_estonian_invoice_pdf() -> None:
    data = render_pdf(make_document(), translator("et"))
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Arve nr 2026-0042"
    assert reader.metadata.author == "Põhja Õun & Pirn OÜ"
    text = pdf_text(data)

    assert "Arve nr 2026-0042" in text
    assert "Põhja Õun & Pirn OÜ" in text
    assert "Registrikood: 12345678" in text
    assert "KMKR nr: EE101234567" in text
    assert "ÕÄÖÜ Šokolaad & Žele AS" in text
    assert "Küütri 5" in text and "51007 Tartu" in text
    assert "Kuupäev 23.11.2026" in text
    assert "Maksetähtaeg 07.12.2026" in text
    assert "Tarnekuupäev 20.11.2026" in text
    assert "14 päeva" in text
    assert "Viitenumber 1213 1295 2" in text
    # The lines table: headings and formatted cells, user text with "<" and quotes intact.
    for heading in ("Nr", "Kirjeldus", "Kogus", "Ühik", "Hind", "Allahindlus %", "KM %"):
        assert heading in text
    assert "Printer „LaserJet“ <Pro>" in text
    assert "12,5 h 80,00" in text
    assert "349,90 10 314,91 24" in text
    # The VAT breakdown by rate and the totals in Estonian format.
    assert "Käibemaks määrade kaupa" in text
    assert "24 % 1 314,91 € 315,58 €" in text
    assert "9 % 75,00 € 6,75 €" in text
    assert "Summa käibemaksuta 1 389,91 €" in text
    assert "Käibemaks kokku 322,33 €" in text
    assert "Kokku 1 712,24 €" in text
    assert "Tasuda 1 712,24 €" in text
    # Payment instructions and notes.
    assert "Makseandmed" in text
    assert "IBAN EE38 2200 2210 2014 5685" in text
    assert "HABAEE2X" in text and "Swedbank AS" in text
    assert "Palume maksmisel märkida viitenumber." in text
    assert "Täname koostöö eest!" in text
    assert "Lk 1/1" in text
    # Nothing of the English message ids leaks into an Estonian invoice.
    for english in ("Invoice", "Due date", "Amount to pay", "Page "):
        assert english not in text


def test_english_client_gets_english_labels_and_formats() -> None:
    text = pdf_text(render_pdf(make_document(language="en"), translator("en")))
    assert "Invoice No. 2026-0042" in text
    assert "Invoice date 23 Nov 2026" in text
    assert "Due date 7 Dec 2026" in text
    assert "14 days" in text
    assert "Reference number 1213 1295 2" in text
    assert "ÕÄÖÜ Šokolaad & Žele AS" in text
    assert "Registry code: 87654321" in text
    assert "24 % €1,314.91 €315.58" in text
    assert "Total without VAT €1,389.91" in text
    assert "VAT total €322.33" in text
    assert "Amount to pay €1,712.24" in text
    assert "Page 1 of 1" in text
    assert "Maksetähtaeg" not in text and "Tasuda" not in text


def test_credit_invoice_shows_the_credited_invoice_and_no_payment() -> None:
    doc = make_document(kind=KIND_CREDIT, number="2026-0050", credited_number="2026-0042",
                        credited_issue_date=dt.date(2026, 11, 1), reference_number=None)
    text = pdf_text(render_pdf(doc, translator("et")))
    assert "Kreeditarve nr 2026-0050" in text
    assert "Krediteeritav arve 2026-0042 (01.11.2026)" in text
    assert "-314,91" in text
    assert "Kokku -1 712,24 €" in text
    assert "Makseandmed" not in text  # the buyer pays nothing


def test_prepayment_and_whole_invoice_discount() -> None:
    doc = make_document(kind=KIND_PREPAYMENT, invoice_discount=D("5"),
                        prepaid_amount=D("200.00"))
    # 5 % off 1314.91 (65.75) and 75.00 (3.75): nets 1249.16 and 71.25.
    assert doc.total_net == D("1320.41")
    text = pdf_text(render_pdf(doc, translator("et")))
    assert "Ettemaksuarve nr 2026-0042" in text
    assert "Ridade summa 1 389,91 €" in text
    assert "Arve allahindlus 5 % (KM 24 %) -65,75 €" in text
    assert "Arve allahindlus 5 % (KM 9 %) -3,75 €" in text
    assert "24 % 1 249,16 € 299,80 €" in text
    assert "Summa käibemaksuta 1 320,41 €" in text
    assert "Ettemaks -200,00 €" in text
    total = doc.total
    assert f"Tasuda {labels.plain_spaces(labels.format_money(total - 200, 'EUR', 'et'))}" \
        in text


def test_private_buyer_gets_personal_code_label() -> None:
    person = Party(name="Jüri Õunapuu", registry_code="38001010001", is_person=True,
                   address=Address("Tamme 3", "Pärnu", "80010"))
    text = pdf_text(render_pdf(make_document(buyer=person), translator("et")))
    assert "Jüri Õunapuu" in text
    assert "Isikukood: 38001010001" in text


def test_foreign_buyer_address_has_the_country() -> None:
    buyer = Party(name="Suomi Oy", vat_number="FI12345678",
                  address=Address("Mannerheimintie 1", "Helsinki", "00100", country="FI"))
    assert "Soome" in pdf_text(render_pdf(make_document(buyer=buyer), translator("et")))
    en = pdf_text(render_pdf(make_document(buyer=buyer, language="en"), translator("en")))
    assert "Finland" in en


def test_long_invoice_flows_onto_numbered_pages() -> None:
    lines = [make_line(i, f"Rida {i}: varuosa Ž-{i}", "2", "H87", "tk", "10.00", "0", "24")
             for i in range(1, 121)]
    doc = make_document(lines=lines)
    pages = pdf_pages(render_pdf(doc, translator("et")))
    count = len(pages)
    assert count >= 3
    with_lines = [page for page in pages if "Rida " in page]
    assert len(with_lines) >= 3
    for number, page in enumerate(pages, start=1):
        assert f"Lk {number}/{count}" in page
    for page in with_lines:  # the table header is repeated on every page with lines
        assert "Nr Kirjeldus Kogus Ühik Hind" in page
    assert "Rida 1: varuosa Ž-1 " in pages[0]
    assert "Rida 120: varuosa Ž-120" in with_lines[-1]
    text = " ".join(pages)
    assert all(f"Rida {i}: varuosa Ž-{i} " in text for i in range(1, 121))
    assert "Kokku 2 976,00 €" in text  # 120 x 20.00 = 2400.00 + 24 % VAT 576.00


def test_line_longer_than_a_page_continues_on_the_next() -> None:
    long_line = make_line(1, "Väga pikk kirjeldus " * 400 + "LÕPP", "1", "H87", "tk", "1.00",
                          "0", "24")
    pages = pdf_pages(render_pdf(make_document(lines=[long_line]), translator("et")))
    assert len(pages) > 2
    assert "LÕPP" in " ".join(pages)


def test_markup_in_user_text_is_printed_literally() -> None:
    buyer = Party(name="<b>Kala & Co</b> <script>", address=Address("A & B <tn> 1", "Narva"))
    text = pdf_text(render_pdf(make_document(buyer=buyer, notes="Märkus: 5 < 6 & 7 > 3"),
                               translator("et")))
    assert "<b>Kala & Co</b> <script>" in text
    assert "A & B <tn> 1" in text
    assert "Märkus: 5 < 6 & 7 > 3" in text


# --- HTML and text -----------------------------------------------------------------------


def test_html_has_the_invoice_content() -> None:
    html = render_html(make_document(), translator("et"))
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="et">' in html
    assert "<style" not in html and "<link" not in html and "<img" not in html
    plain = labels.plain_spaces(html)
    assert "Arve nr 2026-0042" in plain
    assert "Põhja Õun &amp; Pirn OÜ" in plain
    assert "ÕÄÖÜ Šokolaad &amp; Žele AS" in plain
    assert "1213 1295 2" in plain
    assert "EE38 2200 2210 2014 5685" in plain
    assert "Printer „LaserJet“ &lt;Pro&gt;" in plain
    assert "1 712,24 €" in plain
    assert "315,58 €" in plain and "6,75 €" in plain
    assert "Maksetähtaeg" in plain and "07.12.2026" in plain
    assert "Täname koostöö eest!<br>Küsimuste" in plain


def test_html_escapes_user_text() -> None:
    buyer = Party(name='<script>alert("x")</script>', address=Address('"><img src=x>'))
    html = render_html(make_document(buyer=buyer, notes="<iframe>"), translator("en"))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<img" not in html and "<iframe>" not in html
    assert "Invoice No. 2026-0042" in html


def test_text_part() -> None:
    text = render_text(make_document(), translator("et"))
    assert "\u00a0" not in text
    assert text.startswith("Arve nr 2026-0042\n")
    assert "Müüja:\nPõhja Õun & Pirn OÜ\n" in text
    assert "Maksja:\nÕÄÖÜ Šokolaad & Žele AS\n" in text
    assert "Viitenumber: 1213 1295 2" in text
    assert "2. Printer „LaserJet“ <Pro> (P-002)" in text
    assert re.search(r"Kogus: 1 tk \| Hind: 349,90 \| Allahindlus %: 10 \| "
                     r"Summa km-ta: 314,91 \| KM %: 24", text)
    assert "24 %: Maksustatav summa 1 314,91 €, Käibemaks 315,58 €" in text
    assert "Tasuda: 1 712,24 €" in text
    assert "IBAN: EE38 2200 2210 2014 5685" in text
    assert "Maksetähtaeg: 07.12.2026" in text


def test_text_part_in_english() -> None:
    text = render_text(make_document(language="en"), translator("en"))
    assert text.startswith("Invoice No. 2026-0042\n")
    assert "Amount to pay: €1,712.24" in text
    assert "Due date: 7 Dec 2026" in text
