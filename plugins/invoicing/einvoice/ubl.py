"""EN 16931 e-invoices in UBL 2.1 syntax, Peppol BIS Billing 3.0 profile.

:func:`to_ubl` writes an :class:`~plugins.invoicing.document.InvoiceDocument` as a UBL
``Invoice`` (kinds ``invoice``, type code 380, and ``prepayment``, 386) or a UBL ``CreditNote``
(kind ``credit``, type code 381). The writer never touches the database.

Identifiers: the Estonian registry code (registrikood) is Peppol EAS / ISO 6523 ICD scheme
``0191`` and the Estonian VAT number (KMKR) is EAS ``9931``; they are used for the electronic
addresses (``EndpointID``) and the legal registration (``PartyLegalEntity/CompanyID``). The VAT
number itself goes to ``PartyTaxScheme``.

Credit invoices are kept with negative quantities and amounts in the document (as entered);
a UBL CreditNote states what is credited with positive amounts, so every amount and quantity
is negated here and the credited invoice is named in ``BillingReference``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from lxml import etree

from plugins.invoicing.document import (
    KIND_CREDIT,
    KIND_INVOICE,
    KIND_PREPAYMENT,
    Allowance,
    BankAccount,
    DocumentLine,
    InvoiceDocument,
    Party,
    VatBreakdown,
    money,
)

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

SCHEME_EE_REGISTRY_CODE = "0191"
"""EAS / ISO 6523 ICD: Estonian Centre of Registers and Information Systems (registrikood)."""
SCHEME_EE_VAT = "9931"
"""EAS: Estonian VAT number."""

VAT_ENDPOINT_SCHEMES: dict[str, str] = {
    "AT": "9914", "BE": "9925", "BG": "9926", "CY": "9928", "CZ": "9929", "DE": "9930",
    "EE": SCHEME_EE_VAT, "ES": "9920", "FR": "9957", "GR": "9933", "EL": "9933", "HR": "9934",
    "HU": "9910", "IE": "9935", "LT": "9937", "LU": "9938", "LV": "9939", "MT": "9943",
    "NL": "9944", "PL": "9945", "PT": "9946", "RO": "9947", "SI": "9949", "SK": "9950",
    "FI": "0213", "IT": "0211",
}
"""Peppol EAS codes of VAT numbers by the number's country prefix (electronic addresses of
buyers outside Estonia that have no Estonian registry code)."""

INVOICE_TYPE_CODES = {KIND_INVOICE: "380", KIND_PREPAYMENT: "386"}
CREDIT_NOTE_TYPE_CODE = "381"

PAYMENT_MEANS_SEPA_CREDIT_TRANSFER = "58"
PAYMENT_MEANS_CREDIT_TRANSFER = "30"

DISCOUNT_REASON_CODE = "95"
"""UNCL 5189: Discount."""

EXEMPTION_CODES = {"AE": "VATEX-EU-AE", "K": "VATEX-EU-IC", "G": "VATEX-EU-G", "O": "VATEX-EU-O"}
"""VATEX codes the categories that always mean the same exemption get automatically."""
DEFAULT_EXEMPTION_TEXTS = {"AE": "Reverse charge", "K": "Intra-community supply",
                           "G": "Export outside the EU", "O": "Not subject to VAT"}

_PAYMENT_TERMS = {
    "et": ("Maksetähtaeg {due}", "Maksetähtaeg {days} päeva ({due})", "Tagastatakse"),
    "en": ("Due date {due}", "Payment within {days} days (due {due})", "To be refunded"),
}

_TWO_PLACES = Decimal("0.01")
_FOUR_PLACES = Decimal("0.0001")


def _cbc(parent: etree._Element, name: str, text: str | None = None,
         **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS_CBC}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{NS_CAC}}}{name}")


def _amount_text(value: Decimal) -> str:
    """An amount with exactly two decimals (EN 16931 BR-DEC rules)."""
    return f"{money(value):.2f}"


def _price_text(value: Decimal) -> str:
    """A unit price with two to four decimals."""
    text = f"{value.quantize(_FOUR_PLACES):f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction.ljust(2, '0')}"


def _number_text(value: Decimal) -> str:
    """A quantity or a percentage without exponent or needless trailing zeros."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _date_text(value: dt.date) -> str:
    return value.isoformat()


def _vat_number(party: Party) -> str | None:
    """The party's VAT number, compact, with its country prefix."""
    if not party.vat_number:
        return None
    number = "".join(party.vat_number.split()).upper()
    if not number[:2].isalpha():
        number = f"{party.address.country.upper()}{number}"
    return number


