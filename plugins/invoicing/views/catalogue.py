"""The product catalogue (I1): products with search, filters and paging, the product form,
product groups and VAT rates with their validity periods.

Prices are net unit prices with up to four decimals; the list shows each price with VAT as
valid today. VAT rates are periods per code (``standard``: 22 % until 2025-06-30, 24 %
after); periods of one code never overlap.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from core.db import utcnow
from core.forms import Field, Form, Invalid
from core.i18n import tenant_zone
from core.paging import paginate
from core.web import flash
from plugins.invoicing.i18n import _
from plugins.invoicing.invoices import UNIT_LABELS, unit_label, vat_codes
from plugins.invoicing.models import ClientDiscount, Product, ProductGroup, VatRate
from plugins.invoicing.permissions import PRODUCT_EDIT, PRODUCT_VIEW

PAGE_SIZE = 50
MAX_ID = 2**31 - 1
PRODUCTS_TEMPLATE = "plugins.invoicing:templates/products.pt"
PRODUCT_FORM_TEMPLATE = "plugins.invoicing:templates/product_form.pt"
GROUPS_TEMPLATE = "plugins.invoicing:templates/product_groups.pt"
VAT_TEMPLATE = "plugins.invoicing:templates/vat_rates.pt"
CENT = Decimal("0.01")
PRICE_STEP = Decimal("0.0001")
MAX_PRICE = Decimal(10) ** 10
"""Prices are ``Numeric(14, 4)``: at most ten digits before the decimal point."""
MAX_SERVICE_MINUTES = 7 * 24 * 60
CODE_RE = re.compile(r"^[a-z0-9_-]+$")
VAT_CATEGORIES: tuple[tuple[str, Any], ...] = (
    ("S", _("S - standard rate")),
    ("Z", _("Z - zero rated goods")),
    ("E", _("E - exempt from VAT")),
    ("AE", _("AE - reverse charge")),
    ("K", _("K - intra-community supply")),
    ("G", _("G - export outside the EU")),
    ("O", _("O - outside the scope of VAT")),
)
"""The UNCL5305 VAT categories an e-invoice knows."""
REASON_CATEGORIES = frozenset({"E", "AE", "K", "G", "O"})
"""Categories whose invoices must state why no VAT is charged."""
KINDS: tuple[tuple[str, Any], ...] = (("goods", _("Goods")), ("service", _("Service")))
ACTIVE_FILTERS = ("1", "0", "all")


# --- small helpers shared by the invoicing views ------------------------------------------

def today_in(request: Request) -> dt.date:
    """Today's date in the tenant's time zone."""
    return utcnow().astimezone(tenant_zone(request)).date()


def decimal_text(request: Request, value: Decimal | None, places: int = 0) -> str:
    """``value`` for an input box: trailing zeros dropped (keeping ``places`` decimals) and
    the decimal comma in Estonian; empty for None."""
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    whole, _dot, fraction = text.partition(".")
    fraction = fraction.ljust(places, "0")
    text = f"{whole}.{fraction}" if fraction else whole
    return text.replace(".", ",") if request.locale_name == "et" else text


def price_text(request: Request, value: Decimal) -> str:
    """A unit price for reading: two decimals, or up to four when it has them."""
    exponent = value.normalize().as_tuple().exponent
    places = min(4, max(2, -exponent if isinstance(exponent, int) else 2))
    return request.format_number(value, places)


def parse_id(raw: Any) -> int | None:
    """A positive database id from a request value, else None."""
    if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def rates_on(dbsession: Session, day: dt.date) -> dict[str, VatRate]:
    """The VAT rate of every code valid on ``day``."""
    rates = dbsession.scalars(
        sa.select(VatRate)
        .where(VatRate.valid_from <= day,
               sa.or_(VatRate.valid_until.is_(None), VatRate.valid_until >= day))
        .order_by(VatRate.valid_from))
    return {rate.code: rate for rate in rates}


def gross_price(price: Decimal, rate: VatRate | None) -> Decimal | None:
    """``price`` with the VAT of ``rate``, rounded to cents (None without a rate)."""
    if rate is None:
        return None
    return (price * (100 + rate.percent) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def get_or_404(request: Request, model: type, key: str) -> Any:
    """The row of ``model`` whose id is the matchdict's ``key``; 404 when there is none."""
    row_id = parse_id(request.matchdict.get(key))
    row = request.dbsession.get(model, row_id) if row_id else None
    if row is None:
        raise HTTPNotFound()
    return row


