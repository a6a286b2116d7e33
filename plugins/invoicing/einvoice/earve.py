"""The Estonian national e-invoice (e-arve), standard version 1.2.

:func:`to_earve` writes an :class:`~plugins.invoicing.document.InvoiceDocument` as an
``E_Invoice`` file (no XML namespace) with a ``Header``, one ``Invoice`` and a ``Footer``, valid
against the e-invoice 1.2 XML schema (``e-invoice-ee-1.2.xsd``). The writer never touches the
database.

Mapping notes:

- invoices and prepayment invoices are type ``DEB``; a credit invoice is type ``CRE`` with the
  credited invoice's number in ``SourceInvoice``, and keeps the negative amounts it was entered
  with (the e-arve, unlike a UBL CreditNote, has no separate positive-amount document);
- sums: ``InvoiceSum`` is the sum of the line net amounts (before the whole-invoice discount),
  the whole-invoice discount per VAT rate is an ``Addition`` with ``addCode="DSC"``, ``VAT``
  records carry the VAT breakdown, ``TotalSum`` is the total with VAT and ``TotalToPay`` what
  is left after prepayments;
- a line shows quantity times unit price as ``ItemSum``; its discount is an ``Addition``
  (``DSC``) whose ``AddSum`` is the signed change it makes (negative for a discount on a
  positive line), and ``ItemTotal`` is the net amount plus the line's VAT;
- payment: ``PaymentRefId`` is the Estonian reference number (the schema allows digits only,
  so an RF creditor reference goes to ``PaymentDescription`` instead), ``PayToAccount`` the
  seller's IBAN;
- a private person's personal code is not written (``regNumber`` stays empty), as in every
  other e-invoice the product writes.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from lxml import etree

from plugins.invoicing.document import (
    KIND_CREDIT,
    KIND_INVOICE,
    KIND_PREPAYMENT,
    Address,
    BankAccount,
    DocumentLine,
    InvoiceDocument,
    Party,
    VatBreakdown,
    money,
)

VERSION = "1.2"
APP_ID = "KLIENDIHALDUS"

SHORT_TEXT = 20
NORMAL_TEXT = 100
LONG_TEXT = 500
REG_TEXT = 15
PAYMENT_DESCRIPTION = 210
POSTAL_CODE = 10
ACCOUNT = 35
BIC = 11

DOCUMENT_NAMES = {
    "et": {KIND_INVOICE: "Arve", KIND_PREPAYMENT: "Ettemaksuarve", KIND_CREDIT: "Kreeditarve"},
    "en": {KIND_INVOICE: "Invoice", KIND_PREPAYMENT: "Prepayment invoice",
           KIND_CREDIT: "Credit invoice"},
}
_LABELS = {
    "et": {"discount": "Allahindlus", "notes": "Märkused", "exemption": "Maksuvabastus",
           "days": "{days} päeva", "delivery": "Tarnekuupäev", "buyer_reference": "Ostja viide"},
    "en": {"discount": "Discount", "notes": "Notes", "exemption": "VAT exemption",
           "days": "{days} days", "delivery": "Delivery date",
           "buyer_reference": "Buyer reference"},
}

# vatId of a VAT record: TAX (taxable, zero rate included), TAXEX (exempt), NOTTAX (outside
# the scope of VAT). Reverse charge, intra-community supply and export are taxable supplies
# taxed at 0 % in the seller's return, hence TAX.
_VAT_IDS = {"E": "TAXEX", "O": "NOTTAX"}

# PaymentDescription allows Latin-1 and the Estonian Š š Ž ž only.
_PAYMENT_DESCRIPTION_INVALID = re.compile("[^\u0020-\u00ff\u0160\u0161\u017d\u017e]")
_EMAIL = re.compile(r".+@+.+")
_ACCOUNT_INVALID = re.compile("[^0-9A-Z]")


def _text(value: str | None, limit: int) -> str:
    """``value`` stripped and cut to ``limit`` characters (the schema's maximum length)."""
    return (value or "").strip()[:limit]


def _sub(parent: etree._Element, name: str, text: str | None = None,
         **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, name, attributes)
    if text is not None:
        element.text = text
    return element


def _amount(value: Decimal) -> str:
    """Two decimals (the schema's Decimal2FractionDigitsType and, for money, the 4-digit
    types as well)."""
    return f"{money(value):.2f}"


def _quantity(value: Decimal) -> str:
    """Up to four decimals (Decimal4FractionDigitsType), no needless trailing zeros."""
    text = f"{value.quantize(Decimal('0.0001')):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _price(value: Decimal) -> str:
    """A unit price with two to four decimals."""
    text = f"{value.quantize(Decimal('0.0001')):f}"
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def _date(value: dt.date) -> str:
    return value.isoformat()


def _account(iban: str) -> str:
    return _ACCOUNT_INVALID.sub("", iban.upper())[:ACCOUNT]


def _payment_description(value: str) -> str:
    return _PAYMENT_DESCRIPTION_INVALID.sub("?", value)[:PAYMENT_DESCRIPTION]


def _language(doc: InvoiceDocument) -> str:
    return doc.language if doc.language in _LABELS else "en"


def _address(parent: etree._Element, address: Address) -> None:
    # PostalAddress1 and City are mandatory in an AddressRecord: without them no address.
    if not address.street.strip() or not address.city.strip():
        return
    record = _sub(parent, "LegalAddress")
    _sub(record, "PostalAddress1", _text(address.street, NORMAL_TEXT))
    if address.county.strip():
        _sub(record, "PostalAddress2", _text(address.county, NORMAL_TEXT))
    _sub(record, "City", _text(address.city, NORMAL_TEXT))
    if address.postal_code.strip():
        _sub(record, "PostalCode", _text(address.postal_code, POSTAL_CODE))
    _sub(record, "Country", _text(address.country.upper(), NORMAL_TEXT))


def _contact(parent: etree._Element, party: Party) -> None:
    email = (party.email or "").strip()
    has_email = bool(email) and _EMAIL.fullmatch(email) is not None
    has_address = bool(party.address.street.strip() and party.address.city.strip())
    if not (party.phone or has_email or has_address):
        return
    contact = _sub(parent, "ContactData")
    if party.phone:
        _sub(contact, "PhoneNumber", _text(party.phone, NORMAL_TEXT))
    if has_email:
        _sub(contact, "E-mailAddress", email)
    _address(contact, party.address)


def _account_info(parent: etree._Element, account: BankAccount) -> None:
    info = _sub(parent, "AccountInfo")
    iban = _account(account.iban)
    _sub(info, "AccountNumber", iban)
    _sub(info, "IBAN", iban)
    if account.bic:
        _sub(info, "BIC", _text(account.bic.upper(), BIC))
    if account.bank_name:
        _sub(info, "BankName", _text(account.bank_name, NORMAL_TEXT))


def _buyer_reg_number(buyer: Party) -> str:
    """The buyer's registry code for the ``regNumber`` attribute: empty for a private person
    (the personal code is kept private); a foreign company without one is named by its VAT
    number."""
    if buyer.is_person:
        return ""
    return _text(buyer.registry_code or buyer.vat_number, REG_TEXT)


def _parties(invoice: etree._Element, doc: InvoiceDocument) -> None:
    parties = _sub(invoice, "InvoiceParties")
    seller = _sub(parties, "SellerParty")
    _sub(seller, "Name", _text(doc.seller.name, NORMAL_TEXT))
    _sub(seller, "RegNumber", _text(doc.seller.registry_code, REG_TEXT))
    if doc.seller.vat_number:
        _sub(seller, "VATRegNumber", _text(doc.seller.vat_number, REG_TEXT))
    _contact(seller, doc.seller)
    for account in doc.bank_accounts:
        _account_info(seller, account)
    buyer = _sub(parties, "BuyerParty")
    _sub(buyer, "Name", _text(doc.buyer.name, NORMAL_TEXT))
    registry = _buyer_reg_number(doc.buyer)
    if registry and doc.buyer.registry_code:
        _sub(buyer, "RegNumber", registry)
    if doc.buyer.vat_number and not doc.buyer.is_person:
        _sub(buyer, "VATRegNumber", _text(doc.buyer.vat_number, REG_TEXT))
    _contact(buyer, doc.buyer)


def _estonian_reference(doc: InvoiceDocument) -> str | None:
    """The reference number if it is the numeric Estonian kind (the schema's ReferenceType)."""
    reference = "".join((doc.reference_number or "").split())
    if reference.isdigit() and len(reference) <= SHORT_TEXT:
        return reference
    return None


def _information(invoice: etree._Element, doc: InvoiceDocument) -> None:
    labels = _LABELS[_language(doc)]
    information = _sub(invoice, "InvoiceInformation")
    credit = doc.kind == KIND_CREDIT
    kind = _sub(information, "Type", type="CRE" if credit else "DEB")
    if credit and doc.credited_number:
        _sub(kind, "SourceInvoice", _text(doc.credited_number, SHORT_TEXT))
    _sub(information, "DocumentName", DOCUMENT_NAMES[_language(doc)][doc.kind])
    _sub(information, "InvoiceNumber", _text(doc.number, NORMAL_TEXT))
    reference = _estonian_reference(doc)
    if reference:
        _sub(information, "PaymentReferenceNumber", reference)
    _sub(information, "InvoiceDate", _date(doc.issue_date))
    _sub(information, "DueDate", _date(doc.due_date))
    if doc.payment_term_days is not None:
        _sub(information, "PaymentTerm", labels["days"].format(days=doc.payment_term_days))
    if doc.delivery_date:
        period = _sub(information, "Period")
        _sub(period, "PeriodName", labels["delivery"])
        _sub(period, "StartDate", _date(doc.delivery_date))
        _sub(period, "EndDate", _date(doc.delivery_date))


def _vat_record(parent: etree._Element, vat: VatBreakdown, currency: str,
                labels: dict[str, str]) -> None:
    record = _sub(parent, "VAT", vatId=_VAT_IDS.get(vat.category, "TAX"))
    _sub(record, "SumBeforeVAT", _amount(vat.taxable_amount))
    _sub(record, "VATRate", _amount(vat.percent))
    _sub(record, "VATSum", _amount(vat.tax_amount))
    _sub(record, "Currency", currency)
    _sub(record, "SumAfterVAT", _amount(vat.taxable_amount + vat.tax_amount))
    if vat.exemption_reason:
        reference = _sub(record, "Reference", extensionId="exemption")
        _sub(reference, "InformationName", labels["exemption"])
        _sub(reference, "InformationContent", _text(vat.exemption_reason, LONG_TEXT))


def _sums(invoice: etree._Element, doc: InvoiceDocument) -> None:
    labels = _LABELS[_language(doc)]
    group = _sub(invoice, "InvoiceSumGroup")
    _sub(group, "InvoiceSum", _amount(doc.line_total))
    for allowance in doc.allowances:
        addition = _sub(group, "Addition", addCode="DSC")
        _sub(addition, "AddContent", _text(
            f"{allowance.reason} ({_quantity(allowance.vat_percent)} %)", NORMAL_TEXT))
        _sub(addition, "AddRate", _amount(allowance.percent))
        _sub(addition, "AddSum", _amount(-allowance.amount))
    for vat in doc.vat:
        _vat_record(group, vat, doc.currency, labels)
    _sub(group, "TotalVATSum", _amount(doc.total_vat))
    _sub(group, "TotalSum", _amount(doc.total))
    _sub(group, "TotalToPay", _amount(doc.amount_due))
    _sub(group, "Currency", doc.currency)


def _item(parent: etree._Element, line: DocumentLine, labels: dict[str, str]) -> None:
    entry = _sub(parent, "ItemEntry")
    _sub(entry, "RowNo", str(line.position))
    if line.product_code:
        _sub(entry, "SellerProductId", _text(line.product_code, SHORT_TEXT))
    _sub(entry, "Description", _text(line.description, LONG_TEXT) or "-")
    detail = _sub(entry, "ItemDetailInfo")
    _sub(detail, "ItemUnit", _text(line.unit_label or line.unit_code, SHORT_TEXT))
    _sub(detail, "ItemAmount", _quantity(line.quantity))
    _sub(detail, "ItemPrice", _price(line.unit_price))
    _sub(entry, "ItemSum", _amount(line.gross_amount))
    if line.discount_amount:
        addition = _sub(entry, "Addition", addCode="DSC")
        _sub(addition, "AddContent", labels["discount"])
        _sub(addition, "AddRate", _amount(line.discount_percent))
        _sub(addition, "AddSum", _amount(-line.discount_amount))
    # The line's VAT is informative: the invoice's VAT is computed once per rate (the VAT
    # records of InvoiceSumGroup), so line VAT amounts may differ from it by rounding.
    line_vat = money(line.net_amount * line.vat_percent / 100)
    vat = _sub(entry, "VAT", vatId=_VAT_IDS.get(line.vat_category, "TAX"))
    _sub(vat, "SumBeforeVAT", _amount(line.net_amount))
    _sub(vat, "VATRate", _amount(line.vat_percent))
    _sub(vat, "VATSum", _amount(line_vat))
    _sub(entry, "ItemTotal", _amount(line.net_amount + line_vat))


def _items(invoice: etree._Element, doc: InvoiceDocument) -> None:
    labels = _LABELS[_language(doc)]
    group = _sub(_sub(invoice, "InvoiceItem"), "InvoiceItemGroup")
    for line in doc.lines:
        _item(group, line, labels)


def _additional(invoice: etree._Element, doc: InvoiceDocument) -> None:
    notes = (doc.notes or "").strip()
    labels = _LABELS[_language(doc)]
    if doc.buyer_reference and doc.buyer_reference.strip():
        extension = _sub(invoice, "AdditionalInformation", extensionId="buyerReference")
        _sub(extension, "InformationName", labels["buyer_reference"])
        _sub(extension, "InformationContent", _text(doc.buyer_reference, LONG_TEXT))
    for start in range(0, len(notes), LONG_TEXT):
        extension = _sub(invoice, "AdditionalInformation", extensionId="notes")
        _sub(extension, "InformationName", labels["notes"])
        _sub(extension, "InformationContent", notes[start:start + LONG_TEXT])


def _payment(invoice: etree._Element, doc: InvoiceDocument) -> None:
    account = doc.bank_accounts[0]
    payment = _sub(invoice, "PaymentInfo")
    _sub(payment, "Currency", doc.currency)
    reference = _estonian_reference(doc)
    if reference:
        _sub(payment, "PaymentRefId", reference)
        _sub(payment, "PaymentDescription", _payment_description(doc.number))
    else:
        description = doc.number
        if doc.reference_number:
            description = f"{''.join(doc.reference_number.split())} {doc.number}"
        _sub(payment, "PaymentDescription", _payment_description(description))
    payable = doc.kind != KIND_CREDIT and doc.amount_due > 0
    _sub(payment, "Payable", "YES" if payable else "NO")
    _sub(payment, "PayDueDate", _date(doc.due_date))
    _sub(payment, "PaymentTotalSum", _amount(doc.amount_due))
    _sub(payment, "PayerName", _text(doc.buyer.name, NORMAL_TEXT))
    _sub(payment, "PaymentId", _text(doc.number, NORMAL_TEXT))
    _sub(payment, "PayToAccount", _account(account.iban))
    _sub(payment, "PayToName", _text(doc.seller.name, NORMAL_TEXT))
    if account.bic:
        _sub(payment, "PayToBIC", _text(account.bic.upper(), BIC))


def _check(doc: InvoiceDocument, sender_id: str | None) -> None:
    if doc.kind not in (KIND_INVOICE, KIND_PREPAYMENT, KIND_CREDIT):
        raise ValueError(f"unknown invoice kind {doc.kind!r}")
    if not doc.lines:
        raise ValueError("an e-arve needs at least one invoice line")
    if not doc.seller.registry_code:
        raise ValueError("an e-arve needs the seller's registry code")
    if not doc.bank_accounts:
        raise ValueError("an e-arve needs the seller's bank account (PayToAccount)")
    if sender_id is not None and not 0 < len(sender_id) <= SHORT_TEXT:
        raise ValueError(f"sender_id must be 1-{SHORT_TEXT} characters")


def to_earve(doc: InvoiceDocument, *, sender_id: str | None = None) -> bytes:
    """The invoice ``doc`` as an Estonian e-invoice 1.2 file (UTF-8, with XML declaration).

    ``sender_id`` is the sender's identifier agreed with the e-invoice operator (Header
    ``SenderId``), if any. The header's file date is the invoice's issue date, so the same
    document always gives the same bytes.
    """
    _check(doc, sender_id)
    root = etree.Element("E_Invoice")
    header = _sub(root, "Header")
    _sub(header, "Date", _date(doc.issue_date))
    _sub(header, "FileId", _text(doc.number, SHORT_TEXT))
    _sub(header, "AppId", APP_ID)
    _sub(header, "Version", VERSION)
    if sender_id:
        _sub(header, "SenderId", sender_id)
    attributes = {
        "invoiceId": _text(doc.number, NORMAL_TEXT),
        "regNumber": _buyer_reg_number(doc.buyer),
        "sellerRegnumber": _text(doc.seller.registry_code, REG_TEXT),
    }
    if re.fullmatch("[a-z]{2}", doc.language or ""):
        attributes["languageId"] = doc.language
    invoice = _sub(root, "Invoice", **attributes)
    _parties(invoice, doc)
    _information(invoice, doc)
    _sums(invoice, doc)
    _items(invoice, doc)
    _additional(invoice, doc)
    _payment(invoice, doc)
    footer = _sub(root, "Footer")
    _sub(footer, "TotalNumberInvoices", "1")
    _sub(footer, "TotalAmount", _amount(doc.total))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
