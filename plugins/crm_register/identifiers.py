"""Validation of Estonian and international identifiers with well-kept libraries.

Registry codes (registrikood), personal codes (isikukood) and VAT numbers (KMKR) are
checked with python-stdnum; IBANs and BICs with schwifty. Each function returns the
compact, canonical form or raises :class:`core.forms.Invalid` with a translatable message.
"""

from __future__ import annotations

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.ee import ik, registrikood
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from core.forms import Invalid
from plugins.crm_register.i18n import _


def registry_code(value: str) -> str:
    """An Estonian business registry code (8 digits with a check digit)."""
    try:
        return registrikood.validate(value)
    except ValidationError:
        raise Invalid(_("Not a valid Estonian registry code (8 digits).")) from None


def personal_code(value: str) -> str:
    """An Estonian personal identification code (isikukood)."""
    try:
        return ik.validate(value)
    except ValidationError:
        raise Invalid(_("Not a valid Estonian personal code.")) from None


def vat_number(value: str) -> str:
    """An EU VAT number; Estonian ones (EE + 9 digits) are checked digit by digit."""
    compact = value.replace(" ", "").upper()
    if compact.isdigit():
        compact = "EE" + compact
    try:
        return eu_vat.validate(compact)
    except ValidationError:
        raise Invalid(_("Not a valid VAT number (e.g. EE100207415).")) from None


def iban(value: str) -> str:
    """An IBAN, checksum and country format verified; returned without spaces."""
    try:
        return IBAN(value).compact
    except SchwiftyException:
        raise Invalid(_("Not a valid IBAN.")) from None


def bic(value: str) -> str:
    """A BIC (SWIFT code)."""
    try:
        return str(BIC(value))
    except SchwiftyException:
        raise Invalid(_("Not a valid BIC.")) from None
