"""Wording and formatting shared by the invoice renderers (PDF, HTML e-mail, plain text).

An invoice is printed in the client's language (:attr:`InvoiceDocument.language`), not in
the language of the user who sends it. Every label is an English translation string of the
``invoicing`` domain, translated with the ``translate`` callable the renderer gets (a
:meth:`pyramid.i18n.Localizer.translate` for the client's language, see
:func:`core.i18n.localizer_for`). Numbers, money and dates are formatted with Babel for the
same language: Estonian ``1 234,56 €`` and ``23.11.2026``, English ``€1,234.56`` and
``23 Nov 2026``. Babel separates thousands (and the euro sign) with a no-break space in
Estonian, which keeps an amount on one line; :func:`plain_spaces` turns it into a plain space.

The ``*_rows`` functions return what a block of the invoice shows as already translated
and formatted text, so the three renderers differ only in layout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers

from plugins.invoicing.document import (
    KIND_CREDIT,
    KIND_PREPAYMENT,
    DocumentLine,
    InvoiceDocument,
    Party,
)
from plugins.invoicing.i18n import _
from plugins.invoicing.references import display as display_reference

Translate = Callable[[Any], str]
"""A translation function, e.g. ``localizer.translate``."""

LANGUAGES = ("et", "en")
DEFAULT_LANGUAGE = "et"
DATE_PATTERNS = {"et": "dd.MM.yyyy", "en": "d MMM yyyy"}
"""Dates as Estonian and English invoices print them: ``23.11.2026``, ``23 Nov 2026``."""
QUANTITY_PATTERN = "#,##0.######"
UNIT_PRICE_PATTERN = "#,##0.00####"
AMOUNT_PATTERN = "#,##0.00"
PERCENT_PATTERN = "#,##0.##"
NO_BREAK_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})
DEFAULT_ALLOWANCE_REASON = "Discount"
"""The reason an :class:`~plugins.invoicing.document.Allowance` gets when none was entered;
it is not printed (the translated label already says "discount")."""

# --- Labels ------------------------------------------------------------------------------

KIND_TITLES = {
    KIND_PREPAYMENT: _("Prepayment invoice"),
    KIND_CREDIT: _("Credit invoice"),
}
INVOICE = _("Invoice")
SELLER = _("Seller")
BUYER = _("Buyer")
REGISTRY_CODE = _("Registry code")
PERSONAL_CODE = _("Personal code")
VAT_NUMBER = _("VAT number")
EMAIL = _("E-mail")
PHONE = _("Phone")
ISSUE_DATE = _("Invoice date")
DUE_DATE = _("Due date")
DELIVERY_DATE = _("Delivery date")
PAYMENT_TERM = _("Payment term")
REFERENCE_NUMBER = _("Reference number")
CREDITED_INVOICE = _("Credited invoice")
BUYER_REFERENCE = _("Your reference")
LINE_NO = _("No.")
DESCRIPTION = _("Description")
QUANTITY = _("Quantity")
UNIT = _("Unit")
UNIT_PRICE = _("Price")
DISCOUNT_PERCENT = _("Discount %")
NET_AMOUNT = _("Net amount")
VAT_PERCENT = _("VAT %")
PRODUCT_CODE = _("Product code")
LINES_TOTAL = _("Lines total")
VAT_BREAKDOWN = _("VAT breakdown")
TAXABLE_AMOUNT = _("Taxable amount")
VAT_AMOUNT = _("VAT amount")
TOTAL_NET = _("Total without VAT")
TOTAL_VAT = _("VAT total")
TOTAL = _("Total")
PREPAID = _("Prepaid")
AMOUNT_DUE = _("Amount to pay")
PAYMENT_DETAILS = _("Payment details")
RECIPIENT = _("Recipient")
IBAN = _("IBAN")
BIC = _("BIC")
BANK = _("Bank")
AMOUNT = _("Amount")
PAYMENT_NOTICE = _("Please quote the reference number when paying.")
NOTES = _("Notes")
VAT_CATEGORY_NOTES = {
    "E": _("Exempt from VAT"),
    "AE": _("Reverse charge"),
    "K": _("Intra-community supply"),
    "G": _("Export outside the EU"),
    "O": _("Not subject to VAT"),
}


def days(count: int) -> Any:
    """``14 days`` / ``14 päeva`` (the payment term)."""
    return _("${days} days", mapping={"days": count})


def vat_rate_label(percent: Decimal, language: str) -> Any:
    """``VAT 22 %`` / ``KM 22 %``."""
    return _("VAT ${rate} %", mapping={"rate": format_percent(percent, language)})


def page_label(page: int, pages: int) -> Any:
    """``Page 1 of 2`` / ``Lk 1/2`` (the page footer)."""
    return _("Page ${page} of ${pages}", mapping={"page": page, "pages": pages})


# --- Formatting --------------------------------------------------------------------------


def babel_locale(language: str | None) -> str:
    """The Babel locale of an invoice language (Estonian for an unknown one)."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def _decimal(value: Decimal | int) -> Decimal:
    if isinstance(value, float | bool):
        raise TypeError("amounts and quantities must be Decimal (or int), not float or bool")
    return Decimal(value)


