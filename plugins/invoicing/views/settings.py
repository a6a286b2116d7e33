"""The invoicing settings page (Administration → Invoicing settings).

The seller's details printed on invoices (registry code, VAT number and IBAN are
validated), payment term, reference numbers, the discount model, offer validity, the
invoice footer, and the numbering series. A series' last number can be raised (e.g. to
continue the numbering of an earlier program) but never lowered: invoice numbers must stay
without gaps or repeats.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.ee import kmkr, registrikood
from stdnum.exceptions import ValidationError

from core.forms import Field, Form, Invalid
from core.web import flash
from plugins.invoicing.i18n import _
from plugins.invoicing.invoices import settings_of
from plugins.invoicing.models import Series, Settings
from plugins.invoicing.permissions import SETTINGS_MANAGE
from plugins.invoicing.views.catalogue import get_or_404

TEMPLATE = "plugins.invoicing:templates/settings.pt"
FOOTER_MAX = 2000
MAX_LAST_NUMBER = 999_999_999
MAX_DIGITS = 10
PREFIX_RE = re.compile(r"^[A-Za-z0-9./_-]*$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
REFERENCE_MODES: tuple[tuple[str, Any], ...] = (
    ("invoice", _("A new reference number for every invoice")),
    ("client", _("One reference number per client")),
)
SERIES_LABELS: dict[str, Any] = {
    "invoice": _("Invoices"), "credit": _("Credit invoices"),
    "prepayment": _("Prepayment invoices"), "offer": _("Offers"),
}


def _registry_code(value: str) -> str:
    try:
        return registrikood.validate(value)
    except ValidationError:
        raise Invalid(_("Not a valid Estonian registry code (8 digits).")) from None


def _vat_number(value: str) -> str:
    try:
        return "EE" + kmkr.validate(value)
    except ValidationError:
        raise Invalid(_("Not a valid Estonian VAT number (e.g. EE100207415).")) from None


def _iban(value: str) -> str:
    try:
        return IBAN(value).compact
    except SchwiftyException:
        raise Invalid(_("Not a valid IBAN.")) from None


def _bic(value: str) -> str:
    try:
        return str(BIC(value))
    except SchwiftyException:
        raise Invalid(_("Not a valid BIC.")) from None


def _country(value: str) -> str:
    code = value.upper()
    if not COUNTRY_RE.match(code):
        raise Invalid(_("Give the two-letter country code, e.g. EE."))
    return code


def _days(value: int) -> int:
    if not 0 <= value <= 365:
        raise Invalid(_("Give a number of days from 0 to 365."))
    return value


def _offer_days(value: int) -> int:
    if not 1 <= value <= 365:
        raise Invalid(_("Give a number of days from 1 to 365."))
    return value


def _footer(value: str) -> str:
    if len(value) > FOOTER_MAX:
        raise Invalid(_("At most ${n} characters.", mapping={"n": FOOTER_MAX}))
    return value


SELLER_FIELDS = (
    Field("seller_name", _("Seller's name"), required=True, max_length=200),
    Field("registry_code", _("Registry code"), max_length=20, validator=_registry_code),
    Field("vat_number", _("VAT number"), max_length=20, validator=_vat_number),
    Field("street", _("Street address"), max_length=200),
    Field("city", _("City"), max_length=100),
    Field("postal_code", _("Postal code"), max_length=20),
    Field("country", _("Country"), required=True, max_length=2, validator=_country),
    Field("email", _("E-mail"), "email", max_length=200),
    Field("phone", _("Phone"), max_length=50),
)
BANK_FIELDS = (
    Field("iban", _("IBAN"), max_length=42, validator=_iban),
    Field("bic", _("BIC"), max_length=11, validator=_bic,
          help=_("Filled in from the IBAN when left empty.")),
    Field("bank_name", _("Bank name"), max_length=100,
          help=_("Filled in from the IBAN when left empty.")),
)
RULE_FIELDS = (
    Field("payment_term_days", _("Default payment term (days)"), "integer", required=True,
          validator=_days, help=_("A client's own payment term takes precedence.")),
    Field("reference_mode", _("Reference numbers"), "select", required=True,
          options=REFERENCE_MODES),
    Field("offer_valid_days", _("Offers are valid for (days)"), "integer", required=True,
          validator=_offer_days),
    Field("invoice_footer", _("Invoice footer text"), "textarea", max_length=None,
          validator=_footer),
)
DISCOUNT_FIELDS = (
    Field("group_discounts", _("Client discounts per product group"), "checkbox",
          help=_("A line with a client's group discount gets no further line discount.")),
    Field("line_discounts", _("Discounts on invoice lines"), "checkbox"),
    Field("invoice_discounts", _("A discount on the whole invoice"), "checkbox"),
)
SETTINGS_SECTIONS: tuple[tuple[str, Any, tuple[Field, ...]], ...] = (
    ("seller", _("Seller"), SELLER_FIELDS),
    ("bank", _("Bank account"), BANK_FIELDS),
    ("rules", _("Invoices and offers"), RULE_FIELDS),
    ("discounts", _("Discount model"), DISCOUNT_FIELDS),
)
SETTINGS_FIELDS = tuple(f for _key, _title, fields in SETTINGS_SECTIONS for f in fields)


def _prefix(value: str) -> str:
    if not PREFIX_RE.match(value):
        raise Invalid(_("Use letters, digits and . / _ - only."))
    return value


def _digits(value: int) -> int:
    if not 0 <= value <= MAX_DIGITS:
        raise Invalid(_("Give a number from 0 to ${n}.", mapping={"n": MAX_DIGITS}))
    return value


def _last_number(value: int) -> int:
    if not 0 <= value <= MAX_LAST_NUMBER:
        raise Invalid(_("Give a number from 0 to ${n}.", mapping={"n": MAX_LAST_NUMBER}))
    return value


SERIES_FIELDS = (
    Field("prefix", _("Prefix"), max_length=20, validator=_prefix),
    Field("digits", _("Digits"), "integer", required=True, validator=_digits,
          help=_("Numbers are padded with zeros to this many digits (0: no padding).")),
    Field("last_number", _("Last number used"), "integer", required=True,
          validator=_last_number, help=_("Can be raised, never lowered.")),
)


def number_of(prefix: str, number: int, digits: int) -> str:
    """The invoice number ``number`` of a series with ``prefix`` and ``digits``."""
    return f"{prefix}{number:0{digits}d}" if digits else f"{prefix}{number}"


def _settings_initial(settings: Settings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in SETTINGS_FIELDS}


def _series_initial(series: Series) -> dict[str, Any]:
    return {"prefix": series.prefix, "digits": series.digits,
            "last_number": series.last_number}


def _page(request: Request, form: Form | None = None,
          failed: tuple[int, Form] | None = None) -> dict[str, Any]:
    settings = settings_of(request.dbsession)
    form = form or Form(request, SETTINGS_FIELDS, _settings_initial(settings))
    series = []
    for row in request.dbsession.scalars(sa.select(Series).order_by(Series.id)):
        series_form = (failed[1] if failed and failed[0] == row.id
                       else Form(request, SERIES_FIELDS, _series_initial(row)))
        series.append({
            "series": row, "form": series_form,
            "label": SERIES_LABELS.get(row.code, row.code),
            "next": number_of(row.prefix, row.last_number + 1, row.digits),
        })
    sections = [{"key": key, "title": title, "names": [f.name for f in fields]}
                for key, title, fields in SETTINGS_SECTIONS]
    return {"form": form, "sections": sections, "series": series}


@view_config(route_name="inv_settings", request_method="GET", renderer=TEMPLATE,
             permission=SETTINGS_MANAGE)
def settings_page(request: Request) -> dict[str, Any]:
    """The settings form and the numbering series."""
    return _page(request)


@view_config(route_name="inv_settings", request_method="POST", renderer=TEMPLATE,
             permission=SETTINGS_MANAGE)
def save_settings(request: Request) -> Any:
    """Save the settings; the page again with status 400 and the errors on bad input."""
    settings = settings_of(request.dbsession)
    form = Form(request, SETTINGS_FIELDS, _settings_initial(settings))
    if not form.validate():
        request.response.status_int = 400
        return _page(request, form)
    data = dict(form.data)
    if data["iban"] and not (data["bic"] and data["bank_name"]):
        iban = IBAN(data["iban"])
        try:
            bank_bic, bank_name = iban.bic, iban.bank_name
        except SchwiftyException:  # the bank registry does not know the bank
            bank_bic, bank_name = None, None
        if not data["bic"] and bank_bic is not None:
            data["bic"] = str(bank_bic)
        if not data["bank_name"] and bank_name:
            data["bank_name"] = bank_name[:100]
    for f in SETTINGS_FIELDS:
        value = data[f.name]
        if f.type == "checkbox":
            value = bool(value)
        elif f.type == "textarea" and value is not None:
            value = value.replace("\r\n", "\n")
        setattr(settings, f.name, value)
    flash(request, _("The invoicing settings were saved."))
    return HTTPSeeOther(request.route_url("inv_settings"))


@view_config(route_name="inv_series", request_method="POST", renderer=TEMPLATE,
             permission=SETTINGS_MANAGE)
def save_series(request: Request) -> Any:
    """Change a series' prefix, digits or (only upwards) its last number."""
    series = get_or_404(request, Series, "series_id")
    # Lock the row: an invoice confirmed meanwhile takes the next number from it.
    request.dbsession.refresh(series, with_for_update=True)
    form = Form(request, SERIES_FIELDS, _series_initial(series))
    if form.validate():
        data = form.data
        prefix = data["prefix"] or ""
        if data["last_number"] < series.last_number:
            form.add_error("last_number", _(
                "The last number cannot be lowered below ${n}: invoice numbers must stay "
                "without gaps or repeats.", mapping={"n": series.last_number}))
        clash = request.dbsession.scalar(sa.select(Series.code).where(
            Series.prefix == prefix, Series.id != series.id))
        if clash is not None:
            form.add_error("prefix", _("Another series uses this prefix; its numbers would "
                                       "repeat."))
        if len(number_of(prefix, max(data["last_number"], 1), data["digits"])) > 40:
            form.add_error("prefix", _("The numbers would be too long."))
    if form.errors:
        request.response.status_int = 400
        return _page(request, failed=(series.id, form))
    series.prefix = prefix
    series.digits = data["digits"]
    series.last_number = data["last_number"]
    flash(request, _("The series ${name} was saved; the next number is ${number}."),
          name=request.translate(SERIES_LABELS.get(series.code, series.code)),
          number=number_of(series.prefix, series.last_number + 1, series.digits))
    return HTTPSeeOther(request.route_url("inv_settings", _anchor="series"))


def includeme(config: Any) -> None:
    """Register the settings routes."""
    config.add_route("inv_settings", "/invoicing/settings")
    config.add_route("inv_series", "/invoicing/settings/series/{series_id:\\d{1,9}}")
    config.scan(__name__)
