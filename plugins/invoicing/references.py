"""Payment reference numbers: the Estonian viitenumber (7-3-1) and the RF creditor reference.

The Estonian reference number (Pangaliit standard) is 2-20 digits; its last digit is the
7-3-1 check digit over the others (weights 7, 3, 1 repeating from the right; check =
(10 - sum % 10) % 10). Example: base 12131295 -> reference 121312952, printed
"1213 1295 2". The RF creditor reference (ISO 11649) is "RF", two check digits (ISO 7064
mod 97-10) and up to 21 letters or digits; ``python-stdnum`` checks and builds it.
"""

from __future__ import annotations

from stdnum import iso11649
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_97_10

MIN_LENGTH = 2
MAX_LENGTH = 20
_WEIGHTS = (7, 3, 1)


class InvalidReference(ValueError):
    """The text is not a valid reference number."""


def check_digit(base: str) -> int:
    """The 7-3-1 check digit of the digit string ``base`` (1-19 digits)."""
    if not base.isdigit() or not 1 <= len(base) <= MAX_LENGTH - 1:
        raise InvalidReference(base)
    total = sum(int(d) * _WEIGHTS[i % 3] for i, d in enumerate(reversed(base)))
    return (10 - total % 10) % 10


def make_reference(base: int | str) -> str:
    """The Estonian reference number for ``base`` (e.g. a client or invoice number):
    ``base`` followed by its 7-3-1 check digit."""
    text = str(base)
    return f"{text}{check_digit(text)}"


def compact(text: str) -> str:
    """``text`` without spaces (references are often printed in groups)."""
    return "".join(text.split()).upper()


def is_valid_estonian(text: str) -> bool:
    """True when ``text`` (spaces allowed) is a valid Estonian reference number."""
    value = compact(text)
    if not value.isdigit() or not MIN_LENGTH <= len(value) <= MAX_LENGTH:
        return False
    return check_digit(value[:-1]) == int(value[-1])


def is_valid_rf(text: str) -> bool:
    """True when ``text`` (spaces allowed) is a valid RF creditor reference (ISO 11649)."""
    try:
        iso11649.validate(compact(text))
    except ValidationError:
        return False
    return True


def validate(text: str) -> str:
    """The compact form of an entered reference, Estonian or RF; raises
    :class:`InvalidReference` when it is neither."""
    value = compact(text)
    if is_valid_estonian(value) or is_valid_rf(value):
        return value
    raise InvalidReference(text)


def rf_from_estonian(reference: str) -> str:
    """The RF creditor reference that carries the Estonian ``reference`` (for payers abroad)."""
    value = compact(reference)
    if not is_valid_estonian(value):
        raise InvalidReference(reference)
    return f"RF{mod_97_10.calc_check_digits(value + 'RF')}{value}"


def display(reference: str | None) -> str:
    """``reference`` grouped for print: "1213 1295 2", "RF18 5390 0754 7034"."""
    if not reference:
        return ""
    value = compact(reference)
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