# --- products -----------------------------------------------------------------------------

def _price(value: Decimal) -> Decimal:
    if value < 0:
        raise Invalid(_("The price cannot be negative."))
    if value >= MAX_PRICE:
        raise Invalid(_("The price is too large."))
    if value.quantize(PRICE_STEP) != value:
        raise Invalid(_("Give the price with at most 4 decimals."))
    return value.quantize(PRICE_STEP)


def _service_minutes(value: int) -> int:
    if not 0 < value <= MAX_SERVICE_MINUTES:
        raise Invalid(_("Give minutes between 1 and ${n}.", mapping={"n": MAX_SERVICE_MINUTES}))
    return value


def _groups(dbsession: Session) -> list[ProductGroup]:
    return list(dbsession.scalars(
        sa.select(ProductGroup).order_by(ProductGroup.position, ProductGroup.name)))


def _vat_options(request: Request, today: dt.date) -> tuple[tuple[str, str], ...]:
    current = rates_on(request.dbsession, today)
    options = []
    for code in vat_codes(request.dbsession):
        rate = current.get(code)
        label = (f"{code}: {rate.name} {request.format_number(rate.percent)} %"
                 if rate is not None else code)
        options.append((code, label))
    return tuple(options)


def product_fields(request: Request, today: dt.date) -> tuple[Field, ...]:
    """The fields of the product form (groups, units and VAT codes of the tenant)."""
    language = request.locale_name
    return (
        Field("code", _("Code"), required=True, max_length=40),
        Field("name", _("Name"), required=True, max_length=200),
        Field("name_en", _("Name in English"), max_length=200,
              help=_("Used on invoices in English; the name when empty.")),
        Field("group_id", _("Product group"), "select",
              options=tuple((str(g.id), g.name) for g in _groups(request.dbsession))),
        Field("kind", _("Goods or service"), "select", required=True, options=KINDS),
        Field("unit_code", _("Unit"), "select", required=True,
              options=tuple((code, f"{unit_label(code, language)} ({code})")
                            for code in UNIT_LABELS)),
        Field("price", _("Price without VAT (EUR)"), "decimal", required=True,
              validator=_price, help=_("Up to 4 decimals, e.g. 12,50.")),
        Field("vat_code", _("VAT rate"), "select", required=True,
              options=_vat_options(request, today)),
        Field("service_minutes", _("Service duration (minutes)"), "integer",
              validator=_service_minutes,
              help=_("For services: how much time an order books.")),
        Field("active", _("Active (can be sold)"), "checkbox"),
    )


def _product_initial(request: Request, product: Product | None) -> dict[str, Any]:
    if product is None:
        return {"kind": "goods", "unit_code": "H87", "vat_code": "standard", "active": True}
    return {
        "code": product.code, "name": product.name, "name_en": product.name_en,
        "group_id": product.group_id, "kind": "service" if product.is_service else "goods",
        "unit_code": product.unit_code, "price": decimal_text(request, product.price, 2),
        "vat_code": product.vat_code, "service_minutes": product.service_minutes,
        "active": product.active,
    }


@view_config(route_name="inv_products", request_method="GET", renderer=PRODUCTS_TEMPLATE,
             permission=PRODUCT_VIEW)
def products(request: Request) -> dict[str, Any]:
    """The product list: search by code or name, filter by group and active, paged."""
    params = request.GET
    stmt = sa.select(Product).options(selectinload(Product.group))
    query = params.get("q", "").strip()[:100]
    if query:
        needle = query.lower()
        stmt = stmt.where(sa.or_(
            sa.func.lower(Product.code).contains(needle, autoescape=True),
            sa.func.lower(Product.name).contains(needle, autoescape=True),
            sa.func.lower(Product.name_en).contains(needle, autoescape=True)))
    group = params.get("group", "")
    if group == "none":
        stmt = stmt.where(Product.group_id.is_(None))
    elif parse_id(group):
        stmt = stmt.where(Product.group_id == int(group))
    else:
        group = ""
    active = params.get("active", "1")
    if active not in ACTIVE_FILTERS:
        active = "1"
    if active != "all":
        stmt = stmt.where(Product.active.is_(active == "1"))
    page = paginate(request.dbsession, request, stmt.order_by(Product.code, Product.id),
                    size=PAGE_SIZE)
    today = today_in(request)
    current = rates_on(request.dbsession, today)
    rows = [{"product": p, "rate": current.get(p.vat_code),
             "gross": gross_price(p.price, current.get(p.vat_code)),
             "price": price_text(request, p.price),
             "unit": unit_label(p.unit_code, request.locale_name)} for p in page.items]
    return {"pager": page, "rows": rows, "q": query, "group": group, "active": active,
            "groups": _groups(request.dbsession), "today": today,
            "can_edit": request.has_permission(PRODUCT_EDIT)}