def format_money(amount: Decimal | int | None, currency: str, language: str) -> str:
    """``1 234,56 €`` in Estonian, ``€1,234.56`` in English (always two decimals for the
    euro); empty for None."""
    if amount is None:
        return ""
    return babel_numbers.format_currency(_decimal(amount), currency,
                                         locale=babel_locale(language))


def format_amount(amount: Decimal | int | None, language: str) -> str:
    """An amount without the currency sign: ``1 234,56`` / ``1,234.56``; empty for None."""
    if amount is None:
        return ""
    return babel_numbers.format_decimal(_decimal(amount), format=AMOUNT_PATTERN,
                                        locale=babel_locale(language))


def format_quantity(quantity: Decimal | int | None, language: str) -> str:
    """A quantity without trailing zeros: ``2``, ``1,5``, ``1 250,125`` (up to six
    decimals); empty for None."""
    if quantity is None:
        return ""
    return babel_numbers.format_decimal(_decimal(quantity), format=QUANTITY_PATTERN,
                                        locale=babel_locale(language))


def format_unit_price(price: Decimal | int | None, language: str) -> str:
    """A unit price with at least two and up to six decimals: ``12,50``, ``0,1234``."""
    if price is None:
        return ""
    return babel_numbers.format_decimal(_decimal(price), format=UNIT_PRICE_PATTERN,
                                        locale=babel_locale(language))


def format_percent(percent: Decimal | int | None, language: str) -> str:
    """A percentage as a number without the sign: ``22``, ``5,5`` / ``5.5``."""
    if percent is None:
        return ""
    return babel_numbers.format_decimal(_decimal(percent), format=PERCENT_PATTERN,
                                        locale=babel_locale(language))


def format_date(value: dt.date | None, language: str) -> str:
    """``23.11.2026`` in Estonian, ``23 Nov 2026`` in English; empty for None."""
    if value is None:
        return ""
    locale = babel_locale(language)
    return babel_dates.format_date(value, format=DATE_PATTERNS[locale], locale=locale)


def country_name(code: str, language: str) -> str:
    """The name of the ISO 3166 country ``code`` in ``language`` (the code if unknown)."""
    return Locale.parse(babel_locale(language)).territories.get(code.upper(), code)


def plain_spaces(text: str) -> str:
    """``text`` with no-break spaces (Babel's digit grouping) turned into plain spaces."""
    return text.translate(NO_BREAK_SPACES)


# --- Blocks ------------------------------------------------------------------------------


def kind_title(doc: InvoiceDocument, translate: Translate) -> str:
    """``Arve`` / ``Ettemaksuarve`` / ``Kreeditarve`` (or the English title)."""
    return translate(KIND_TITLES.get(doc.kind, INVOICE))


def document_title(doc: InvoiceDocument, translate: Translate) -> str:
    """The heading with the number: ``Arve nr 2026-0042`` / ``Invoice No. 2026-0042``."""
    return translate(_("${title} No. ${number}",
                       mapping={"title": kind_title(doc, translate), "number": doc.number}))


