"""Helpers shared by the statement parsers: amounts, dates, currencies, accounts, references.

Every helper that reads a value from a file raises :class:`StatementError` with a message
for the user when the value is not valid, so a parser can call them without its own
error handling.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import list_currencies
from stdnum import iso11649

from plugins.bank_import.i18n import _
from plugins.bank_import.statements import ParsedEntry, StatementError

FEE_SUB_FAMILY_CODES = frozenset({"CHRG", "FEES", "COMM", "COMI", "COMT"})
"""ISO 20022 bank transaction (sub)family codes of the bank's own charges and commissions."""

FEE_CODES = frozenset({
    "CHRG", "FEE", "FEES", "COMM", "COMI", "COMT",
    "NCHG", "FCHG", "NCOM", "FCOM",  # MT940 :61: transaction types "charges", "commission"
    "TT",  # SEB Estonia CSV "Tüüp": teenustasu (service fee)
})
"""Transaction type codes (proprietary camt codes, MT940 types, CSV types) meaning fees."""

FEE_TEXT_PREFIXES = ("teenustasu", "hooldustasu", "kuutasu", "komisjonitasu", "service fee",
                     "monthly fee", "commission")
"""Start of the description of a bank's own charge in exports that carry no fee code."""

NOT_PROVIDED = "NOTPROVIDED"
"""The end-to-end id a payer's bank sends when the payer gave none."""

_WHITESPACE = re.compile(r"\s+")
_RFB = re.compile(r"/RFB/([^/]*)(?:/TXT/(.*))?", re.DOTALL)
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_REFERENCE_WEIGHTS = (7, 3, 1)


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    """The ISO 4217 codes babel knows (current and historic)."""
    return frozenset(list_currencies())


def check_currency(code: str | None) -> str:
    """``code`` as an upper-case ISO 4217 currency code; raises :class:`StatementError`
    naming the code when it is not one."""
    value = (code or "").strip().upper()
    if len(value) != 3 or value not in currency_codes():
        raise StatementError(_("Unknown currency ${code} in the statement.",
                               mapping={"code": value or "-"}))
    return value


def parse_amount(text: str | None) -> Decimal:
    """An amount written with a decimal point or comma ("1234.56", "1 234,56", "1.234,56",
    "-12,5") as a Decimal; raises :class:`StatementError` when it is not a number."""
    value = _WHITESPACE.sub("", (text or "").replace("\u00a0", ""))
    if "," in value and "." in value:
        # The separator that comes last is the decimal one; the other groups thousands.
        if value.rfind(",") > value.rfind("."):
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
    else:
        value = value.replace(",", ".")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or not value:
        raise StatementError(_("Invalid amount ${value} in the statement.",
                               mapping={"value": (text or "").strip() or "-"}))
    return amount


def parse_date(text: str | None) -> dt.date:
    """A date written as "2026-03-02" (optionally followed by a time, as in an ISO
    date-time) or "02.03.2026"; raises :class:`StatementError` otherwise."""
    value = (text or "").strip()
    try:
        iso = _ISO_DATE.match(value)
        if iso:
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
        dotted = _DOTTED_DATE.fullmatch(value)
        if dotted:
            return dt.date(int(dotted[3]), int(dotted[2]), int(dotted[1]))
    except ValueError:
        pass
    raise StatementError(_("Invalid date ${value} in the statement.",
                           mapping={"value": value or "-"}))


def compact_account(text: str | None) -> str | None:
    """An account number or IBAN without spaces, in upper case; ``None`` when empty."""
    value = _WHITESPACE.sub("", text or "").upper()
    return value or None


def clean_text(text: str | None) -> str:
    """``text`` with runs of whitespace (line breaks included) turned into one space."""
    return _WHITESPACE.sub(" ", text or "").strip()


def none_if_empty(text: str | None) -> str | None:
    """``text`` stripped, or ``None`` when nothing is left."""
    value = clean_text(text)
    return value or None


def split_rfb(text: str | None) -> tuple[str | None, str]:
    """The reference and the description of a remittance text in the Estonian form
    ``/RFB/<reference>/TXT/<text>``.

    Returns ``(None, text)`` when the text carries no ``/RFB/``. The reference is returned
    without spaces; the description is the ``/TXT/`` part (and any text before ``/RFB/``).
    """
    value = clean_text(text)
    found = _RFB.search(value)
    if not found:
        return None, value
    reference = compact_account(found[1])
    description = clean_text(f"{value[:found.start()]} {found[2] or ''}")
    return reference, description


def is_valid_estonian_reference(text: str | None) -> bool:
    """True when ``text`` is an Estonian reference number: 2-20 digits, the last one the
    7-3-1 check digit of the others."""
    value = compact_account(text) or ""
    if not value.isdigit() or not 2 <= len(value) <= 20:
        return False
    digits = reversed(value[:-1])
    total = sum(int(digit) * _REFERENCE_WEIGHTS[i % 3] for i, digit in enumerate(digits))
    return (10 - total % 10) % 10 == int(value[-1])


def is_valid_reference(text: str | None) -> bool:
    """True when ``text`` is an Estonian (7-3-1) or an RF (ISO 11649) creditor reference."""
    value = compact_account(text)
    return bool(value) and (is_valid_estonian_reference(value) or iso11649.is_valid(value))


def end_to_end_id(text: str | None) -> str | None:
    """The end-to-end id, or ``None`` when missing or "NOTPROVIDED"."""
    value = none_if_empty(text)
    if value is None or value.upper() == NOT_PROVIDED:
        return None
    return value


def is_fee_code(code: str | None) -> bool:
    """True when a transaction type code (the last part of "ACMT/MDOP/CHRG", an MT940 type
    like "NCHG", a CSV type like "TT") means the bank's charges."""
    value = (code or "").strip().upper()
    return bool(value) and (value in FEE_CODES or value.rsplit("/", 1)[-1] in FEE_CODES)


def looks_like_fee(*, credit: bool, counterparty: str | None, description: str) -> bool:
    """True for a debit without a counterparty whose text starts like a bank charge
    ("Teenustasu...", "Kuutasu..."): used for exports that carry no fee code."""
    if credit or counterparty:
        return False
    return clean_text(description).lower().startswith(FEE_TEXT_PREFIXES)


def decode_text(data: bytes) -> str:
    """The text of a file in UTF-8 (with or without a byte order mark), else in
    Windows-1257 (Baltic); raises :class:`StatementError` when it is neither."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1257")
    except UnicodeDecodeError as error:
        raise StatementError(_("The file is neither UTF-8 nor Windows-1257 text.")) from error


def head_text(data: bytes, size: int = 4096) -> str:
    """The first ``size`` bytes of ``data`` as text, for cheap format detection (never
    fails: bytes that are not UTF-8 are read as Windows-1257 or replaced)."""
    head = data[:size]
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return head.decode("cp1257", errors="replace")


def period_of(entries: list[ParsedEntry]) -> tuple[dt.date | None, dt.date | None]:
    """The first and the last booking date of ``entries`` (``None, None`` when empty)."""
    if not entries:
        return None, None
    dates = [entry.booking_date for entry in entries]
    return min(dates), max(dates)