def _form_page(request: Request, form: Form, product: Product | None,
               today: dt.date) -> dict[str, Any]:
    rate = gross = None
    if product is not None:
        rate = rates_on(request.dbsession, today).get(product.vat_code)
        gross = gross_price(product.price, rate)
    return {"form": form, "product": product, "rate": rate, "gross": gross, "today": today}


def _validate_product(request: Request, form: Form, product: Product | None) -> bool:
    if not form.validate():
        return False
    data = form.data
    group_id = parse_id(data["group_id"]) if data["group_id"] else None
    if data["group_id"] and (group_id is None
                             or request.dbsession.get(ProductGroup, group_id) is None):
        form.add_error("group_id", _("Choose one of the options."))
    same = sa.select(Product.id).where(Product.code == data["code"])
    if product is not None:
        same = same.where(Product.id != product.id)
    if request.dbsession.scalar(same) is not None:
        form.add_error("code", _("There is already a product with this code."))
    return not form.errors


def _apply_product(product: Product, data: dict[str, Any]) -> None:
    product.code = data["code"]
    product.name = data["name"]
    product.name_en = data["name_en"]
    product.group_id = int(data["group_id"]) if data["group_id"] else None
    product.is_service = data["kind"] == "service"
    product.unit_code = data["unit_code"]
    product.price = data["price"]
    product.vat_code = data["vat_code"]
    product.service_minutes = data["service_minutes"] if product.is_service else None
    product.active = bool(data["active"])


def _save_product(request: Request, form: Form, product: Product | None) -> Product | None:
    """Validate and store; None (errors in ``form``) when the input is refused."""
    if not _validate_product(request, form, product):
        return None
    try:
        with request.dbsession.begin_nested():
            if product is None:
                product = Product()
                request.dbsession.add(product)
            _apply_product(product, form.data)
            request.dbsession.flush()
    except IntegrityError:  # another user saved the same code at the same moment
        form.add_error("code", _("There is already a product with this code."))
        return None
    return product


@view_config(route_name="inv_product_new", request_method="GET",
             renderer=PRODUCT_FORM_TEMPLATE, permission=PRODUCT_EDIT)
def new_product(request: Request) -> dict[str, Any]:
    """The form for a new product."""
    today = today_in(request)
    form = Form(request, product_fields(request, today), _product_initial(request, None))
    return _form_page(request, form, None, today)


@view_config(route_name="inv_product_new", request_method="POST",
             renderer=PRODUCT_FORM_TEMPLATE, permission=PRODUCT_EDIT)
def create_product(request: Request) -> Any:
    """Add a product; the form again with status 400 and the errors on bad input."""
    today = today_in(request)
    form = Form(request, product_fields(request, today))
    product = _save_product(request, form, None)
    if product is None:
        request.response.status_int = 400
        return _form_page(request, form, None, today)
    flash(request, _("Product ${code} was added."), code=product.code)
    return HTTPSeeOther(request.route_url("inv_products"))


@view_config(route_name="inv_product", request_method="GET",
             renderer=PRODUCT_FORM_TEMPLATE, permission=PRODUCT_EDIT)
def edit_product(request: Request) -> dict[str, Any]:
    """The form of an existing product with its price with VAT today."""
    product = get_or_404(request, Product, "product_id")
    today = today_in(request)
    form = Form(request, product_fields(request, today), _product_initial(request, product))
    return _form_page(request, form, product, today)


@view_config(route_name="inv_product", request_method="POST",
             renderer=PRODUCT_FORM_TEMPLATE, permission=PRODUCT_EDIT)
def save_product(request: Request) -> Any:
    """Save a product; the form again with status 400 and the errors on bad input."""
    product = get_or_404(request, Product, "product_id")
    today = today_in(request)
    form = Form(request, product_fields(request, today), _product_initial(request, product))
    if _save_product(request, form, product) is None:
        request.response.status_int = 400
        request.dbsession.refresh(product)
        return _form_page(request, form, product, today)
    flash(request, _("Product ${code} was saved."), code=product.code)
    return HTTPSeeOther(request.route_url("inv_products"))