def _is_estonian_registry_code(party: Party) -> bool:
    return bool(party.registry_code) and party.address.country.upper() == "EE" \
        and not party.is_person


def _own_endpoint(party: Party) -> tuple[str, str]:
    """The Peppol electronic address (scheme, identifier) of ``party`` or raise ValueError."""
    if _is_estonian_registry_code(party):
        return SCHEME_EE_REGISTRY_CODE, str(party.registry_code).strip()
    vat = _vat_number(party)
    if vat and vat[:2] in VAT_ENDPOINT_SCHEMES:
        return VAT_ENDPOINT_SCHEMES[vat[:2]], vat
    raise ValueError(f"{party.name}: no Peppol electronic address (needs an Estonian registry "
                     "code or a VAT number)")


def _buyer_endpoint(doc: InvoiceDocument) -> tuple[str, str]:
    """The buyer's electronic address (BT-49, mandatory in Peppol: PEPPOL-EN16931-R010).

    A private person has no Peppol participant identifier, and Peppol accepts only schemes of
    its EAS list (PEPPOL-EN16931-CL008): there is no scheme for an Estonian personal code and
    the e-mail scheme ``EM`` is *not* in the Peppol list (only in the CEN one), and the
    personal code must not be written to the e-invoice anyway. Such a document is handed to
    the person outside the Peppol network (e-mail, download), so the buyer endpoint is set
    to the *seller's own* Peppol address: a real, well-formed identifier, no invented number
    and no personal data; should the file ever be sent over Peppol by mistake, it comes back
    to the seller instead of reaching a third party. The same applies to a foreign buyer
    without an identifier Peppol can address.
    """
    buyer = doc.buyer
    if not buyer.is_person:
        try:
            return _own_endpoint(buyer)
        except ValueError:
            pass
    return _own_endpoint(doc.seller)


def _address(parent: etree._Element, party: Party) -> None:
    address = _cac(parent, "PostalAddress")
    if party.address.street:
        _cbc(address, "StreetName", party.address.street)
    if party.address.city:
        _cbc(address, "CityName", party.address.city)
    if party.address.postal_code:
        _cbc(address, "PostalZone", party.address.postal_code)
    if party.address.county:
        _cbc(address, "CountrySubentity", party.address.county)
    country = _cac(address, "Country")
    _cbc(country, "IdentificationCode", (party.address.country or "EE").upper())


