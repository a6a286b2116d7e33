"""The "add a line" form shared by invoices and offers: a product, or free text with a
price; quantity, discount and VAT rate as a user types them ("1,5" with a comma)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from pyramid.request import Request

from plugins.invoicing.i18n import _
from plugins.invoicing.invoices import LineInput, vat_codes
from plugins.invoicing.models import Product

MAX_LINES = 500
"""At most this many lines on one invoice or offer."""


def parse_decimal(raw: str, *, places: int) -> Decimal:
    """Parse a number typed with a comma or a point (spaces allowed); ``ValueError`` when
    it is not one, has more than ``places`` decimals or ten or more integer digits."""
    text = raw.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(raw) from exc
    if not value.is_finite() or value.as_tuple().exponent < -places \
            or abs(value) >= Decimal(10) ** 10:
        raise ValueError(raw)
    return value


def read_line(request: Request, *, line_count: int, too_many: Any,
              allow_negative_price: bool) -> tuple[LineInput | None, dict[str, str]]:
    """The line posted by the form, or None and the translated error of each field.

    ``line_count`` is how many lines the document has (at most :data:`MAX_LINES`);
    ``too_many`` the message when it is full. Invoices allow a negative price (a
    correction line); offers do not.
    """
    post = request.POST
    t = request.localizer.translate
    errors: dict[str, str] = {}
    raw_product = post.get("product_id", "").strip()
    product = None
    if raw_product:
        if raw_product.isdigit() and len(raw_product) < 10:
            product = request.dbsession.scalar(
                sa.select(Product).where(Product.id == int(raw_product)))
        if product is None:
            errors["product_id"] = t(_("Choose a product from the list."))
    description = post.get("description", "").strip()[:300]
    if product is None and not description and "product_id" not in errors:
        errors["description"] = t(_("Choose a product or enter a description."))
    parsed: dict[str, Decimal | None] = {}
    for key, places, default in (("quantity", 3, "1"), ("unit_price", 4, None),
                                 ("discount_percent", 2, "0")):
        raw = post.get(key, "").strip() or default
        if raw is None:
            parsed[key] = None
            continue
        try:
            parsed[key] = parse_decimal(raw, places=places)
        except ValueError:
            errors[key] = t(_("Enter a number."))
    quantity = parsed.get("quantity")
    if quantity is not None and quantity <= 0:
        errors["quantity"] = t(_("The quantity must be more than zero."))
    price = parsed.get("unit_price")
    if product is None and price is None and "unit_price" not in errors:
        errors["unit_price"] = t(_("Enter the price."))
    if price is not None and price < 0 and not allow_negative_price:
        errors["unit_price"] = t(_("The price cannot be negative."))
    discount = parsed.get("discount_percent")
    if discount is not None and not 0 <= discount <= 100:
        errors["discount_percent"] = t(_("Enter a discount of 0 to 100 %."))
    vat_code = post.get("vat_code", "").strip() or None
    if vat_code is not None and vat_code not in vat_codes(request.dbsession):
        errors["vat_code"] = t(_("Choose a VAT rate from the list."))
    if line_count >= MAX_LINES:
        errors["description"] = t(too_many)
    if errors or quantity is None:
        return None, errors
    return LineInput(product_id=product.id if product else None,
                     description=description or None, quantity=quantity, unit_price=price,
                     discount_percent=discount or Decimal(0), vat_code=vat_code), errors