def party_lines(party: Party, doc: InvoiceDocument, translate: Translate) -> list[str]:
    """The lines under a party's name: codes, address (with the country when it differs
    from the seller's), e-mail and phone."""
    language = doc.language
    lines = []
    if party.registry_code:
        label = PERSONAL_CODE if party.is_person else REGISTRY_CODE
        lines.append(f"{translate(label)}: {party.registry_code}")
    if party.vat_number:
        lines.append(f"{translate(VAT_NUMBER)}: {party.vat_number}")
    lines.extend(party.address.lines())
    country = party.address.country
    if country and country.upper() != (doc.seller.address.country or "").upper():
        lines.append(country_name(country, language))
    if party.email:
        lines.append(f"{translate(EMAIL)}: {party.email}")
    if party.phone:
        lines.append(f"{translate(PHONE)}: {party.phone}")
    return lines


def detail_rows(doc: InvoiceDocument, translate: Translate) -> list[tuple[str, str]]:
    """Dates, payment term and references beside the buyer block, as (label, value)."""
    language = doc.language
    rows = [(translate(ISSUE_DATE), format_date(doc.issue_date, language))]
    if doc.delivery_date is not None:
        rows.append((translate(DELIVERY_DATE), format_date(doc.delivery_date, language)))
    rows.append((translate(DUE_DATE), format_date(doc.due_date, language)))
    if doc.payment_term_days is not None:
        rows.append((translate(PAYMENT_TERM), translate(days(doc.payment_term_days))))
    if doc.reference_number:
        rows.append((translate(REFERENCE_NUMBER), display_reference(doc.reference_number)))
    if doc.kind == KIND_CREDIT and doc.credited_number:
        credited = doc.credited_number
        if doc.credited_issue_date is not None:
            credited += f" ({format_date(doc.credited_issue_date, language)})"
        rows.append((translate(CREDITED_INVOICE), credited))
    if doc.buyer_reference:
        rows.append((translate(BUYER_REFERENCE), doc.buyer_reference))
    return rows


def line_headers(translate: Translate) -> list[str]:
    """The headings of the lines table, in the order of :class:`LineCells`' fields."""
    return [translate(label) for label in (
        LINE_NO, DESCRIPTION, QUANTITY, UNIT, UNIT_PRICE, DISCOUNT_PERCENT, NET_AMOUNT,
        VAT_PERCENT)]


@dataclass(frozen=True)
class LineCells:
    """One invoice line formatted for print (the cells of the lines table)."""

    position: str
    description: str
    quantity: str
    unit: str
    unit_price: str
    discount: str
    """The discount percent, empty without a discount."""
    net_amount: str
    vat: str
    """The VAT percent (the VAT breakdown names non-standard categories)."""
    product_code: str


def line_cells(line: DocumentLine, language: str) -> LineCells:
    """The cells of ``line`` formatted for ``language``."""
    return LineCells(
        position=str(line.position),
        description=line.description,
        quantity=format_quantity(line.quantity, language),
        unit=line.unit_label,
        unit_price=format_unit_price(line.unit_price, language),
        discount=format_percent(line.discount_percent, language) if line.discount_percent
        else "",
        net_amount=format_amount(line.net_amount, language),
        vat=format_percent(line.vat_percent, language),
        product_code=line.product_code or "",
    )


def allowance_rows(doc: InvoiceDocument, translate: Translate) -> list[tuple[str, str]]:
    """The lines total and the whole-invoice discounts (negative amounts), as
    (label, amount); empty without a whole-invoice discount."""
    if not doc.allowances:
        return []
    language = doc.language
    rows = [(translate(LINES_TOTAL), format_money(doc.line_total, doc.currency, language))]
    for allowance in doc.allowances:
        label = translate(_("Invoice discount ${percent} % (VAT ${rate} %)", mapping={
            "percent": format_percent(allowance.percent, language),
            "rate": format_percent(allowance.vat_percent, language)}))
        if allowance.reason and allowance.reason != DEFAULT_ALLOWANCE_REASON:
            label += f" – {allowance.reason}"
        rows.append((label, format_money(-allowance.amount, doc.currency, language)))
    return rows


