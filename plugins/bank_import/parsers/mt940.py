"""SWIFT MT940 customer statements, read with the ``mt-940`` library.

The library splits the file into statements and reads the tags; this module turns them
into :class:`ParsedStatement`. The account comes from ``:25:`` (an IBAN, possibly followed
by the currency or preceded by the bank's BIC and a slash), the currency and the balances
from ``:60F:`` / ``:62F:``, the entries from ``:61:`` with the following ``:86:``.

The ``:86:`` text is read in two forms:

- structured in ``?NN`` subfields (``?00`` booking text, ``?20``-``?29`` and
  ``?60``-``?63`` remittance text, ``?30`` BIC, ``?31`` account, ``?32``/``?33`` name,
  ``?38`` IBAN), possibly after a three-digit transaction code;
- free text, taken as the description.

In both, an Estonian ``/RFB/<reference>/TXT/<text>`` gives the reference; otherwise the
``:61:`` customer reference is used when it is a valid Estonian or RF reference.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import mt940
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from core.hookspecs.types import StatementParser
from plugins.bank_import.i18n import _
from plugins.bank_import.parsers.common import (
    check_currency,
    compact_account,
    currency_codes,
    decode_text,
    head_text,
    is_fee_code,
    is_valid_reference,
    none_if_empty,
    period_of,
    split_rfb,
)
from plugins.bank_import.statements import ParsedEntry, ParsedStatement, StatementError

FORMAT = "mt940"

_ENVELOPE_START = re.compile(r"^\s*\{1:.*?\{4:[ \t]*\r?\n?", re.DOTALL | re.MULTILINE)
_ENVELOPE_LINES = re.compile(r"^(?:-\}.*|\{5:.*|-)\s*$", re.MULTILINE)
_TAG = re.compile(r"^:(20|25|28C?|60[FM]|61):", re.MULTILINE)
_STRUCTURED = re.compile(r"^(?:\d{3})?\?\d{2}")
_SUBFIELD = re.compile(r"\?(\d{2})")
_PURPOSE_FIELDS = (*(str(number) for number in range(20, 30)), "60", "61", "62", "63")
"""The ?NN subfields of the remittance text, in their order."""

_OPTIONS = mt940.Options(
    merge_keeps_values=True, reversal_sign=True, case_insensitive_marks=True,
    unbounded_details=True, strip_bom=True,
)
# The library's own :86: post-processor understands only the German "NNN?00" layout and
# drops the raw text when it does; the raw text is read here instead.
_PROCESSORS: Any = {"post_transaction_details": []}


@dataclass
class Details:
    """What a ``:86:`` text says about an entry."""

    description: str = ""
    reference: str | None = None
    name: str | None = None
    account: str | None = None
    bic: str | None = None


def detect(data: bytes, filename: str) -> bool:
    """True when the first bytes hold the ``:20:`` and ``:25:`` tags and a balance or
    statement line (after an optional ``{1:...}{4:`` SWIFT envelope)."""
    text = _ENVELOPE_START.sub("", head_text(data).lstrip("\ufeff"), count=1)
    tags = set(_TAG.findall(text))
    return {"20", "25"} <= tags and bool(tags & {"60F", "60M", "61"})


def _clean(text: str) -> str:
    """The statement text without the SWIFT envelope (``{1:...}{4:`` and ``-}``)."""
    text = _ENVELOPE_START.sub("", text.lstrip("\ufeff"))
    return _ENVELOPE_LINES.sub("", text.replace("\r\n", "\n"))


def parse(data: bytes, filename: str) -> list[ParsedStatement]:
    """The statements in the MT940 ``data``."""
    text = _clean(decode_text(data))
    try:
        blocks = mt940.parse_statements(text, processors=_PROCESSORS, options=_OPTIONS)
        statements = [_statement(block) for block in blocks]
    except StatementError:
        raise
    except (RuntimeError, ValueError, KeyError, TypeError, AttributeError,
            ArithmeticError) as error:
        raise StatementError(_("The MT940 file is malformed and cannot be read.")) from error
    if not statements:
        raise StatementError(_("The file contains no statement."))
    return statements


def _statement(block: mt940.models.Transactions) -> ParsedStatement:
    """One statement block (from one ``:20:`` to the next)."""
    data = block.data
    account = _account(data.get("account_identification"))
    if not account:
        raise StatementError(_("The MT940 statement has no account (field :25:)."))
    if not block.currency:
        raise StatementError(_("The MT940 statement has no opening balance (field :60F:)."))
    currency = check_currency(block.currency)
    entries = [_entry(transaction.data, currency) for transaction in block.transactions]
    start, end = period_of(entries)
    return ParsedStatement(
        format=FORMAT,
        account_iban=account,
        currency=currency,
        statement_id=none_if_empty(data.get("transaction_reference")),
        period_start=start,
        period_end=end,
        opening_balance=_balance(data, "final_opening_balance", "opening_balance",
                                 "intermediate_opening_balance"),
        closing_balance=_balance(data, "final_closing_balance", "closing_balance",
                                 "intermediate_closing_balance"),
        entries=entries,
    )


def _account(text: str | None) -> str | None:
    """The IBAN in a ``:25:`` value: "EE38...", "EE38...EUR", "EE38... EUR",
    "HABAEE2X/EE38..." or "/EE38..."; else the last part of the value as it is."""
    parts = [part for part in re.split(r"[/\s]+", text or "") if part]
    for part in reversed(parts):
        for candidate in (part, _without_currency(part)):
            if _is_iban(candidate):
                return compact_account(candidate)
    return compact_account(_without_currency(parts[-1])) if parts else None


def _without_currency(part: str) -> str:
    """``part`` without a trailing ISO currency code ("EE38...EUR" -> "EE38...")."""
    if len(part) > 3 and part[-3:].upper() in currency_codes():
        return part[:-3]
    return part


def _is_iban(text: str) -> bool:
    """True when ``text`` is a valid IBAN."""
    try:
        IBAN(text)
    except SchwiftyException:
        return False
    return True


def _balance(data: dict[str, Any], *keys: str) -> Decimal | None:
    """The signed amount of the first of the balances ``keys`` present in ``data``."""
    for key in keys:
        balance = data.get(key)
        amount = getattr(balance, "amount", None)
        if amount is not None and hasattr(amount, "amount"):
            return amount.amount
    return None


def _entry(data: dict[str, Any], currency: str) -> ParsedEntry:
    """One ``:61:`` statement line with its ``:86:`` details."""
    mark = str(data.get("status") or "").upper()
    credit = mark in ("C", "RD")
    amount: Decimal = abs(data["amount"].amount)
    code = none_if_empty(data.get("id"))
    details = parse_details(data.get("transaction_details"))
    customer_reference = _reference_value(data.get("customer_reference"))
    reference = details.reference
    if reference is None and is_valid_reference(customer_reference):
        reference = compact_account(customer_reference)
    value_date = data.get("date")
    return ParsedEntry(
        amount=amount,
        credit=credit,
        currency=currency,
        booking_date=_plain_date(data.get("entry_date") or value_date),
        value_date=_plain_date(value_date) if value_date else None,
        bank_reference=_reference_value(data.get("bank_reference")) or customer_reference,
        counterparty_name=details.name,
        counterparty_account=details.account,
        counterparty_bic=details.bic,
        reference=reference,
        description=details.description,
        fee=is_fee_code(code),
        transaction_code=code,
    )


def _plain_date(value: Any) -> dt.date:
    """A plain :class:`datetime.date` from the library's date subclass."""
    if value is None:
        raise StatementError(_("An entry of the statement has no booking date."))
    return dt.date(value.year, value.month, value.day)


def _reference_value(text: str | None) -> str | None:
    """A ``:61:`` reference, ``None`` for "NONREF" or empty."""
    value = none_if_empty(text)
    if value is None or value.upper() == "NONREF":
        return None
    return value


def parse_details(text: str | None) -> Details:
    """What the ``:86:`` ``text`` says: the ``?NN`` subfields when structured, else the
    whole text as the description; ``/RFB/.../TXT/...`` gives the reference."""
    lines = [line.strip("\r") for line in (text or "").split("\n")]
    joined = "".join(lines)
    if _STRUCTURED.match(joined):
        details = _structured_details(joined)
    else:
        details = Details(description=" ".join(line.strip() for line in lines))
    details.reference, details.description = split_rfb(details.description)
    return details


def _structured_details(text: str) -> Details:
    """The ``?NN`` subfields of a structured ``:86:`` text."""
    pieces = _SUBFIELD.split(text)
    fields: dict[str, str] = {}
    for number, value in zip(pieces[1::2], pieces[2::2], strict=True):
        fields[number] = fields.get(number, "") + value
    purpose = "".join(fields.get(number, "") for number in _PURPOSE_FIELDS)
    name = "".join(fields.get(number, "") for number in ("32", "33"))
    return Details(
        description=purpose or fields.get("00", ""),
        name=none_if_empty(name),
        account=compact_account(fields.get("38") or fields.get("31")),
        bic=compact_account(fields.get("30")),
    )


PARSER = StatementParser(
    name="mt940",
    label=_("SWIFT MT940 (text)"),
    detect=detect,
    parse=parse,
)
"""The MT940 parser."""
