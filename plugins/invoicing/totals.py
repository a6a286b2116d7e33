"""Invoice arithmetic: line amounts, whole-invoice discount and the VAT breakdown.

Rules (EN 16931 compatible, all in :class:`~decimal.Decimal`, rounded half up to cents):

- line net = quantity x unit price x (1 - line discount %), rounded once;
- a whole-invoice discount is taken per VAT category and rate: amount = sum of those lines'
  net x discount %, rounded;
- VAT per category and rate = (sum of line nets - that discount) x rate, rounded once per
  rate (not per line), as the Estonian and European rules expect.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from plugins.invoicing.document import Allowance, VatBreakdown, money

HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


def line_net(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """The net amount of a line after its discount, rounded to cents."""
    return money(quantity * unit_price * (HUNDRED - discount_percent) / HUNDRED)


@dataclass(frozen=True)
class TaxedAmount:
    """A line's net amount with its VAT category and rate (input of :func:`summarise`)."""

    net_amount: Decimal
    vat_category: str
    vat_percent: Decimal


@dataclass(frozen=True)
class Summary:
    """Totals of an invoice."""

    allowances: list[Allowance]
    vat: list[VatBreakdown]
    total_net: Decimal
    total_vat: Decimal
    total: Decimal


def summarise(lines: Iterable[TaxedAmount], invoice_discount_percent: Decimal = ZERO,
              exemption_reasons: dict[str, str] | None = None) -> Summary:
    """Allowances, VAT breakdown and totals of ``lines`` with a whole-invoice discount."""
    groups: dict[tuple[str, Decimal], Decimal] = {}
    for line in lines:
        key = (line.vat_category, line.vat_percent)
        groups[key] = groups.get(key, ZERO) + line.net_amount
    allowances: list[Allowance] = []
    vat: list[VatBreakdown] = []
    for (category, percent), base in sorted(groups.items(), key=lambda kv: (-kv[0][1], kv[0][0])):
        discount = ZERO
        if invoice_discount_percent:
            discount = money(base * invoice_discount_percent / HUNDRED)
            allowances.append(Allowance(category, percent, base, invoice_discount_percent,
                                        discount))
        taxable = base - discount
        vat.append(VatBreakdown(category, percent, taxable, money(taxable * percent / HUNDRED),
                                (exemption_reasons or {}).get(category)))
    total_net = sum((v.taxable_amount for v in vat), ZERO)
    total_vat = sum((v.tax_amount for v in vat), ZERO)
    return Summary(allowances, vat, total_net, total_vat, total_net + total_vat)