def vat_headers(translate: Translate) -> list[str]:
    """The headings of the VAT breakdown: rate, taxable amount, VAT amount."""
    return [translate(VAT_PERCENT), translate(TAXABLE_AMOUNT), translate(VAT_AMOUNT)]


def vat_rows(doc: InvoiceDocument, translate: Translate) -> list[tuple[str, str, str]]:
    """The VAT breakdown by category and rate: (rate, taxable amount, VAT amount). The rate
    of a non-standard category carries its exemption reason or the category's note."""
    language = doc.language
    rows = []
    for vat in doc.vat:
        rate = f"{format_percent(vat.percent, language)} %"
        note = vat.exemption_reason or (
            translate(VAT_CATEGORY_NOTES[vat.category])
            if vat.category in VAT_CATEGORY_NOTES else "")
        if note:
            rate += f" – {note}"
        rows.append((rate, format_money(vat.taxable_amount, doc.currency, language),
                     format_money(vat.tax_amount, doc.currency, language)))
    return rows


@dataclass(frozen=True)
class TotalRow:
    """A row of the totals: label, formatted amount, whether it is the amount to pay."""

    label: str
    value: str
    emphasised: bool = False


def total_rows(doc: InvoiceDocument, translate: Translate) -> list[TotalRow]:
    """Without VAT, VAT, total, prepaid (when any) and the amount to pay."""
    language, currency = doc.language, doc.currency
    rows = [
        TotalRow(translate(TOTAL_NET), format_money(doc.total_net, currency, language)),
        TotalRow(translate(TOTAL_VAT), format_money(doc.total_vat, currency, language)),
        TotalRow(translate(TOTAL), format_money(doc.total, currency, language)),
    ]
    if doc.prepaid_amount:
        rows.append(TotalRow(translate(PREPAID),
                             format_money(-doc.prepaid_amount, currency, language)))
    rows.append(TotalRow(translate(AMOUNT_DUE),
                         format_money(doc.amount_due, currency, language), True))
    return rows


def needs_payment(doc: InvoiceDocument) -> bool:
    """True when the buyer has something to pay (not for a credit invoice or a fully
    prepaid one): only then are payment instructions printed."""
    return doc.kind != KIND_CREDIT and doc.amount_due > 0


def payment_rows(doc: InvoiceDocument, translate: Translate) -> list[tuple[str, str]]:
    """The payment instructions as (label, value): recipient, each bank account (IBAN, BIC,
    bank), reference number, amount and due date; empty when nothing is to be paid."""
    if not needs_payment(doc):
        return []
    rows = [(translate(RECIPIENT), doc.seller.name)]
    for account in doc.bank_accounts:
        rows.append((translate(IBAN), format_iban(account.iban)))
        if account.bic:
            rows.append((translate(BIC), account.bic))
        if account.bank_name:
            rows.append((translate(BANK), account.bank_name))
    if doc.reference_number:
        rows.append((translate(REFERENCE_NUMBER), display_reference(doc.reference_number)))
    rows.append((translate(AMOUNT), format_money(doc.amount_due, doc.currency, doc.language)))
    rows.append((translate(DUE_DATE), format_date(doc.due_date, doc.language)))
    return rows


def format_iban(iban: str) -> str:
    """An IBAN in groups of four for print: ``EE38 2200 2210 2014 5685``."""
    value = "".join(iban.split()).upper()
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4))


def metadata_subject(doc: InvoiceDocument, translate: Translate) -> str:
    """A one-line summary (PDF subject, e-mail preheader): title, buyer, amount to pay."""
    amount = format_money(doc.amount_due, doc.currency, doc.language)
    return plain_spaces(f"{document_title(doc, translate)} – {doc.buyer.name} – "
                        f"{translate(AMOUNT_DUE)} {amount}")
