"""The invoice as a document: every fact printed on it or written to an e-invoice.

A :class:`InvoiceDocument` is built once from a confirmed (or draft) invoice with
:func:`plugins.invoicing.invoices.invoice_document` and then rendered by the PDF, HTML, UBL
and e-arve writers, which never touch the database. Amounts are :class:`~decimal.Decimal`
rounded to cents; quantities and unit prices keep their own precision.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

KIND_INVOICE = "invoice"
KIND_PREPAYMENT = "prepayment"
KIND_CREDIT = "credit"


def money(value: Decimal) -> Decimal:
    """``value`` rounded half up to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Address:
    """A postal address."""

    street: str = ""
    city: str = ""
    postal_code: str = ""
    county: str = ""
    country: str = "EE"
    """ISO 3166-1 alpha-2."""

    def lines(self) -> list[str]:
        """The address as printed: street, then postal code and city, then county."""
        town = " ".join(p for p in (self.postal_code, self.city) if p)
        return [p for p in (self.street, town, self.county) if p]


@dataclass(frozen=True)
class Party:
    """The seller or the buyer."""

    name: str
    registry_code: str | None = None
    """Estonian registrikood (or personal code for a private buyer)."""
    vat_number: str | None = None
    """KMKR, e.g. ``EE100931558``."""
    address: Address = field(default_factory=Address)
    email: str | None = None
    phone: str | None = None
    is_person: bool = False
    """A private person (no registry code in e-invoices, personal code kept private)."""


@dataclass(frozen=True)
class BankAccount:
    """The seller's account the buyer pays to."""

    iban: str
    bic: str | None = None
    bank_name: str | None = None


@dataclass(frozen=True)
class DocumentLine:
    """One invoice line; ``net_amount`` is after every discount, without VAT."""

    position: int
    description: str
    quantity: Decimal
    unit_code: str
    """UN/ECE Recommendation 20 code (``H87`` piece, ``HUR`` hour, ``KGM`` kilogram...)."""
    unit_label: str
    unit_price: Decimal
    """Net price of one unit before the line's discount."""
    discount_percent: Decimal
    net_amount: Decimal
    vat_category: str
    """UNCL5305: ``S`` standard, ``Z`` zero, ``E`` exempt, ``AE`` reverse charge..."""
    vat_percent: Decimal
    product_code: str | None = None

    @property
    def gross_amount(self) -> Decimal:
        """Quantity times unit price before the discount, rounded to cents."""
        return money(self.quantity * self.unit_price)

    @property
    def discount_amount(self) -> Decimal:
        """How much the line's discount takes off."""
        return self.gross_amount - self.net_amount


@dataclass(frozen=True)
class VatBreakdown:
    """The VAT of one category and rate: base, percent and tax."""

    category: str
    percent: Decimal
    taxable_amount: Decimal
    tax_amount: Decimal
    exemption_reason: str | None = None


@dataclass(frozen=True)
class Allowance:
    """A whole-invoice discount on the lines of one VAT category and rate (EN 16931
    document level allowance, BG-20)."""

    vat_category: str
    vat_percent: Decimal
    base_amount: Decimal
    """Sum of the net line amounts of that category and rate."""
    percent: Decimal
    amount: Decimal
    reason: str = "Discount"


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything an invoice shows. Credit invoices carry negative quantities and amounts
    as entered; writers that need positive credit-note amounts convert them."""

    kind: str
    """``invoice``, ``prepayment`` or ``credit``."""
    number: str
    issue_date: dt.date
    due_date: dt.date
    seller: Party
    buyer: Party
    lines: list[DocumentLine]
    vat: list[VatBreakdown]
    currency: str = "EUR"
    language: str = "et"
    reference_number: str | None = None
    """Estonian reference number (7-3-1) or RF reference, compact."""
    bank_accounts: list[BankAccount] = field(default_factory=list)
    delivery_date: dt.date | None = None
    allowances: list[Allowance] = field(default_factory=list)
    """Whole-invoice discount per VAT category and rate (already off the taxable amounts)."""
    prepaid_amount: Decimal = Decimal("0.00")
    notes: str | None = None
    credited_number: str | None = None
    """For a credit invoice: the number of the invoice it credits."""
    credited_issue_date: dt.date | None = None
    buyer_reference: str | None = None
    """The buyer's order or contact reference (UBL BuyerReference, BT-10)."""
    payment_term_days: int | None = None

    @property
    def line_total(self) -> Decimal:
        """Sum of the line net amounts."""
        return sum((line.net_amount for line in self.lines), Decimal("0.00"))

    @property
    def invoice_discount_amount(self) -> Decimal:
        """Sum of the whole-invoice discounts."""
        return sum((a.amount for a in self.allowances), Decimal("0.00"))

    @property
    def total_net(self) -> Decimal:
        """Amount without VAT (after the whole-invoice discount)."""
        return self.line_total - self.invoice_discount_amount

    @property
    def total_vat(self) -> Decimal:
        """Sum of the VAT breakdown."""
        return sum((v.tax_amount for v in self.vat), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        """Amount with VAT."""
        return self.total_net + self.total_vat

    @property
    def amount_due(self) -> Decimal:
        """What is left to pay: total minus prepayments."""
        return self.total - self.prepaid_amount