def _party(parent: etree._Element, party: Party, endpoint: tuple[str, str]) -> None:
    element = _cac(parent, "Party")
    _cbc(element, "EndpointID", endpoint[1], schemeID=endpoint[0])
    name = _cac(element, "PartyName")
    _cbc(name, "Name", party.name)
    _address(element, party)
    vat = _vat_number(party)
    if vat:
        tax_scheme = _cac(element, "PartyTaxScheme")
        _cbc(tax_scheme, "CompanyID", vat)
        _cbc(_cac(tax_scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(element, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)
    if _is_estonian_registry_code(party):
        _cbc(legal, "CompanyID", str(party.registry_code).strip(),
             schemeID=SCHEME_EE_REGISTRY_CODE)
    elif party.registry_code and not party.is_person:
        # A foreign registry number: no ICD scheme is known for it, so none is claimed.
        _cbc(legal, "CompanyID", party.registry_code.strip())
    if party.email or party.phone:
        contact = _cac(element, "Contact")
        if party.phone:
            _cbc(contact, "Telephone", party.phone)
        if party.email:
            _cbc(contact, "ElectronicMail", party.email)


def _payment_means_code(doc: InvoiceDocument, account: BankAccount) -> str:
    """UNCL 4461 code of a payment to ``account``.

    ``58`` (SEPA credit transfer) tells the buyer exactly how an Estonian invoice is paid: a
    euro transfer to an IBAN in the SEPA area, which is what Estonian banks do, and it lets
    Peppol receivers that pre-fill SEPA payment orders do so. A SEPA credit transfer is euro
    only, so other currencies (or an account that is not an IBAN) get the generic ``30``
    (credit transfer).
    """
    iban = "".join(account.iban.split()).upper()
    if doc.currency.upper() == "EUR" and iban[:2].isalpha() and iban[2:4].isdigit():
        return PAYMENT_MEANS_SEPA_CREDIT_TRANSFER
    return PAYMENT_MEANS_CREDIT_TRANSFER


def _payment_means(root: etree._Element, doc: InvoiceDocument) -> None:
    for account in doc.bank_accounts:
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", _payment_means_code(doc, account))
        if doc.reference_number:
            _cbc(means, "PaymentID", "".join(doc.reference_number.split()).upper())
        financial = _cac(means, "PayeeFinancialAccount")
        _cbc(financial, "ID", "".join(account.iban.split()).upper())
        _cbc(financial, "Name", doc.seller.name)
        if account.bic:
            _cbc(_cac(financial, "FinancialInstitutionBranch"), "ID", account.bic.strip().upper())


def _payment_terms_text(doc: InvoiceDocument) -> str:
    due, with_days, refund = _PAYMENT_TERMS.get(doc.language, _PAYMENT_TERMS["en"])
    if doc.kind == KIND_CREDIT:
        return refund
    if doc.payment_term_days is not None:
        return with_days.format(days=doc.payment_term_days, due=_date_text(doc.due_date))
    return due.format(due=_date_text(doc.due_date))


def _tax_category(parent: etree._Element, name: str, category: str, percent: Decimal,
                  exemption: VatBreakdown | None = None) -> None:
    element = _cac(parent, name)
    _cbc(element, "ID", category)
    _cbc(element, "Percent", _number_text(percent))
    if exemption is not None and category not in ("S", "Z"):
        code = EXEMPTION_CODES.get(category)
        reason = exemption.exemption_reason or DEFAULT_EXEMPTION_TEXTS.get(category)
        if not code and not reason:
            raise ValueError(f"VAT category {category} needs an exemption reason "
                             "(EN 16931 BR-E-10)")
        if code:
            _cbc(element, "TaxExemptionReasonCode", code)
        if reason:
            _cbc(element, "TaxExemptionReason", reason)
    _cbc(_cac(element, "TaxScheme"), "ID", "VAT")


def _allowance(parent: etree._Element, currency: str, *, amount: Decimal, base: Decimal,
               percent: Decimal, reason: str) -> etree._Element:
    element = _cac(parent, "AllowanceCharge")
    _cbc(element, "ChargeIndicator", "false")
    _cbc(element, "AllowanceChargeReasonCode", DISCOUNT_REASON_CODE)
    _cbc(element, "AllowanceChargeReason", reason)
    _cbc(element, "MultiplierFactorNumeric", _number_text(percent))
    _cbc(element, "Amount", _amount_text(amount), currencyID=currency)
    _cbc(element, "BaseAmount", _amount_text(base), currencyID=currency)
    return element


def _document_allowances(root: etree._Element, doc: InvoiceDocument, sign: int) -> None:
    for allowance in doc.allowances:
        _document_allowance(root, doc.currency, allowance, sign)


def _document_allowance(root: etree._Element, currency: str, allowance: Allowance,
                        sign: int) -> None:
    element = _allowance(root, currency, amount=sign * allowance.amount,
                         base=sign * allowance.base_amount, percent=allowance.percent,
                         reason=allowance.reason)
    _tax_category(element, "TaxCategory", allowance.vat_category, allowance.vat_percent)


def _tax_total(root: etree._Element, doc: InvoiceDocument, sign: int) -> None:
    total = _cac(root, "TaxTotal")
    _cbc(total, "TaxAmount", _amount_text(sign * doc.total_vat), currencyID=doc.currency)
    for vat in doc.vat:
        subtotal = _cac(total, "TaxSubtotal")
        _cbc(subtotal, "TaxableAmount", _amount_text(sign * vat.taxable_amount),
             currencyID=doc.currency)
        _cbc(subtotal, "TaxAmount", _amount_text(sign * vat.tax_amount),
             currencyID=doc.currency)
        _tax_category(subtotal, "TaxCategory", vat.category, vat.percent, exemption=vat)


def _monetary_total(root: etree._Element, doc: InvoiceDocument, sign: int) -> None:
    total = _cac(root, "LegalMonetaryTotal")
    currency = doc.currency
    _cbc(total, "LineExtensionAmount", _amount_text(sign * doc.line_total), currencyID=currency)
    _cbc(total, "TaxExclusiveAmount", _amount_text(sign * doc.total_net), currencyID=currency)
    _cbc(total, "TaxInclusiveAmount", _amount_text(sign * doc.total), currencyID=currency)
    if doc.allowances:
        _cbc(total, "AllowanceTotalAmount", _amount_text(sign * doc.invoice_discount_amount),
             currencyID=currency)
    if doc.prepaid_amount:
        _cbc(total, "PrepaidAmount", _amount_text(sign * doc.prepaid_amount),
             currencyID=currency)
    _cbc(total, "PayableAmount", _amount_text(sign * doc.amount_due), currencyID=currency)


def _line_figures(line: DocumentLine, sign: int) -> tuple[Decimal, Decimal]:
    """(quantity, unit price) as written: the price is never negative (EN 16931 BR-27), so a
    negative price moves its sign to the quantity; credit notes negate the quantity."""
    quantity, price = sign * line.quantity, line.unit_price
    if price < 0:
        quantity, price = -quantity, -price
    return quantity, price


def _lines(root: etree._Element, doc: InvoiceDocument, sign: int, credit: bool) -> None:
    currency = doc.currency
    for line in doc.lines:
        element = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        _cbc(element, "ID", str(line.position))
        quantity, price = _line_figures(line, sign)
        _cbc(element, "CreditedQuantity" if credit else "InvoicedQuantity",
             _number_text(quantity), unitCode=line.unit_code)
        _cbc(element, "LineExtensionAmount", _amount_text(sign * line.net_amount),
             currencyID=currency)
        discount = line.discount_amount
        if discount:
            # Amount and base follow the sign of the line as written (a discount on a
            # negative invoice line is negative too; credit notes turn both positive).
            _allowance(element, currency, amount=sign * discount, base=sign * line.gross_amount,
                       percent=line.discount_percent, reason="Discount")
        item = _cac(element, "Item")
        _cbc(item, "Name", line.description or "-")
        if line.product_code:
            _cbc(_cac(item, "SellersItemIdentification"), "ID", line.product_code)
        _tax_category(item, "ClassifiedTaxCategory", line.vat_category, line.vat_percent)
        price_element = _cac(element, "Price")
        _cbc(price_element, "PriceAmount", _price_text(price), currencyID=currency)


def _check(doc: InvoiceDocument) -> None:
    if doc.kind not in (KIND_INVOICE, KIND_PREPAYMENT, KIND_CREDIT):
        raise ValueError(f"unknown invoice kind {doc.kind!r}")
    if not doc.lines:
        raise ValueError("an e-invoice needs at least one line (EN 16931 BR-16)")


def _notes(doc: InvoiceDocument) -> Iterable[str]:
    if doc.notes and doc.notes.strip():
        # Peppol allows one note on document level (PEPPOL-EN16931-R002).
        yield doc.notes.strip()


def to_ubl(doc: InvoiceDocument) -> bytes:
    """The invoice ``doc`` as EN 16931 UBL 2.1 XML (Peppol BIS Billing 3.0), UTF-8 encoded
    with an XML declaration: an ``Invoice`` for invoices and prepayment invoices, a
    ``CreditNote`` with positive amounts for credit invoices."""
    _check(doc)
    credit = doc.kind == KIND_CREDIT
    sign = -1 if credit else 1
    namespace = NS_CREDIT_NOTE if credit else NS_INVOICE
    root = etree.Element(f"{{{namespace}}}{'CreditNote' if credit else 'Invoice'}",
                         nsmap={None: namespace, "cac": NS_CAC, "cbc": NS_CBC})
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", doc.number)
    _cbc(root, "IssueDate", _date_text(doc.issue_date))
    if credit:
        _cbc(root, "CreditNoteTypeCode", CREDIT_NOTE_TYPE_CODE)
    else:
        _cbc(root, "DueDate", _date_text(doc.due_date))
        _cbc(root, "InvoiceTypeCode", INVOICE_TYPE_CODES[doc.kind])
    for note in _notes(doc):
        _cbc(root, "Note", note)
    _cbc(root, "DocumentCurrencyCode", doc.currency)
    # Peppol needs a buyer reference or an order reference (PEPPOL-EN16931-R003). Without a
    # reference from the buyer, the invoice number is the one the buyer can quote back.
    _cbc(root, "BuyerReference", doc.buyer_reference or doc.number)
    if credit and doc.credited_number:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", doc.credited_number)
        if doc.credited_issue_date:
            _cbc(reference, "IssueDate", _date_text(doc.credited_issue_date))
    _party(_cac(root, "AccountingSupplierParty"), doc.seller, _own_endpoint(doc.seller))
    _party(_cac(root, "AccountingCustomerParty"), doc.buyer, _buyer_endpoint(doc))
    if doc.delivery_date:
        _cbc(_cac(root, "Delivery"), "ActualDeliveryDate", _date_text(doc.delivery_date))
    if not credit:
        # A credit note is refunded by the seller: the seller's account is not where money
        # goes, so payment means are only written for invoices.
        _payment_means(root, doc)
    _cbc(_cac(root, "PaymentTerms"), "Note", _payment_terms_text(doc))
    _document_allowances(root, doc, sign)
    _tax_total(root, doc, sign)
    _monetary_total(root, doc, sign)
    _lines(root, doc, sign, credit)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
