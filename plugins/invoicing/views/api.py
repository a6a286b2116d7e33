"""The JSON API of invoicing (issue item 11): products, invoices and offers.

``/api/v1/products`` lists (search, filters, paging) and creates products; ``/{id}`` reads
and changes one (``PATCH``: only the fields sent change), validated with the fields of the
product form (:func:`plugins.invoicing.views.catalogue.product_fields`). ``/api/v1/invoices``
lists and creates draft invoices with their lines (every line is checked before anything
is written); ``/{id}`` reads one with its lines and totals, ``/{id}/confirm`` confirms it,
``/{id}/pdf`` and ``/{id}/ubl`` give the PDF and the EN 16931 e-invoice.
``/api/v1/offers`` lists and creates offers with their lines; ``/{id}/status`` marks one
sent, accepted or rejected and ``/{id}/invoice`` makes a draft invoice of it.

The pattern is the client register's API (:mod:`plugins.crm_register.views.api`): the core
authenticates ``/api/`` by bearer token and exempts it from CSRF; every view has the
permission of the matching page; invoices and offers of clients the user may not see
(another tenant's, or another salesperson's when "own clients only" is on) answer 404.
Errors are ``{"error": message, "fields": {field: message}}``: 400 for a body or query
parameter that cannot be read, 422 for values that are not valid (a bad line names its
index in ``line``), 403 for something the user may not do, 404, and 409 for a product code
that is taken or an invoice or offer operation the services refuse (the reason,
translated). Amounts are strings with two decimals, unit prices with two to four. The
OpenAPI description is in :mod:`plugins.invoicing.openapi`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core.forms import Invalid
from core.i18n import tenant_zone
from core.jsonapi import ApiError, api_view, not_found, read_object
from plugins.crm_register.access import visible_client_ids, visible_clients
from plugins.crm_register.models import Client
from plugins.crm_register.views.api import validate_fields
from plugins.invoicing import offers as offer_svc
from plugins.invoicing.document import KIND_CREDIT, KIND_INVOICE, KIND_PREPAYMENT, money
from plugins.invoicing.i18n import _
from plugins.invoicing.invoices import (
    OPEN_STATUSES,
    UNIT_LABELS,
    InvoiceError,
    LineInput,
    add_line,
    after_credit_confirmed,
    confirm,
    display_status,
    invoice_document,
    new_draft,
    unit_label,
    vat_codes,
)
from plugins.invoicing.models import Invoice, Offer, Product, ProductGroup
from plugins.invoicing.permissions import (
    INVOICE_CONFIRM,
    INVOICE_EDIT,
    INVOICE_OVERRIDE,
    INVOICE_VIEW,
    OFFER_EDIT,
    PRODUCT_EDIT,
    PRODUCT_VIEW,
)
from plugins.invoicing.sending import pdf_filename, render_pdf_of
from plugins.invoicing.totals import TaxedAmount, summarise
from plugins.invoicing.views.catalogue import gross_price, product_fields, rates_on, today_in

PREFIX = "/api/v1"
ROUTE_ID = "\\d{1,9}"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_ID = 2**31 - 1
MAX_LINES = 500
"""At most this many lines per invoice (as on the invoice page)."""
MAX_AMOUNT = Decimal(10) ** 10
ZERO = Decimal(0)
INVOICE_STATUSES = ("draft", "confirmed", "sent", "partly_paid", "paid", "overdue", "credited")
"""The statuses the API shows (``overdue`` is an open invoice past its due date)."""
INVOICE_KINDS = (KIND_INVOICE, KIND_PREPAYMENT, KIND_CREDIT)
NEW_INVOICE_KINDS = (KIND_INVOICE, KIND_PREPAYMENT)
"""Kinds a new draft may have (a credit invoice is made from the invoice it credits)."""


# --- responses and errors ------------------------------------------------------------------

def _json(body: Any, status: int = 200, location: str | None = None) -> Response:
    response = Response(json_body=body, status=status)
    if location:
        response.location = location
    return response


def _bad_param(name: str, message: Any) -> ApiError:
    return ApiError(400, _("Bad query parameter."), {name: message})


def _int_param(request: Request, name: str, default: int | None = None,
               minimum: int = 1, maximum: int | None = MAX_ID) -> int | None:
    raw = request.GET.get(name, "").strip()
    if raw == "":
        return default
    if not raw.isdigit() or len(raw) > 10 or int(raw) < minimum \
            or (maximum is not None and int(raw) > maximum):
        bounds = f"{minimum}-{maximum}" if maximum is not None else f">= {minimum}"
        raise _bad_param(name, _("Give a whole number (${bounds}).",
                                 mapping={"bounds": bounds}))
    return int(raw)


def _bool_param(request: Request, name: str) -> bool | None:
    raw = request.GET.get(name, "").strip().lower()
    if raw == "":
        return None
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise _bad_param(name, _("Give true or false."))


def _choice_param(request: Request, name: str, allowed: Iterable[str]) -> str | None:
    raw = request.GET.get(name, "").strip()
    if raw == "":
        return None
    if raw not in allowed:
        raise _bad_param(name, _("Choose one of the options."))
    return raw


def _page(request: Request, stmt: sa.Select, serialize: Any,
          options: Iterable[Any] = ()) -> dict[str, Any]:
    """One page of ``stmt`` (a ``SELECT`` of one model; ``page``, ``per_page``) with the
    total count; ``serialize(rows)`` gives the items."""
    page = _int_param(request, "page", 1) or 1
    per_page = _int_param(request, "per_page", DEFAULT_PER_PAGE, maximum=MAX_PER_PAGE) \
        or DEFAULT_PER_PAGE
    db = request.dbsession
    entity = stmt.column_descriptions[0]["entity"]
    total = db.scalar(stmt.with_only_columns(sa.func.count(entity.id)).order_by(None)) or 0
    rows = list(db.scalars(stmt.options(*options).limit(per_page)
                           .offset((page - 1) * per_page)))
    return {"items": serialize(rows), "page": page, "per_page": per_page, "total": total,
            "pages": max(1, -(-total // per_page))}


def _route_id(request: Request, key: str) -> int:
    """The id of the route's ``key`` (the route allows 1-9 digits); 404 for 0."""
    value = int(request.matchdict[key])
    if not 0 < value <= MAX_ID:
        raise not_found()
    return value


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _unknown(body: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    allowed = set(allowed)
    return {key: _("Unknown or read-only field.") for key in body if key not in allowed}


def _check(errors: Mapping[str, Any], **extra: Any) -> None:
    """Refuse values that are not valid: 422 with the field messages."""
    if errors:
        raise ApiError(422, _("Some values are not valid; nothing was saved."), errors,
                       **extra)


# --- numbers and dates as the API writes them -------------------------------------------------

def _amount(value: Decimal | None) -> str | None:
    """Money: two decimals, e.g. ``"12.50"``."""
    return None if value is None else format(money(value), "f")


def _fixed(value: Decimal | None, places: int) -> str | None:
    return None if value is None else format(value.quantize(Decimal(1).scaleb(-places)), "f")


def _unit_price(value: Decimal | None) -> str | None:
    """A unit price: two decimals, or up to four when it has them (``"0.1049"``)."""
    if value is None:
        return None
    exponent = value.normalize().as_tuple().exponent
    places = min(4, max(2, -exponent if isinstance(exponent, int) else 2))
    return _fixed(value, places)


def _iso(value: dt.datetime | dt.date | None, request: Request) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(tenant_zone(request)).isoformat()
    return value.isoformat()


def _parse_decimal(value: Any, places: int) -> Decimal:
    """A JSON number or numeric string with at most ``places`` decimals; raises Invalid."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise Invalid(_("Enter a number."))
    try:
        number = Decimal(value.strip().replace(",", ".")) if isinstance(value, str) \
            else Decimal(value)
    except InvalidOperation:
        raise Invalid(_("Enter a number.")) from None
    if not number.is_finite() or abs(number) >= MAX_AMOUNT:
        raise Invalid(_("Enter a number."))
    step = Decimal(1).scaleb(-places)
    if number.quantize(step) != number:
        raise Invalid(_("Give at most ${n} decimals.", mapping={"n": places}))
    return number


# --- products -------------------------------------------------------------------------------

PRODUCT_KEYS = ("code", "name", "name_en", "group_id", "kind", "unit_code", "price",
                "vat_code", "service_minutes", "active")
PRODUCT_DEFAULTS: dict[str, Any] = {"kind": "goods", "unit_code": "H87",
                                    "vat_code": "standard", "active": True}
"""What a new product has when the field is not sent (as the new-product form)."""


def product_json(request: Request, product: Product, today: dt.date,
                 rates: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A product as the API shows it, with its price with VAT as valid ``today``."""
    if rates is None:
        rates = rates_on(request.dbsession, today)
    rate = rates.get(product.vat_code)
    return {
        "id": product.id, "code": product.code, "name": product.name,
        "name_en": product.name_en, "group_id": product.group_id,
        "group": product.group.name if product.group else None,
        "kind": "service" if product.is_service else "goods",
        "unit_code": product.unit_code,
        "unit": unit_label(product.unit_code, request.locale_name),
        "price": _unit_price(product.price), "vat_code": product.vat_code,
        "vat_percent": _fixed(rate.percent, 2) if rate is not None else None,
        "price_with_vat": _amount(gross_price(product.price, rate)),
        "service_minutes": product.service_minutes, "active": product.active,
        "url": request.route_url("inv_product", product_id=product.id),
    }


def _product_values(product: Product) -> dict[str, Any]:
    """The product's values as the form's fields hold them after conversion."""
    return {
        "code": product.code, "name": product.name, "name_en": product.name_en,
        "group_id": str(product.group_id) if product.group_id else None,
        "kind": "service" if product.is_service else "goods",
        "unit_code": product.unit_code, "price": product.price, "vat_code": product.vat_code,
        "service_minutes": product.service_minutes, "active": product.active,
    }


def _visible_product(request: Request, product_id: int) -> Product:
    product = request.dbsession.scalar(sa.select(Product).where(Product.id == product_id))
    if product is None:
        raise not_found()
    return product


def _code_taken(request: Request, code: str, product: Product | None) -> int | None:
    same = sa.select(Product.id).where(Product.code == code)
    if product is not None:
        same = same.where(Product.id != product.id)
    return request.dbsession.scalar(same.limit(1))


def _duplicate_code(existing_id: int | None) -> ApiError:
    message = _("There is already a product with this code.")
    return ApiError(409, message, {"code": message}, existing_id=existing_id)


def _save_product(request: Request, body: dict[str, Any], product: Product | None) -> Product:
    """Validate ``body`` like the product form and create or update; raises ApiError."""
    _check(_unknown(body, PRODUCT_KEYS))
    fields = product_fields(request, today_in(request))
    current = _product_values(product) if product is not None else None
    if product is None:
        body = {**PRODUCT_DEFAULTS, **body}
    data, errors = validate_fields(request, fields, body, current)
    _check(errors)
    values = {**(current or {}), **data}
    if values.get("group_id") and request.dbsession.scalar(
            sa.select(ProductGroup.id).where(ProductGroup.id == int(values["group_id"]))) is None:
        _check({"group_id": _("Choose one of the options.")})
    if "code" in data:
        clash = _code_taken(request, values["code"], product)
        if clash is not None:
            raise _duplicate_code(clash)
    db = request.dbsession
    try:
        with db.begin_nested():
            if product is None:
                product = Product()
                db.add(product)
            product.code = values["code"]
            product.name = values["name"]
            product.name_en = values["name_en"]
            product.group_id = int(values["group_id"]) if values["group_id"] else None
            product.is_service = values["kind"] == "service"
            product.unit_code = values["unit_code"]
            product.price = values["price"]
            product.vat_code = values["vat_code"]
            product.service_minutes = values["service_minutes"] if product.is_service else None
            product.active = bool(values["active"])
            db.flush()
    except IntegrityError:  # another request saved the same code at the same moment
        raise _duplicate_code(_code_taken(request, values["code"], None)) from None
    db.refresh(product)
    return product


@view_config(route_name="inv_api_products", request_method="GET", permission=PRODUCT_VIEW)
@api_view
def list_products(request: Request) -> Response:
    """Products by code: ``q`` searches code and names, ``active`` (true/false; all when
    not given) and ``group_id`` filter; paging ``page``, ``per_page``."""
    stmt = sa.select(Product)
    query = request.GET.get("q", "").strip()[:100].lower()
    if query:
        stmt = stmt.where(sa.or_(
            sa.func.lower(Product.code).contains(query, autoescape=True),
            sa.func.lower(Product.name).contains(query, autoescape=True),
            sa.func.lower(Product.name_en).contains(query, autoescape=True)))
    active = _bool_param(request, "active")
    if active is not None:
        stmt = stmt.where(Product.active.is_(active))
    group_id = _int_param(request, "group_id")
    if group_id is not None:
        stmt = stmt.where(Product.group_id == group_id)
    today = today_in(request)
    rates = rates_on(request.dbsession, today)

    def items(products: list[Product]) -> list[dict[str, Any]]:
        return [product_json(request, p, today, rates) for p in products]

    return _json(_page(request, stmt.order_by(Product.code, Product.id), items,
                       (selectinload(Product.group),)))


@view_config(route_name="inv_api_product", request_method="GET", permission=PRODUCT_VIEW)
@api_view
def get_product(request: Request) -> Response:
    """One product."""
    product = _visible_product(request, _route_id(request, "product_id"))
    return _json(product_json(request, product, today_in(request)))


@view_config(route_name="inv_api_products", request_method="POST", permission=PRODUCT_EDIT)
@api_view
def create_product(request: Request) -> Response:
    """Add a product; 409 with the existing product's id when the code is taken."""
    product = _save_product(request, read_object(request, decimals=True), None)
    url = request.route_url("inv_api_product", product_id=product.id)
    return _json(product_json(request, product, today_in(request)), 201, url)


@view_config(route_name="inv_api_product", request_method="PATCH", permission=PRODUCT_EDIT)
@api_view
def update_product(request: Request) -> Response:
    """Change the fields sent of a product."""
    product = _visible_product(request, _route_id(request, "product_id"))
    _save_product(request, read_object(request, decimals=True), product)
    return _json(product_json(request, product, today_in(request)))


# --- invoices -------------------------------------------------------------------------------

INVOICE_KEYS = ("client_id", "issue_date", "kind", "lines")
LINE_KEYS = ("product_id", "description", "quantity", "unit_price", "discount_percent",
             "vat_code", "unit_code")
MAX_DESCRIPTION = 300


def _line_json(line: Any, codes: Mapping[int, str]) -> dict[str, Any]:
    return {
        "id": line.id, "position": line.position, "product_id": line.product_id,
        "product_code": codes.get(line.product_id) if line.product_id else None,
        "description": line.description, "quantity": _fixed(line.quantity, 3),
        "unit_code": line.unit_code, "unit_price": _unit_price(line.unit_price),
        "discount_percent": _fixed(line.discount_percent, 2),
        "group_discount": line.group_discount, "vat_code": line.vat_code,
        "vat_category": line.vat_category, "vat_percent": _fixed(line.vat_percent, 2),
        "net_amount": _amount(line.net_amount),
    }


def _lines_and_vat(request: Request, lines: list[Any],
                   discount_percent: Decimal | None) -> dict[str, Any]:
    """``lines`` (of an invoice or an offer) and their VAT breakdown by category and rate."""
    product_ids = {li.product_id for li in lines if li.product_id}
    codes = dict(request.dbsession.execute(
        sa.select(Product.id, Product.code).where(Product.id.in_(product_ids))).all()) \
        if product_ids else {}
    summary = summarise((TaxedAmount(li.net_amount, li.vat_category, li.vat_percent)
                         for li in lines), discount_percent or ZERO)
    return {
        "lines": [_line_json(line, codes) for line in lines],
        "vat": [{"category": v.category, "percent": _fixed(v.percent, 2),
                 "taxable_amount": _amount(v.taxable_amount),
                 "tax_amount": _amount(v.tax_amount)} for v in summary.vat],
    }


def invoice_json(request: Request, invoice: Invoice, today: dt.date,
                 detail: bool = False) -> dict[str, Any]:
    """An invoice as the API shows it (``detail`` adds the lines and the VAT breakdown)."""
    draft = invoice.status == "draft"
    data: dict[str, Any] = {
        "id": invoice.id, "kind": invoice.kind, "status": display_status(invoice, today),
        "number": invoice.number, "client_id": invoice.client_id,
        "client_name": invoice.client.name, "language": invoice.language,
        "currency": invoice.currency, "issue_date": _iso(invoice.issue_date, request),
        "due_date": _iso(invoice.due_date, request),
        "delivery_date": _iso(invoice.delivery_date, request),
        "payment_term_days": invoice.payment_term_days,
        "reference_number": invoice.reference_number,
        "buyer_reference": invoice.buyer_reference, "invoice_email": invoice.invoice_email,
        "discount_percent": _fixed(invoice.discount_percent or ZERO, 2),
        "total_net": _amount(invoice.total_net), "total_vat": _amount(invoice.total_vat),
        "total": _amount(invoice.total), "paid_amount": _amount(invoice.paid_amount),
        "open_amount": _amount(invoice.total - invoice.paid_amount),
        "credited_invoice_id": invoice.credited_invoice_id,
        "override_reason": invoice.override_reason,
        "confirmed_at": _iso(invoice.confirmed_at, request),
        "sent_at": _iso(invoice.sent_at, request),
        "created_at": _iso(invoice.created_at, request),
        "url": request.route_url("inv_invoice", invoice_id=invoice.id),
        "pdf_url": request.route_url("inv_api_invoice_pdf", invoice_id=invoice.id),
        "ubl_url": None if draft else request.route_url("inv_api_invoice_ubl",
                                                        invoice_id=invoice.id),
    }
    if detail:
        data["notes"] = invoice.notes
        data.update(_lines_and_vat(request, invoice.lines, invoice.discount_percent))
    return data


def _visible_invoice(request: Request, invoice_id: int) -> Invoice:
    """The invoice, if its client is visible to the user; else 404."""
    invoice = request.dbsession.scalar(
        sa.select(Invoice).where(Invoice.id == invoice_id,
                                 Invoice.client_id.in_(visible_client_ids(request))))
    if invoice is None:
        raise not_found()
    return invoice


def _overdue(today: dt.date) -> sa.ColumnElement[bool]:
    """Open invoices past their due date, not fully paid (as :func:`display_status`)."""
    return sa.and_(Invoice.status.in_(OPEN_STATUSES), Invoice.due_date < today,
                   Invoice.paid_amount < Invoice.total)


@view_config(route_name="inv_api_invoices", request_method="GET", permission=INVOICE_VIEW)
@api_view
def list_invoices(request: Request) -> Response:
    """Invoices of the clients visible to the user, newest first: filters ``client_id``,
    ``status`` (as shown: ``overdue`` open invoices are not ``confirmed``, ``sent`` or
    ``partly_paid``), ``kind``; paging."""
    today = today_in(request)
    stmt = sa.select(Invoice).where(Invoice.client_id.in_(visible_client_ids(request)))
    client_id = _int_param(request, "client_id")
    if client_id is not None:
        stmt = stmt.where(Invoice.client_id == client_id)
    status = _choice_param(request, "status", INVOICE_STATUSES)
    if status == "overdue":
        stmt = stmt.where(_overdue(today))
    elif status in OPEN_STATUSES:
        stmt = stmt.where(Invoice.status == status, sa.not_(_overdue(today)))
    elif status is not None:
        stmt = stmt.where(Invoice.status == status)
    kind = _choice_param(request, "kind", INVOICE_KINDS)
    if kind is not None:
        stmt = stmt.where(Invoice.kind == kind)

    def items(invoices: list[Invoice]) -> list[dict[str, Any]]:
        return [invoice_json(request, invoice, today) for invoice in invoices]

    stmt = stmt.order_by(Invoice.issue_date.desc(), Invoice.id.desc())
    return _json(_page(request, stmt, items, (selectinload(Invoice.client),)))


@view_config(route_name="inv_api_invoice", request_method="GET", permission=INVOICE_VIEW)
@api_view
def get_invoice(request: Request) -> Response:
    """One invoice with its lines, totals, VAT breakdown, reference number and paid amount."""
    invoice = _visible_invoice(request, _route_id(request, "invoice_id"))
    return _json(invoice_json(request, invoice, today_in(request), detail=True))


def _body_client(request: Request, body: Mapping[str, Any],
                 errors: dict[str, Any]) -> Client | None:
    """The visible client of ``client_id`` in ``body``; else None and an error."""
    raw = body.get("client_id")
    client = request.dbsession.scalar(visible_clients(request).where(Client.id == raw)) \
        if _is_id(raw) else None
    if client is None:
        errors["client_id"] = _("No such client.") if raw is not None \
            else _("Give the id of the client.")
    return client


def _body_date(body: Mapping[str, Any], key: str, errors: dict[str, Any]) -> dt.date | None:
    """The ISO date of ``key`` in ``body`` (None when not sent or not valid, with an error)."""
    raw = body.get(key)
    if raw is None:
        return None
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[key] = _("Enter a date as YYYY-MM-DD.")
        return None


def _check_with_lines(errors: dict[str, Any], line_errors: Mapping[str, Any],
                      bad: list[int]) -> None:
    """Refuse (422) when a field or a line is not valid; the first bad line's index is in
    ``line``."""
    errors.update(line_errors)
    if bad:
        raise ApiError(422, _("The line with index ${index} is not valid; nothing was saved.",
                              mapping={"index": bad[0]}), errors, line=bad[0])
    _check(errors)


def _parse_line(request: Request, raw: Any, codes: set[str], *, negative_prices: bool
                ) -> tuple[LineInput | None, dict[str, Any]]:
    """A line of the request as :class:`LineInput`, or its errors by field (the checks of
    the line forms of the invoice and offer pages; an inactive product is refused)."""
    if not isinstance(raw, dict):
        return None, {"": _("Give the line as a JSON object.")}
    errors: dict[str, Any] = _unknown(raw, LINE_KEYS)
    product: Product | None = None
    if raw.get("product_id") is not None:
        product_id = raw["product_id"]
        if _is_id(product_id):
            product = request.dbsession.scalar(
                sa.select(Product).where(Product.id == product_id))
        if product is None:
            errors["product_id"] = _("Choose a product from the list.")
        elif not product.active:
            errors["product_id"] = _("The product ${code} is not active.",
                                     mapping={"code": product.code})
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        errors["description"] = _("Give a text value.")
        description = None
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = _("At most ${n} characters.", mapping={"n": MAX_DESCRIPTION})
    if product is None and not description and "product_id" not in errors:
        errors["description"] = _("Choose a product or enter a description.")
    numbers: dict[str, Decimal | None] = {}
    for key, places, default in (("quantity", 3, Decimal(1)), ("unit_price", 4, None),
                                 ("discount_percent", 2, ZERO)):
        value = raw.get(key)
        if value is None:
            numbers[key] = default
            continue
        try:
            numbers[key] = _parse_decimal(value, places)
        except Invalid as exc:
            errors[key] = exc.args[0]
    quantity = numbers.get("quantity")
    if quantity is not None and quantity <= 0:
        errors["quantity"] = _("The quantity must be more than zero.")
    price = numbers.get("unit_price")
    if product is None and "unit_price" not in errors and price is None:
        errors["unit_price"] = _("Enter the price.")
    if price is not None and price < 0 and not negative_prices:
        errors["unit_price"] = _("The price cannot be negative.")
    discount = numbers.get("discount_percent")
    if discount is not None and not ZERO <= discount <= 100:
        errors["discount_percent"] = _("Enter a discount of 0 to 100 %.")
    vat_code = raw.get("vat_code")
    if vat_code is not None and vat_code not in codes:
        errors["vat_code"] = _("Choose a VAT rate from the list.")
    unit_code = raw.get("unit_code")
    if unit_code is not None and unit_code not in UNIT_LABELS:
        errors["unit_code"] = _("Choose one of the options.")
    if errors:
        return None, errors
    return LineInput(product_id=product.id if product else None,
                     description=description or None, quantity=quantity or Decimal(1),
                     unit_price=numbers["unit_price"], discount_percent=discount or ZERO,
                     vat_code=vat_code, unit_code=unit_code), {}


def _parse_lines(request: Request, raw: Any, *, offer: bool = False
                 ) -> tuple[list[LineInput], dict[str, Any], list[int]]:
    """Every line checked: the lines, the errors (``lines[i].field``) and the bad indexes.
    Invoice lines may have a negative price (as on the invoice page), offer lines not."""
    if raw is None:
        return [], {}, []
    if not isinstance(raw, list):
        return [], {"lines": _("Give a list of lines.")}, []
    if len(raw) > MAX_LINES:
        message = _("An offer can have at most ${n} lines.", mapping={"n": MAX_LINES}) \
            if offer else _("An invoice can have at most ${n} lines.",
                            mapping={"n": MAX_LINES})
        return [], {"lines": message}, []
    codes = set(vat_codes(request.dbsession))
    lines: list[LineInput] = []
    errors: dict[str, Any] = {}
    bad: list[int] = []
    for index, row in enumerate(raw):
        line, line_errors = _parse_line(request, row, codes, negative_prices=not offer)
        if line is None:
            bad.append(index)
            for key, message in line_errors.items():
                errors[f"lines[{index}].{key}" if key else f"lines[{index}]"] = message
        else:
            lines.append(line)
    return lines, errors, bad


@view_config(route_name="inv_api_invoices", request_method="POST", permission=INVOICE_EDIT)
@api_view
def create_invoice(request: Request) -> Response:
    """Create a draft invoice (or prepayment invoice) for a visible client with its lines.
    Every line is checked first: one bad line (422, its index in ``line``) creates
    nothing."""
    body = read_object(request, decimals=True)
    errors = _unknown(body, INVOICE_KEYS)
    client = _body_client(request, body, errors)
    kind = body.get("kind", KIND_INVOICE)
    if kind not in NEW_INVOICE_KINDS:
        errors["kind"] = _("Choose one of the options.")
    issue_date = _body_date(body, "issue_date", errors) or today_in(request)
    lines, line_errors, bad = _parse_lines(request, body.get("lines"))
    _check_with_lines(errors, line_errors, bad)
    assert client is not None
    db = request.dbsession
    invoice = new_draft(db, client, request.user, kind=kind, issue_date=issue_date)
    for line in lines:
        add_line(db, invoice, line)
    db.flush()
    db.refresh(invoice)
    url = request.route_url("inv_api_invoice", invoice_id=invoice.id)
    return _json(invoice_json(request, invoice, today_in(request), detail=True), 201, url)


@view_config(route_name="inv_api_invoice_confirm", request_method="POST",
             permission=INVOICE_CONFIRM)
@api_view
def confirm_invoice(request: Request) -> Response:
    """Confirm a draft: the next number of its series, a reference number, the seller and
    buyer details frozen. ``{"override": true}`` confirms past a sales block or the credit
    limit (needs the override permission). A refusal (409, the reason) changes nothing and
    uses no number."""
    invoice = _visible_invoice(request, _route_id(request, "invoice_id"))
    body = read_object(request, optional=True, decimals=True)
    _check(_unknown(body, ("override",)))
    override = body.get("override", False)
    if not isinstance(override, bool):
        _check({"override": _("Give true or false.")})
    if override and not request.has_permission(INVOICE_OVERRIDE):
        raise ApiError(403, _("You may not confirm invoices past a sales block or the credit "
                              "limit."),
                       {"override": _("You may not set this field.")})
    db = request.dbsession
    savepoint = db.begin_nested()
    try:
        confirm(db, invoice, request.user, can_override=override)
        if invoice.kind == KIND_CREDIT:
            after_credit_confirmed(db, invoice)
        savepoint.commit()
    except InvoiceError as exc:
        savepoint.rollback()
        db.refresh(invoice)
        raise ApiError(409, exc.message) from None
    db.refresh(invoice)
    return _json(invoice_json(request, invoice, today_in(request), detail=True))


@view_config(route_name="inv_api_invoice_pdf", request_method="GET", permission=INVOICE_VIEW)
@api_view
def invoice_pdf(request: Request) -> Response:
    """The invoice as PDF in the client's language (a draft has no number yet)."""
    invoice = _visible_invoice(request, _route_id(request, "invoice_id"))
    doc = invoice_document(request.dbsession, invoice)
    return Response(body=render_pdf_of(request.registry, doc), content_type="application/pdf",
                    content_disposition=f'inline; filename="{pdf_filename(doc)}"')


@view_config(route_name="inv_api_invoice_ubl", request_method="GET", permission=INVOICE_VIEW)
@api_view
def invoice_ubl(request: Request) -> Response:
    """A confirmed invoice as an EN 16931 UBL 2.1 e-invoice (Peppol BIS 3); 409 for a
    draft."""
    invoice = _visible_invoice(request, _route_id(request, "invoice_id"))
    if invoice.status == "draft":
        raise ApiError(409, _("A draft has no e-invoice: confirm it first."))
    from plugins.invoicing.einvoice.ubl import to_ubl

    doc = invoice_document(request.dbsession, invoice)
    return Response(body=to_ubl(doc), content_type="application/xml",
                    content_disposition=f'attachment; filename="ubl-{doc.number}.xml"')


# --- offers ---------------------------------------------------------------------------------

OFFER_KEYS = ("client_id", "issue_date", "valid_until", "notes", "lines")
OFFER_STATUSES = (*offer_svc.STATUSES, "expired")
"""The statuses the API shows (``expired``: a draft or sent offer past its validity)."""
OFFER_ACTIONS = (offer_svc.SENT, offer_svc.ACCEPTED, offer_svc.REJECTED)
MAX_VALID_DAYS = 366
"""How far past its date an offer may be valid (as on the offer page)."""
MAX_NOTES = 4000


def offer_json(request: Request, offer: Offer, today: dt.date, label: str,
               detail: bool = False) -> dict[str, Any]:
    """An offer as the API shows it (``detail`` adds the lines and the VAT breakdown);
    ``label`` is its number as shown, e.g. ``P0007``."""
    data: dict[str, Any] = {
        "id": offer.id, "number": label, "sequence": offer.number,
        "status": offer_svc.display_status(offer, today), "client_id": offer.client_id,
        "client_name": offer.client.name, "issue_date": _iso(offer.issue_date, request),
        "valid_until": _iso(offer.valid_until, request),
        "discount_percent": _fixed(offer.discount_percent or ZERO, 2),
        "total_net": _amount(offer.total_net), "total_vat": _amount(offer.total_vat),
        "total": _amount(offer.total), "invoice_id": offer.invoice_id,
        "created_at": _iso(offer.created_at, request),
        "url": request.route_url("inv_offer", offer_id=offer.id),
    }
    if detail:
        data["notes"] = offer.notes
        data.update(_lines_and_vat(request, offer.lines, offer.discount_percent))
    return data


def _offer_label(request: Request, offer: Offer) -> str:
    return offer_svc.offer_label(offer_svc.offer_series(request.dbsession), offer.number)


def _offer_detail(request: Request, offer: Offer) -> dict[str, Any]:
    return offer_json(request, offer, today_in(request), _offer_label(request, offer),
                      detail=True)


def _visible_offer(request: Request, offer_id: int) -> Offer:
    """The offer, if its client is visible to the user; else 404."""
    offer = request.dbsession.scalar(
        sa.select(Offer).where(Offer.id == offer_id,
                               Offer.client_id.in_(visible_client_ids(request))))
    if offer is None:
        raise not_found()
    return offer


@view_config(route_name="inv_api_offers", request_method="GET", permission=INVOICE_VIEW)
@api_view
def list_offers(request: Request) -> Response:
    """Offers of the clients visible to the user, newest first: filters ``client_id`` and
    ``status`` (as shown: ``expired`` drafts and sent offers are not ``draft``/``sent``);
    paging."""
    today = today_in(request)
    stmt = sa.select(Offer).where(Offer.client_id.in_(visible_client_ids(request)))
    client_id = _int_param(request, "client_id")
    if client_id is not None:
        stmt = stmt.where(Offer.client_id == client_id)
    status = _choice_param(request, "status", OFFER_STATUSES)
    open_offer = Offer.status.in_((offer_svc.DRAFT, offer_svc.SENT))
    if status == "expired":
        stmt = stmt.where(open_offer, Offer.valid_until < today)
    elif status in (offer_svc.DRAFT, offer_svc.SENT):
        stmt = stmt.where(Offer.status == status, Offer.valid_until >= today)
    elif status is not None:
        stmt = stmt.where(Offer.status == status)
    series = offer_svc.offer_series(request.dbsession)

    def items(offers: list[Offer]) -> list[dict[str, Any]]:
        return [offer_json(request, offer, today, offer_svc.offer_label(series, offer.number))
                for offer in offers]

    stmt = stmt.order_by(Offer.issue_date.desc(), Offer.id.desc())
    return _json(_page(request, stmt, items, (selectinload(Offer.client),)))


@view_config(route_name="inv_api_offer", request_method="GET", permission=INVOICE_VIEW)
@api_view
def get_offer(request: Request) -> Response:
    """One offer with its lines, totals and VAT breakdown."""
    return _json(_offer_detail(request, _visible_offer(request, _route_id(request,
                                                                          "offer_id"))))


@view_config(route_name="inv_api_offers", request_method="POST", permission=OFFER_EDIT)
@api_view
def create_offer(request: Request) -> Response:
    """Create a draft offer for a visible client with its lines, numbered in the offer
    series; valid for the tenant's offer validity unless ``valid_until`` is given. One bad
    line (422, its index in ``line``) creates nothing."""
    body = read_object(request, decimals=True)
    errors = _unknown(body, OFFER_KEYS)
    client = _body_client(request, body, errors)
    issue_date = _body_date(body, "issue_date", errors) or today_in(request)
    valid_until = _body_date(body, "valid_until", errors)
    if valid_until is not None and not (
            issue_date <= valid_until <= issue_date + dt.timedelta(days=MAX_VALID_DAYS)):
        errors["valid_until"] = _("The offer must be valid from its date for at most ${n} "
                                  "days.", mapping={"n": MAX_VALID_DAYS})
    notes = body.get("notes")
    if notes is not None and (not isinstance(notes, str) or len(notes) > MAX_NOTES):
        errors["notes"] = _("Give a text of at most ${n} characters.", mapping={"n": MAX_NOTES})
    lines, line_errors, bad = _parse_lines(request, body.get("lines"), offer=True)
    _check_with_lines(errors, line_errors, bad)
    assert client is not None
    db = request.dbsession
    offer = offer_svc.new_offer(db, client, request.user, issue_date)
    if valid_until is not None:
        offer.valid_until = valid_until
    offer.notes = (notes.replace("\r\n", "\n").strip() or None) if notes else None
    for line in lines:
        offer_svc.add_offer_line(db, offer, line)
    db.flush()
    db.refresh(offer)
    url = request.route_url("inv_api_offer", offer_id=offer.id)
    return _json(_offer_detail(request, offer), 201, url)


@view_config(route_name="inv_api_offer_status", request_method="POST", permission=OFFER_EDIT)
@api_view
def change_offer_status(request: Request) -> Response:
    """Mark the offer ``sent`` (a draft with lines), ``accepted`` or ``rejected`` (a sent
    offer; an expired one cannot be accepted); a refused move answers 409."""
    offer = _visible_offer(request, _route_id(request, "offer_id"))
    body = read_object(request, decimals=True)
    _check(_unknown(body, ("status",)))
    status = body.get("status")
    if status not in OFFER_ACTIONS:
        _check({"status": _("Choose one of the options.")})
    db = request.dbsession
    savepoint = db.begin_nested()
    try:
        offer_svc.set_status(db, offer, status, today_in(request))
        savepoint.commit()
    except InvoiceError as exc:
        savepoint.rollback()
        db.refresh(offer)
        raise ApiError(409, exc.message) from None
    return _json(_offer_detail(request, offer))


@view_config(route_name="inv_api_offer_invoice", request_method="POST", permission=OFFER_EDIT)
@api_view
def offer_to_invoice(request: Request) -> Response:
    """Make a draft invoice of a sent or accepted offer (it becomes ``invoiced``). Needs the
    right to edit invoices as well; a refusal (409, the reason) creates nothing."""
    if not request.has_permission(INVOICE_EDIT):
        raise ApiError(403, _("You may not create invoices."))
    offer = _visible_offer(request, _route_id(request, "offer_id"))
    db = request.dbsession
    savepoint = db.begin_nested()
    try:
        invoice = offer_svc.offer_to_invoice(db, offer, request.user, today=today_in(request))
        savepoint.commit()
    except InvoiceError as exc:
        savepoint.rollback()
        db.refresh(offer)
        raise ApiError(409, exc.message) from None
    db.refresh(invoice)
    url = request.route_url("inv_api_invoice", invoice_id=invoice.id)
    return _json(invoice_json(request, invoice, today_in(request), detail=True), 201, url)


def includeme(config: Any) -> None:
    """The API routes of invoicing."""
    invoice = f"{PREFIX}/invoices/{{invoice_id:{ROUTE_ID}}}"
    config.add_route("inv_api_products", f"{PREFIX}/products")
    config.add_route("inv_api_product", f"{PREFIX}/products/{{product_id:{ROUTE_ID}}}")
    config.add_route("inv_api_invoices", f"{PREFIX}/invoices")
    config.add_route("inv_api_invoice", invoice)
    config.add_route("inv_api_invoice_confirm", f"{invoice}/confirm")
    config.add_route("inv_api_invoice_pdf", f"{invoice}/pdf")
    config.add_route("inv_api_invoice_ubl", f"{invoice}/ubl")
    offer = f"{PREFIX}/offers/{{offer_id:{ROUTE_ID}}}"
    config.add_route("inv_api_offers", f"{PREFIX}/offers")
    config.add_route("inv_api_offer", offer)
    config.add_route("inv_api_offer_status", f"{offer}/status")
    config.add_route("inv_api_offer_invoice", f"{offer}/invoice")
    config.scan(__name__)