# --- product groups -----------------------------------------------------------------------

def _position(value: int) -> int:
    if not -9999 <= value <= 9999:
        raise Invalid(_("Give a number between -9999 and 9999."))
    return value


GROUP_FIELDS = (
    Field("name", _("Name"), required=True, max_length=100),
    Field("position", _("Order"), "integer", validator=_position),
)


def _group_usage(dbsession: Session) -> tuple[dict[int, int], dict[int, int]]:
    """Products and client discounts per group id."""
    products = dict(dbsession.execute(
        sa.select(Product.group_id, sa.func.count()).where(Product.group_id.is_not(None))
        .group_by(Product.group_id)).all())
    discounts = dict(dbsession.execute(
        sa.select(ClientDiscount.group_id, sa.func.count()).group_by(ClientDiscount.group_id))
        .all())
    return products, discounts


def _groups_page(request: Request, failed: tuple[int | None, Form] | None = None
                 ) -> dict[str, Any]:
    products_in, discounts_on = _group_usage(request.dbsession)
    entries = []
    for group in _groups(request.dbsession):
        form = (failed[1] if failed and failed[0] == group.id
                else Form(request, GROUP_FIELDS, {"name": group.name,
                                                  "position": group.position}))
        entries.append({"group": group, "form": form, "products": products_in.get(group.id, 0),
                        "discounts": discounts_on.get(group.id, 0)})
    new = failed[1] if failed and failed[0] is None else Form(request, GROUP_FIELDS,
                                                              {"position": 0})
    return {"entries": entries, "new": new, "can_edit": request.has_permission(PRODUCT_EDIT)}


def _validate_group(request: Request, form: Form, group_id: int | None) -> bool:
    if not form.validate():
        return False
    clash = request.dbsession.scalar(sa.select(ProductGroup.id).where(
        ProductGroup.name == form.data["name"], ProductGroup.id != (group_id or 0)))
    if clash is not None:
        form.add_error("name", _("There is already a product group with this name."))
        return False
    return True


@view_config(route_name="inv_product_groups", request_method="GET", renderer=GROUPS_TEMPLATE,
             permission=PRODUCT_VIEW)
def product_groups(request: Request) -> dict[str, Any]:
    """The product groups with how many products and client discounts each has."""
    return _groups_page(request)


@view_config(route_name="inv_product_group_add", request_method="POST",
             renderer=GROUPS_TEMPLATE, permission=PRODUCT_EDIT)
def add_group(request: Request) -> Any:
    """Add a product group; the page with the errors (400) on bad input."""
    form = Form(request, GROUP_FIELDS)
    if not _validate_group(request, form, None):
        request.response.status_int = 400
        return _groups_page(request, (None, form))
    group = ProductGroup(name=form.data["name"], position=form.data["position"] or 0)
    request.dbsession.add(group)
    request.dbsession.flush()
    flash(request, _("Product group ${name} was added."), name=group.name)
    return HTTPSeeOther(request.route_url("inv_product_groups"))


@view_config(route_name="inv_product_group", request_method="POST",
             renderer=GROUPS_TEMPLATE, permission=PRODUCT_EDIT)
def change_group(request: Request) -> Any:
    """Rename a product group, or delete it when no product or client discount uses it."""
    group = get_or_404(request, ProductGroup, "group_id")
    back = HTTPSeeOther(request.route_url("inv_product_groups"))
    if request.POST.get("action") == "delete":
        products_in, discounts_on = _group_usage(request.dbsession)
        if products_in.get(group.id):
            flash(request, _("${name} cannot be deleted: ${n} products are in this group. "
                             "Move them to another group first."),
                  "error", name=group.name, n=products_in[group.id])
            return back
        if discounts_on.get(group.id):
            flash(request, _("${name} cannot be deleted: ${n} clients have a discount on "
                             "this group."), "error", name=group.name, n=discounts_on[group.id])
            return back
        name = group.name
        request.dbsession.delete(group)
        flash(request, _("Product group ${name} was deleted."), name=name)
        return back
    form = Form(request, GROUP_FIELDS, {"name": group.name, "position": group.position})
    if not _validate_group(request, form, group.id):
        request.response.status_int = 400
        return _groups_page(request, (group.id, form))
    group.name = form.data["name"]
    group.position = form.data["position"] or 0
    flash(request, _("Product group ${name} was saved."), name=group.name)
    return back


