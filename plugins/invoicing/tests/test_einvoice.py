"""E-invoice writers against the official rule sets: UBL 2.1 XSD, CEN EN 16931 schematron,
Peppol BIS Billing 3.0 rules and the Estonian e-arve 1.2 XSD.

The documents are built here with the invoice arithmetic of :mod:`plugins.invoicing.totals`,
so they are internally consistent; no database and no application fixtures are needed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from stdnum import iban as stdnum_iban
from stdnum.de import vat as de_vat
from stdnum.ee import ik, kmkr, registrikood

from core.safe_xml import UnsafeXml, parse_xml
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
from plugins.invoicing.einvoice.earve import to_earve
from plugins.invoicing.einvoice.ubl import to_ubl
from plugins.invoicing.references import is_valid_estonian, make_reference, rf_from_estonian
from plugins.invoicing.tests import einvoice_validation as validation
from plugins.invoicing.totals import TaxedAmount, line_net, summarise

D = Decimal
NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}

SELLER_REGISTRY_CODE = "16000002"
SELLER_VAT = "EE102345676"
BUYER_REGISTRY_CODE = "14000009"
BUYER_VAT = "EE103456784"
PERSONAL_CODE = "38001085718"
GERMAN_VAT = "DE136695976"
IBAN = "EE382200221020145685"
BIC = "HABAEE2X"
EXEMPT_REASON = "Maksuvaba käive (KMS § 16 lg 2 p 6, koolitusteenus)"

SELLER = Party(
    name="Näidis Tarkvara OÜ",
    registry_code=SELLER_REGISTRY_CODE,
    vat_number=SELLER_VAT,
    address=Address("Narva mnt 5", "Tallinn", "10117", "Harju maakond", "EE"),
    email="arved@naidis-tarkvara.ee",
    phone="+372 600 1234",
)
BUYER_COMPANY = Party(
    name="Lõuna Ehitus AS",
    registry_code=BUYER_REGISTRY_CODE,
    vat_number=BUYER_VAT,
    address=Address("Riia 15", "Tartu", "51010", "Tartu maakond", "EE"),
    email="raamatupidamine@louna-ehitus.ee",
)
BUYER_PERSON = Party(
    name="Mari Maasikas",
    registry_code=PERSONAL_CODE,
    address=Address("Pikk 3-7", "Pärnu", "80010", "", "EE"),
    email="mari.maasikas@example.ee",
    is_person=True,
)
BUYER_GERMAN = Party(
    name="Nordlicht Maschinenbau GmbH",
    vat_number=GERMAN_VAT,
    address=Address("Hafenstraße 12", "Hamburg", "20457", "", "DE"),
    email="rechnungen@nordlicht.example",
)
ACCOUNTS = [BankAccount(IBAN, BIC, "Swedbank")]

LineSpec = tuple[str, str, str, str, str, str, str]
"""(description, quantity, unit code, unit price, discount %, VAT category, VAT %)."""


def build(kind: str, number: str, buyer: Party, specs: list[LineSpec], *,
          invoice_discount: str = "0", reference: str | None = None,
          prepaid: str = "0.00", exemption_reasons: dict[str, str] | None = None,
          **extra: object) -> InvoiceDocument:
    """An :class:`InvoiceDocument` whose amounts come from :mod:`plugins.invoicing.totals`."""
    lines = []
    for position, (text, quantity, unit, price, discount, category, rate) in enumerate(specs, 1):
        lines.append(DocumentLine(
            position=position, description=text, quantity=D(quantity), unit_code=unit,
            unit_label={"HUR": "h", "H87": "tk", "KGM": "kg"}[unit], unit_price=D(price),
            discount_percent=D(discount), net_amount=line_net(D(quantity), D(price), D(discount)),
            vat_category=category, vat_percent=D(rate), product_code=f"P-{position:03d}"))
    summary = summarise([TaxedAmount(line.net_amount, line.vat_category, line.vat_percent)
                         for line in lines], D(invoice_discount), exemption_reasons)
    issue = dt.date(2025, 9, 1)
    document = InvoiceDocument(
        kind=kind, number=number, issue_date=issue, due_date=issue + dt.timedelta(days=14),
        seller=SELLER, buyer=buyer, lines=lines, vat=summary.vat, allowances=summary.allowances,
        reference_number=reference, bank_accounts=ACCOUNTS, prepaid_amount=D(prepaid),
        payment_term_days=14, delivery_date=dt.date(2025, 8, 29), **extra)  # type: ignore[arg-type]
    assert document.total_net == summary.total_net
    assert document.total == summary.total
    return document


def domestic_invoice() -> InvoiceDocument:
    """Company buyer: 24 %, 9 %, zero rated and exempt lines, a line discount and a 5 %
    whole-invoice discount."""
    return build(KIND_INVOICE, "2025-0101", BUYER_COMPANY, [
        ("Tarkvaraarendus, august 2025", "12.5", "HUR", "68.00", "0", "S", "24"),
        ("Serveri hooldus", "1", "H87", "149.90", "10", "S", "24"),
        ("Erialane käsiraamat", "3", "H87", "24.3456", "15", "S", "9"),
        ("Rahvusvaheline vedu", "1", "H87", "80.00", "0", "Z", "0"),
        ("Koolitus: turvaline arendus", "2", "H87", "150.00", "0", "E", "0"),
    ], invoice_discount="5", reference=make_reference(20250101),
        exemption_reasons={"E": EXEMPT_REASON}, notes="Täname koostöö eest!",
        buyer_reference="Tellimus 4711")


def private_person_invoice() -> InvoiceDocument:
    """Private person buyer: no registry code may reach the e-invoice."""
    return build(KIND_INVOICE, "2025-0102", BUYER_PERSON, [
        ("Arvuti seadistamine", "1.5", "HUR", "45.00", "0", "S", "24"),
        ("USB-C kaabel", "2", "H87", "9.99", "0", "S", "24"),
    ], reference=make_reference(20250102))


def prepayment_invoice() -> InvoiceDocument:
    """A prepayment invoice (UBL type 386) for half of a project."""
    return build(KIND_PREPAYMENT, "2025-0103", BUYER_COMPANY, [
        ("Ettemaks: veebipoe arendus (50 %)", "1", "H87", "2500.00", "0", "S", "24"),
    ], reference=make_reference(20250103))


def final_invoice_after_prepayment() -> InvoiceDocument:
    """The final invoice of the project, the prepayment (with VAT) deducted."""
    return build(KIND_INVOICE, "2025-0104", BUYER_COMPANY, [
        ("Veebipoe arendus", "1", "H87", "5000.00", "0", "S", "24"),
        ("Lisatööd", "6", "HUR", "68.00", "0", "S", "24"),
    ], reference=make_reference(20250104), prepaid="3100.00")


def credit_invoice() -> InvoiceDocument:
    """A credit invoice with the negative quantities and amounts it is entered with."""
    return build(KIND_CREDIT, "2025-0105", BUYER_COMPANY, [
        ("Tagastatud käsiraamat", "-2", "H87", "24.3456", "15", "S", "9"),
        ("Tarkvaraarendus, ülearveldatud tunnid", "-1.5", "HUR", "68.00", "0", "S", "24"),
    ], reference=make_reference(20250105), credited_number="2025-0101",
        credited_issue_date=dt.date(2025, 9, 1))


def reverse_charge_invoice() -> InvoiceDocument:
    """An EU business buyer (Germany): services under reverse charge, RF reference."""
    return build(KIND_INVOICE, "2025-0106", BUYER_GERMAN, [
        ("Software development, August 2025", "40", "HUR", "75.00", "0", "AE", "0"),
        ("Hosting", "1", "H87", "120.00", "5", "AE", "0"),
    ], reference=rf_from_estonian(make_reference(20250106)),
        exemption_reasons={"AE": "Reverse charge (VAT Directive art. 196)"}, language="en")


DOCUMENTS: dict[str, Callable[[], InvoiceDocument]] = {
    "domestic": domestic_invoice,
    "private_person": private_person_invoice,
    "prepayment": prepayment_invoice,
    "final_after_prepayment": final_invoice_after_prepayment,
    "credit": credit_invoice,
    "reverse_charge": reverse_charge_invoice,
}


def ubl_tree(doc: InvoiceDocument) -> etree._Element:
    """The root element of ``doc`` written as UBL."""
    return parse_xml(to_ubl(doc)).getroot()


def text(root: etree._Element, path: str) -> str:
    """The text (or attribute value) of the first match of the XPath ``path``."""
    found = root.xpath(path, namespaces=NS)
    assert found, f"{path} not found"
    return str(found[0].text if isinstance(found[0], etree._Element) else found[0])


def test_test_data_identifiers_are_valid() -> None:
    assert registrikood.is_valid(SELLER_REGISTRY_CODE)
    assert registrikood.is_valid(BUYER_REGISTRY_CODE)
    assert kmkr.is_valid(SELLER_VAT)
    assert kmkr.is_valid(BUYER_VAT)
    assert ik.is_valid(PERSONAL_CODE)
    assert de_vat.is_valid(GERMAN_VAT)
    assert stdnum_iban.is_valid(IBAN)
    assert is_valid_estonian(make_reference(20250101))


# --- every document passes every validator ------------------------------------------------


@pytest.mark.parametrize("name", DOCUMENTS)
def test_ubl_passes_xsd_en16931_and_peppol(name: str) -> None:
    report = validation.validate_ubl(to_ubl(DOCUMENTS[name]()))
    assert report.errors == []


@pytest.mark.parametrize("name", DOCUMENTS)
def test_earve_passes_xsd(name: str) -> None:
    assert validation.earve_xsd_errors(to_earve(DOCUMENTS[name](), sender_id="NAIDIS")) == []


# --- content -----------------------------------------------------------------------------


def test_ubl_invoice_content() -> None:
    doc = domestic_invoice()
    xml = to_ubl(doc)
    assert xml.startswith(b'<?xml version=\'1.0\' encoding=\'UTF-8\'?>')
    root = parse_xml(xml).getroot()
    assert root.tag == f"{{{NS['inv']}}}Invoice"
    assert text(root, "cbc:CustomizationID") == (
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0")
    assert text(root, "cbc:ProfileID") == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert text(root, "cbc:ID") == "2025-0101"
    assert text(root, "cbc:InvoiceTypeCode") == "380"
    assert text(root, "cbc:BuyerReference") == "Tellimus 4711"
    seller = "cac:AccountingSupplierParty/cac:Party/"
    buyer = "cac:AccountingCustomerParty/cac:Party/"
    assert text(root, seller + "cbc:EndpointID/@schemeID") == "0191"
    assert text(root, seller + "cbc:EndpointID") == SELLER_REGISTRY_CODE
    assert text(root, seller + "cac:PartyLegalEntity/cbc:CompanyID/@schemeID") == "0191"
    assert text(root, seller + "cac:PartyTaxScheme/cbc:CompanyID") == SELLER_VAT
    assert text(root, buyer + "cbc:EndpointID") == BUYER_REGISTRY_CODE
    assert text(root, buyer + "cac:PartyLegalEntity/cbc:CompanyID") == BUYER_REGISTRY_CODE
    assert text(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == "58"
    assert text(root, "cac:PaymentMeans/cbc:PaymentID") == make_reference(20250101)
    assert text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == IBAN
    total = "cac:LegalMonetaryTotal/"
    assert text(root, total + "cbc:LineExtensionAmount") == f"{doc.line_total:.2f}"
    assert text(root, total + "cbc:AllowanceTotalAmount") == f"{doc.invoice_discount_amount:.2f}"
    assert text(root, total + "cbc:TaxInclusiveAmount") == f"{doc.total:.2f}"
    assert text(root, total + "cbc:PayableAmount") == f"{doc.amount_due:.2f}"
    assert len(root.xpath("cac:AllowanceCharge", namespaces=NS)) == 4  # 24, 9, Z 0, E 0
    assert root.xpath("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory[cbc:ID='E']"
                      "/cbc:TaxExemptionReason/text()", namespaces=NS) == [EXEMPT_REASON]
    # The line discount is an allowance of its line and the 4-decimal price is kept.
    line3 = "cac:InvoiceLine[cbc:ID='3']/"
    assert text(root, line3 + "cac:AllowanceCharge/cbc:MultiplierFactorNumeric") == "15"
    assert text(root, line3 + "cac:Price/cbc:PriceAmount") == "24.3456"
    amounts = root.xpath("//*[@currencyID]", namespaces=NS)
    assert all(len(a.text.partition(".")[2]) == 2 for a in amounts
               if etree.QName(a).localname != "PriceAmount")


def test_ubl_private_person_buyer() -> None:
    doc = private_person_invoice()
    xml = to_ubl(doc)
    assert PERSONAL_CODE.encode() not in xml
    root = parse_xml(xml).getroot()
    buyer = "cac:AccountingCustomerParty/cac:Party/"
    # Not addressable in Peppol: the seller's own address, see ubl._buyer_endpoint.
    assert text(root, buyer + "cbc:EndpointID/@schemeID") == "0191"
    assert text(root, buyer + "cbc:EndpointID") == SELLER_REGISTRY_CODE
    assert root.xpath(buyer + "cac:PartyLegalEntity/cbc:CompanyID", namespaces=NS) == []
    assert text(root, buyer + "cac:PartyLegalEntity/cbc:RegistrationName") == "Mari Maasikas"
    earve = to_earve(doc)
    assert PERSONAL_CODE.encode() not in earve
    assert parse_xml(earve).getroot().find("Invoice").get("regNumber") == ""


def test_ubl_prepayment_and_prepaid_amount() -> None:
    assert text(ubl_tree(prepayment_invoice()), "cbc:InvoiceTypeCode") == "386"
    doc = final_invoice_after_prepayment()
    root = ubl_tree(doc)
    assert text(root, "cac:LegalMonetaryTotal/cbc:PrepaidAmount") == "3100.00"
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == f"{doc.amount_due:.2f}"
    assert doc.amount_due == doc.total - D("3100.00")


def test_ubl_credit_note_has_positive_amounts() -> None:
    doc = credit_invoice()
    assert doc.total < 0
    root = ubl_tree(doc)
    assert root.tag == f"{{{NS['cn']}}}CreditNote"
    assert text(root, "cbc:CreditNoteTypeCode") == "381"
    reference = "cac:BillingReference/cac:InvoiceDocumentReference/"
    assert text(root, reference + "cbc:ID") == "2025-0101"
    assert text(root, reference + "cbc:IssueDate") == "2025-09-01"
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == f"{-doc.amount_due:.2f}"
    amounts = [D(a.text) for a in root.xpath("//*[@currencyID]")]
    assert amounts and all(amount >= 0 for amount in amounts)
    quantities = [D(q) for q in root.xpath("//cbc:CreditedQuantity/text()", namespaces=NS)]
    assert quantities == [D("2"), D("1.5")]
    assert root.xpath("cac:CreditNoteLine[cbc:ID='1']/cac:AllowanceCharge/cbc:Amount/text()",
                      namespaces=NS) == [f"{-doc.lines[0].discount_amount:.2f}"]


def test_ubl_reverse_charge_buyer() -> None:
    root = ubl_tree(reverse_charge_invoice())
    buyer = "cac:AccountingCustomerParty/cac:Party/"
    assert text(root, buyer + "cbc:EndpointID/@schemeID") == "9930"
    assert text(root, buyer + "cbc:EndpointID") == GERMAN_VAT
    assert text(root, buyer + "cac:PartyTaxScheme/cbc:CompanyID") == GERMAN_VAT
    category = "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/"
    assert text(root, category + "cbc:ID") == "AE"
    assert text(root, category + "cbc:TaxExemptionReasonCode") == "VATEX-EU-AE"
    assert text(root, "cac:TaxTotal/cbc:TaxAmount") == "0.00"
    assert text(root, "cac:PaymentMeans/cbc:PaymentID").startswith("RF")


def test_ubl_vat_number_endpoint_without_registry_code() -> None:
    seller = replace(SELLER, registry_code=None)
    root = ubl_tree(replace(domestic_invoice(), seller=seller))
    assert text(root, "cac:AccountingSupplierParty/cac:Party/cbc:EndpointID/@schemeID") == "9931"
    assert text(root, "cac:AccountingSupplierParty/cac:Party/cbc:EndpointID") == SELLER_VAT


def test_ubl_exempt_category_needs_a_reason() -> None:
    doc = domestic_invoice()
    vat = [replace(v, exemption_reason=None) for v in doc.vat]
    with pytest.raises(ValueError, match="exemption reason"):
        to_ubl(replace(doc, vat=vat))


def test_earve_content() -> None:
    doc = domestic_invoice()
    xml = to_earve(doc, sender_id="NAIDIS")
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = parse_xml(xml).getroot()
    assert root.tag == "E_Invoice"
    assert root.findtext("Header/Version") == "1.2"
    assert root.findtext("Header/SenderId") == "NAIDIS"
    invoice = root.find("Invoice")
    assert invoice.get("invoiceId") == "2025-0101"
    assert invoice.get("regNumber") == BUYER_REGISTRY_CODE
    assert invoice.get("sellerRegnumber") == SELLER_REGISTRY_CODE
    assert invoice.find("InvoiceInformation/Type").get("type") == "DEB"
    assert invoice.findtext("InvoiceInformation/PaymentReferenceNumber") == \
        make_reference(20250101)
    sums = invoice.find("InvoiceSumGroup")
    assert sums.findtext("InvoiceSum") == f"{doc.line_total:.2f}"
    assert sums.findtext("TotalVATSum") == f"{doc.total_vat:.2f}"
    assert sums.findtext("TotalSum") == f"{doc.total:.2f}"
    assert [a.findtext("AddSum") for a in sums.findall("Addition")] == \
        [f"{-a.amount:.2f}" for a in doc.allowances]
    assert [v.get("vatId") for v in sums.findall("VAT")] == ["TAX", "TAX", "TAXEX", "TAX"]
    assert len(invoice.findall("InvoiceItem/InvoiceItemGroup/ItemEntry")) == 5
    payment = invoice.find("PaymentInfo")
    assert payment.findtext("PaymentRefId") == make_reference(20250101)
    assert payment.findtext("PayToAccount") == IBAN
    assert payment.findtext("PaymentTotalSum") == f"{doc.amount_due:.2f}"
    assert payment.findtext("Payable") == "YES"
    assert root.findtext("Footer/TotalAmount") == f"{doc.total:.2f}"


def test_earve_credit_invoice() -> None:
    doc = credit_invoice()
    root = parse_xml(to_earve(doc)).getroot()
    kind = root.find("Invoice/InvoiceInformation/Type")
    assert kind.get("type") == "CRE"
    assert kind.findtext("SourceInvoice") == "2025-0101"
    assert root.findtext("Invoice/InvoiceInformation/DocumentName") == "Kreeditarve"
    assert root.findtext("Invoice/InvoiceSumGroup/TotalSum") == f"{doc.total:.2f}"
    assert D(root.findtext("Invoice/InvoiceSumGroup/TotalSum")) < 0
    assert root.findtext("Invoice/PaymentInfo/Payable") == "NO"


def test_earve_rf_reference_goes_to_the_description() -> None:
    doc = reverse_charge_invoice()
    payment = parse_xml(to_earve(doc)).getroot().find("Invoice/PaymentInfo")
    assert payment.find("PaymentRefId") is None
    assert payment.findtext("PaymentDescription").startswith(doc.reference_number or "?")


# --- the validators catch errors (so the tests above cannot pass vacuously) ----------------


def _tamper(xml: bytes, old: bytes, new: bytes) -> bytes:
    """``xml`` with the one occurrence of ``old`` replaced by ``new``."""
    assert xml.count(old) == 1, old
    return xml.replace(old, new)


def test_ubl_xsd_catches_a_missing_required_element() -> None:
    xml = to_ubl(domestic_invoice())
    broken = _tamper(xml, b"<cbc:IssueDate>2025-09-01</cbc:IssueDate>", b"")
    assert validation.ubl_xsd_errors(xml) == []
    errors = validation.ubl_xsd_errors(broken)
    assert errors and any("IssueDate" in e or "DueDate" in e for e in errors)
    credit = to_ubl(credit_invoice())
    assert validation.ubl_xsd_errors(credit) == []
    assert validation.ubl_xsd_errors(_tamper(credit, b"<cbc:CreditNoteTypeCode>",
                                             b"<cbc:InvoiceTypeCode>").replace(
        b"</cbc:CreditNoteTypeCode>", b"</cbc:InvoiceTypeCode>"))


def test_en16931_catches_totals_that_do_not_add_up() -> None:
    doc = domestic_invoice()
    xml = to_ubl(doc)
    wrong = f"{doc.total + D('1.00'):.2f}"
    broken = _tamper(xml, f'<cbc:TaxInclusiveAmount currencyID="EUR">{doc.total:.2f}'.encode(),
                     f'<cbc:TaxInclusiveAmount currencyID="EUR">{wrong}'.encode())
    failures = validation.errors_only(validation.en16931_failures(broken))
    assert "BR-CO-15" in {f.id for f in failures}
    assert all(f.flag == "fatal" and f.text for f in failures)


def test_peppol_catches_a_missing_buyer_reference_and_a_non_peppol_scheme() -> None:
    doc = private_person_invoice()
    xml = to_ubl(doc)
    broken = _tamper(xml, b"<cbc:BuyerReference>2025-0102</cbc:BuyerReference>", b"")
    assert "PEPPOL-EN16931-R003" in {
        f.id for f in validation.errors_only(validation.peppol_failures(broken))}
    # The e-mail scheme EM is accepted by EN 16931 but not by Peppol (why private persons do
    # not get an e-mail endpoint).
    email = _tamper(xml, f'<cbc:EndpointID schemeID="0191">{SELLER_REGISTRY_CODE}</cbc:Endpoi'
                         'ntID>\n      <cac:PartyName>\n        <cbc:Name>Mari'.encode(),
                    b'<cbc:EndpointID schemeID="EM">mari.maasikas@example.ee</cbc:EndpointID>'
                    b'\n      <cac:PartyName>\n        <cbc:Name>Mari')
    assert validation.errors_only(validation.en16931_failures(email)) == []
    assert "PEPPOL-EN16931-CL008" in {
        f.id for f in validation.errors_only(validation.peppol_failures(email))}


def test_earve_xsd_catches_a_missing_required_element() -> None:
    xml = to_earve(domestic_invoice())
    broken = _tamper(xml, f"<PayToAccount>{IBAN}</PayToAccount>".encode(), b"")
    errors = validation.earve_xsd_errors(broken)
    assert errors and any("PayToName" in e or "PayToAccount" in e for e in errors)
    bad_type = _tamper(xml, b'<Type type="DEB"/>', b'<Type type="INV"/>')
    assert validation.earve_xsd_errors(bad_type)


def test_validators_refuse_unsafe_xml() -> None:
    xml = to_ubl(domestic_invoice())
    unsafe = xml.replace(b"?>\n", b'?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n',
                         1)
    for check in (validation.ubl_xsd_errors, validation.en16931_failures,
                  validation.peppol_failures, validation.earve_xsd_errors):
        with pytest.raises(UnsafeXml):
            check(unsafe)


def test_earve_xsd_location_comes_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(validation.EARVE_XSD_ENV, str(tmp_path / "missing.xsd"))
    with pytest.raises(validation.ValidatorSetupError, match=r"missing\.xsd"):
        validation.earve_xsd_path()
    monkeypatch.delenv(validation.EARVE_XSD_ENV)
    assert validation.earve_xsd_path() == validation.EARVE_XSD_DEFAULT
    expected = validation.REPOSITORY_ROOT.parent / "shared" / "standards" / "e-invoice-ee-1.2.xsd"
    assert expected == validation.EARVE_XSD_DEFAULT