# --- VAT rates ----------------------------------------------------------------------------

def _vat_code(value: str) -> str:
    code = value.lower()
    if not CODE_RE.match(code):
        raise Invalid(_("Use lower-case letters a-z, digits, - and _ only."))
    return code


def _percent(value: Decimal) -> Decimal:
    if not 0 <= value < 100:
        raise Invalid(_("Give a percentage from 0 to 99.99."))
    if value.quantize(CENT) != value:
        raise Invalid(_("Give the percentage with at most 2 decimals."))
    return value.quantize(CENT)


RATE_FIELDS = (
    Field("name", _("Name"), required=True, max_length=100),
    Field("category", _("VAT category"), "select", required=True, options=VAT_CATEGORIES),
    Field("percent", _("Rate %"), "decimal", required=True, validator=_percent),
    Field("valid_from", _("Valid from"), "date", required=True),
    Field("valid_until", _("Valid until"), "date", help=_("Empty: valid until further notice.")),
    Field("exemption_reason", _("Exemption reason"), max_length=200,
          help=_("Required for exempt, reverse charge, intra-EU, export and out of scope "
                 "supplies; shown on the invoice.")),
)
NEW_RATE_FIELDS = (
    Field("code", _("Code"), required=True, max_length=20, validator=_vat_code,
          help=_("Products name the code, e.g. standard; a new period of an existing code "
                 "changes the rate from its start date.")),
    *RATE_FIELDS,
)


def _rate_initial(request: Request, rate: VatRate) -> dict[str, Any]:
    return {"name": rate.name, "category": rate.category,
            "percent": decimal_text(request, rate.percent), "valid_from": rate.valid_from,
            "valid_until": rate.valid_until, "exemption_reason": rate.exemption_reason}


def _validate_rate(request: Request, form: Form, code: str | None,
                   rate: VatRate | None) -> bool:
    """Check the fields, the rules of the category and that no period of the code overlaps."""
    if not form.validate():
        return False
    data = form.data
    code = code or data["code"]
    start, end = data["valid_from"], data["valid_until"]
    if end is not None and end < start:
        form.add_error("valid_until", _("The end date cannot be before the start date."))
    category, percent = data["category"], data["percent"]
    if category == "S" and percent == 0:
        form.add_error("percent", _("A standard rate (S) must be above 0 %."))
    elif category != "S" and percent != 0:
        form.add_error("percent", _("Only a standard rate (S) can be above 0 %."))
    if category in REASON_CATEGORIES and not data["exemption_reason"]:
        form.add_error("exemption_reason",
                       _("Give the exemption reason: invoices must state why no VAT is "
                         "charged."))
    elif category not in REASON_CATEGORIES and data["exemption_reason"]:
        form.add_error("exemption_reason",
                       _("Only exempt, reverse charge, intra-EU, export and out of scope "
                         "rates have an exemption reason."))
    if form.errors:
        return False
    overlap = sa.select(VatRate).where(
        VatRate.code == code,
        sa.or_(VatRate.valid_until.is_(None), VatRate.valid_until >= start))
    if end is not None:
        overlap = overlap.where(VatRate.valid_from <= end)
    if rate is not None:
        overlap = overlap.where(VatRate.id != rate.id)
    other = request.dbsession.scalar(overlap.order_by(VatRate.valid_from).limit(1))
    if other is not None:
        mapping = {"code": code, "start": request.format_date(other.valid_from),
                   "end": request.format_date(other.valid_until)}
        message = (_("The period overlaps the period of ${code} from ${start} to ${end}. "
                     "Change the dates of that period first.", mapping=mapping)
                   if other.valid_until else
                   _("The period overlaps the period of ${code} valid from ${start} until "
                     "further notice. Give that period an end date first.", mapping=mapping))
        form.add_error("valid_from", message)
        form.set_form_error(message)
        return False
    return True


def _apply_rate(rate: VatRate, data: dict[str, Any]) -> None:
    for key in ("name", "category", "percent", "valid_from", "valid_until"):
        setattr(rate, key, data[key])
    rate.exemption_reason = data["exemption_reason"] or None


def _vat_page(request: Request, failed: tuple[int | None, Form] | None = None
              ) -> dict[str, Any]:
    today = today_in(request)
    rates = list(request.dbsession.scalars(
        sa.select(VatRate).order_by(VatRate.code, VatRate.valid_from)))
    current = {r.id for r in rates_on(request.dbsession, today).values()}
    used = dict(request.dbsession.execute(
        sa.select(Product.vat_code, sa.func.count()).group_by(Product.vat_code)).all())
    codes: dict[str, list[dict[str, Any]]] = {}
    for rate in rates:
        form = (failed[1] if failed and failed[0] == rate.id
                else Form(request, RATE_FIELDS, _rate_initial(request, rate)))
        codes.setdefault(rate.code, []).append(
            {"rate": rate, "form": form, "current": rate.id in current,
             "future": rate.valid_from > today})
    new = (failed[1] if failed and failed[0] is None
           else Form(request, NEW_RATE_FIELDS, {"category": "S"}))
    return {"codes": [{"code": code, "periods": periods, "products": used.get(code, 0)}
                      for code, periods in codes.items()],
            "new": new, "categories": dict(VAT_CATEGORIES), "today": today,
            "can_edit": request.has_permission(PRODUCT_EDIT)}


@view_config(route_name="inv_vat_rates", request_method="GET", renderer=VAT_TEMPLATE,
             permission=PRODUCT_VIEW)
def vat_rates(request: Request) -> dict[str, Any]:
    """The VAT rates grouped by code with their validity periods."""
    return _vat_page(request)


@view_config(route_name="inv_vat_rates", request_method="POST", renderer=VAT_TEMPLATE,
             permission=PRODUCT_EDIT)
def add_vat_rate(request: Request) -> Any:
    """Add a rate period; refused (400) when it overlaps another period of the code."""
    form = Form(request, NEW_RATE_FIELDS)
    if not _validate_rate(request, form, None, None):
        request.response.status_int = 400
        return _vat_page(request, (None, form))
    rate = VatRate(code=form.data["code"])
    _apply_rate(rate, form.data)
    request.dbsession.add(rate)
    request.dbsession.flush()
    flash(request, _("The rate ${code} from ${start} was added."), code=rate.code,
          start=request.format_date(rate.valid_from))
    return HTTPSeeOther(request.route_url("inv_vat_rates", _anchor=f"vat-{rate.code}"))


@view_config(route_name="inv_vat_rate", request_method="POST", renderer=VAT_TEMPLATE,
             permission=PRODUCT_EDIT)
def change_vat_rate(request: Request) -> Any:
    """Save a rate period, or delete it unless it is the last period of a code in use."""
    rate = get_or_404(request, VatRate, "rate_id")
    back = HTTPSeeOther(request.route_url("inv_vat_rates", _anchor=f"vat-{rate.code}"))
    if request.POST.get("action") == "delete":
        others = request.dbsession.scalar(
            sa.select(sa.func.count()).select_from(VatRate)
            .where(VatRate.code == rate.code, VatRate.id != rate.id))
        used = request.dbsession.scalar(
            sa.select(sa.func.count()).select_from(Product).where(Product.vat_code == rate.code))
        if not others and used:
            flash(request, _("The last period of ${code} cannot be deleted: ${n} products use "
                             "this rate."), "error", code=rate.code, n=used)
            return back
        flash(request, _("The rate ${code} from ${start} was deleted."), code=rate.code,
              start=request.format_date(rate.valid_from))
        request.dbsession.delete(rate)
        return back
    form = Form(request, RATE_FIELDS, _rate_initial(request, rate))
    if not _validate_rate(request, form, rate.code, rate):
        request.response.status_int = 400
        return _vat_page(request, (rate.id, form))
    _apply_rate(rate, form.data)
    flash(request, _("The rate ${code} from ${start} was saved."), code=rate.code,
          start=request.format_date(rate.valid_from))
    return back


def includeme(config: Any) -> None:
    """Register the catalogue routes."""
    config.add_route("inv_products", "/products")
    config.add_route("inv_product_new", "/products/new")
    config.add_route("inv_product", "/products/{product_id:\\d{1,9}}")
    config.add_route("inv_product_groups", "/products/groups")
    config.add_route("inv_product_group_add", "/products/groups/add")
    config.add_route("inv_product_group", "/products/groups/{group_id:\\d{1,9}}")
    config.add_route("inv_vat_rates", "/invoicing/vat-rates")
    config.add_route("inv_vat_rate", "/invoicing/vat-rates/{rate_id:\\d{1,9}}")
    config.scan(__name__)
