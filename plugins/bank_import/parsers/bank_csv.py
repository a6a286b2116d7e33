"""The CSV account statement exports of Estonian banks: Swedbank, SEB and LHV.

Each bank's layout is described by a :class:`CsvLayout`: the header names of its columns
(in Estonian, and in English where the English export is known), how amounts and dates are
written and which columns tell the layouts apart. A file is detected only when its header
line is one of these layouts.

- **Swedbank**: ``;``-separated, decimal comma, dates ``dd.mm.yyyy``; every row has a row
  type ("Reatüüp"): 10 opening balance, 20 transaction, 82 turnover, 86 closing balance;
  "Deebet/Kreedit" is D or K.
- **SEB**: ``;``-separated, decimal comma, dates ``dd.mm.yyyy``; "Deebet/Kreedit (D/C)" is
  D or C; the transaction type "Tüüp" is e.g. MK (payment), TT (service fee).
- **LHV**: ``,``-separated, decimal point, ISO dates, amounts signed like D/C; besides the
  archive id it gives the account servicer's reference of each entry.

Several accounts or currencies in one file give one statement per (account, currency).
Bank charges are recognised by a fee type code, or (debits without a counterparty) by a
description starting like a charge ("Teenustasu", "Kuutasu"...).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.hookspecs.types import StatementParser
from plugins.bank_import.i18n import _
from plugins.bank_import.parsers.common import (
    check_currency,
    compact_account,
    decode_text,
    head_text,
    is_fee_code,
    looks_like_fee,
    none_if_empty,
    parse_amount,
    parse_date,
    split_rfb,
)
from plugins.bank_import.statements import ParsedEntry, ParsedStatement, StatementError

TRANSACTION_ROW = "20"
OPENING_BALANCE_ROW = "10"
CLOSING_BALANCE_ROW = "86"
"""Swedbank's row types ("Reatüüp") that are read; others (82, turnover) are skipped.
Exports without row types have transaction rows only."""
CREDIT_MARKS = ("C", "K")
DEBIT_MARKS = ("D",)


@dataclass(frozen=True)
class CsvLayout:
    """One bank's CSV export: its columns by field, and the fields that identify it.

    ``columns`` maps a field ("account", "amount"...) to the header names it has in the
    export's languages. The header must hold every field of ``required`` and none of
    ``excluded``.
    """

    name: str
    label: Any
    format: str
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    excluded: tuple[str, ...] = ()
    row_types: bool = False
    reference_fields: tuple[str, ...] = ("archive",)


@dataclass
class _Group:
    """The entries and balances of one (account, currency) while reading a file."""

    account: str
    currency: str
    entries: list[ParsedEntry] = field(default_factory=list)
    opening: Decimal | None = None
    closing: Decimal | None = None
    start: dt.date | None = None
    end: dt.date | None = None


SWEDBANK = CsvLayout(
    name="swedbank_csv",
    label=_("Swedbank account statement (CSV)"),
    format="swedbank-csv",
    columns={
        "account": ("Kliendi konto", "Client account"),
        "row_type": ("Reatüüp", "Row type"),
        "date": ("Kuupäev", "Date"),
        "name": ("Saaja/Maksja", "Beneficiary/Payer"),
        "counterparty_account": ("Saaja konto", "Beneficiary's account"),
        "description": ("Selgitus", "Details"),
        "amount": ("Summa", "Amount"),
        "currency": ("Valuuta", "Currency"),
        "direction": ("Deebet/Kreedit", "Debit/Credit"),
        "archive": ("Arhiveerimistunnus", "Transfer reference"),
        "type": ("Tehingu tüüp", "Transaction type"),
        "reference": ("Viitenumber", "Reference number"),
    },
    required=("account", "row_type", "date", "name", "description", "amount", "currency",
              "direction", "archive"),
    row_types=True,
)
"""Swedbank Estonia's statement export."""

SEB = CsvLayout(
    name="seb_csv",
    label=_("SEB account statement (CSV)"),
    format="seb-csv",
    columns={
        "account": ("Kliendi konto", "Account"),
        "date": ("Kuupäev", "Date"),
        "counterparty_account": ("Saaja/maksja konto", "Beneficiary's account"),
        "name": ("Saaja/maksja nimi", "Beneficiary's name"),
        "bic": ("Saaja panga kood", "BIC/SWIFT"),
        "type": ("Tüüp", "Type"),
        "direction": ("Deebet/Kreedit (D/C)", "(D/C)"),
        "amount": ("Summa", "Amount"),
        "reference": ("Viitenumber", "Reference no."),
        "archive": ("Arhiveerimistunnus", "Archive ID"),
        "description": ("Selgitus", "Description"),
        "currency": ("Valuuta", "Currency"),
    },
    required=("account", "date", "counterparty_account", "name", "type", "direction",
              "amount", "archive", "description", "currency"),
)
"""SEB Estonia's statement export."""

LHV = CsvLayout(
    name="lhv_csv",
    label=_("LHV account statement (CSV)"),
    format="lhv-csv",
    columns={
        "account": ("Kliendi konto", "Customer account no"),
        "date": ("Kuupäev", "Date"),
        "counterparty_account": ("Saaja/maksja konto", "Sender/receiver account"),
        "name": ("Saaja/maksja nimi", "Sender/receiver name"),
        "bic": ("Saaja/maksja panga BIC", "Sender/receiver bank BIC"),
        "direction": ("Deebet/Kreedit (D/C)", "Debit/Credit (D/C)"),
        "amount": ("Summa", "Amount"),
        "reference": ("Viitenumber", "Reference number"),
        "archive": ("Arhiveerimistunnus", "Archiving code"),
        "description": ("Selgitus", "Description"),
        "currency": ("Valuuta", "Currency"),
        "servicer_reference": ("Konto teenusepakkuja viide", "Account servicer reference"),
        "type": ("Tüüp", "Type"),
    },
    required=("account", "date", "counterparty_account", "name", "direction", "amount",
              "archive", "description", "currency"),
    excluded=("type",),
    reference_fields=("servicer_reference", "archive"),
)
"""LHV's statement export."""

LAYOUTS: tuple[CsvLayout, ...] = (SWEDBANK, SEB, LHV)
"""The known layouts, in the order of the parsers."""


# --- the header ---------------------------------------------------------------------------

def _delimiter(line: str) -> str:
    """The separator of a header line: ``;`` or ``,``, whichever occurs more."""
    return ";" if line.count(";") >= line.count(",") else ","


def _header(text: str) -> tuple[list[str], str]:
    """The cleaned names of the first line of ``text`` and its separator."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip("\r")
    delimiter = _delimiter(first)
    names = next(csv.reader([first], delimiter=delimiter), [])
    return [name.strip().strip("\ufeff").strip() for name in names], delimiter


def _column_map(layout: CsvLayout, names: list[str]) -> dict[str, int] | None:
    """Field -> column index when ``names`` is ``layout``'s header, else ``None``."""
    found: dict[str, int] = {}
    for field_name, aliases in layout.columns.items():
        for index, name in enumerate(names):
            if name in aliases:
                found[field_name] = index
                break
    if any(name not in found for name in layout.required):
        return None
    if any(name in found for name in layout.excluded):
        return None
    return found


def _detector(layout: CsvLayout) -> Callable[[bytes, str], bool]:
    """The ``detect`` function of ``layout``: its header on the first line."""
    def detect(data: bytes, filename: str) -> bool:
        try:
            names, _delimiter_used = _header(head_text(data))
        except csv.Error:
            return False
        return _column_map(layout, names) is not None

    detect.__doc__ = f"True when the first line is the header of the {layout.format} layout."
    return detect


# --- the rows -----------------------------------------------------------------------------

def _parser(layout: CsvLayout) -> Callable[[bytes, str], list[ParsedStatement]]:
    """The ``parse`` function of ``layout``."""
    def parse(data: bytes, filename: str) -> list[ParsedStatement]:
        return parse_layout(layout, data)

    parse.__doc__ = f"The statements of a {layout.format} file."
    return parse


def parse_layout(layout: CsvLayout, data: bytes) -> list[ParsedStatement]:
    """The statements, one per (account, currency), of a CSV export in ``layout``."""
    text = decode_text(data)
    names, delimiter = _header(text)
    columns = _column_map(layout, names)
    if columns is None:
        raise StatementError(_("The CSV file is not in the layout of this bank."))
    groups: dict[tuple[str, str], _Group] = {}
    for number, row in _data_rows(text, delimiter):
        if any(cell.strip() for cell in row):
            _read_row(layout, _Row(number, row, columns), groups)
    if not groups:
        raise StatementError(_("The file contains no statement."))
    return [_statement(layout, group) for group in groups.values()]


def _data_rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """The rows after the header with their line numbers (the header is row 1)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    try:
        return list(enumerate(reader, start=1))[1:]
    except csv.Error as error:
        raise StatementError(_("The CSV file cannot be read.")) from error


@dataclass
class _Row:
    """One data row with access to its cells by field name."""

    number: int
    cells: list[str]
    columns: dict[str, int]

    def get(self, name: str) -> str:
        """The stripped cell of field ``name`` ("" when the layout has no such column)."""
        index = self.columns.get(name)
        if index is None:
            return ""
        if index >= len(self.cells):
            raise StatementError(_("Row ${row} of the CSV file is incomplete.",
                                   mapping={"row": self.number}))
        return self.cells[index].strip()


def _group(row: _Row, groups: dict[tuple[str, str], _Group]) -> _Group:
    """The (account, currency) group of ``row``, created when first seen."""
    account = compact_account(row.get("account"))
    if not account:
        raise StatementError(_("Row ${row} of the CSV file names no account.",
                               mapping={"row": row.number}))
    currency = check_currency(row.get("currency"))
    return groups.setdefault((account, currency), _Group(account, currency))


def _is_credit(row: _Row) -> bool:
    """True for a credit mark (C, or K in Swedbank's Estonian export), False for D."""
    mark = row.get("direction").upper()
    if mark in CREDIT_MARKS:
        return True
    if mark in DEBIT_MARKS:
        return False
    raise StatementError(_("Unknown debit/credit mark ${value} in row ${row}.",
                           mapping={"value": mark or "-", "row": row.number}))


def _read_row(layout: CsvLayout, row: _Row, groups: dict[tuple[str, str], _Group]) -> None:
    """Add a transaction row to its group; keep the balances of Swedbank's balance rows."""
    row_type = row.get("row_type") if layout.row_types else TRANSACTION_ROW
    if row_type not in (TRANSACTION_ROW, OPENING_BALANCE_ROW, CLOSING_BALANCE_ROW):
        return
    group = _group(row, groups)
    if row_type == TRANSACTION_ROW:
        group.entries.append(_entry(layout, row, group.currency))
        return
    amount = abs(parse_amount(row.get("amount")))
    balance = amount if _is_credit(row) else -amount
    if row_type == OPENING_BALANCE_ROW:
        group.opening, group.start = balance, parse_date(row.get("date"))
    else:
        group.closing, group.end = balance, parse_date(row.get("date"))


def _entry(layout: CsvLayout, row: _Row, currency: str) -> ParsedEntry:
    """One transaction row."""
    credit = _is_credit(row)
    name = none_if_empty(row.get("name"))
    rfb_reference, description = split_rfb(row.get("description"))
    code = none_if_empty(row.get("type"))
    bank_reference = next((row.get(field_name) for field_name in layout.reference_fields
                           if row.get(field_name)), None)
    return ParsedEntry(
        amount=abs(parse_amount(row.get("amount"))),
        credit=credit,
        currency=currency,
        booking_date=parse_date(row.get("date")),
        bank_reference=bank_reference,
        counterparty_name=name,
        counterparty_account=compact_account(row.get("counterparty_account")),
        counterparty_bic=compact_account(row.get("bic")),
        reference=compact_account(row.get("reference")) or rfb_reference,
        description=description,
        fee=is_fee_code(code) or looks_like_fee(credit=credit, counterparty=name,
                                                description=description),
        transaction_code=code,
    )


def _statement(layout: CsvLayout, group: _Group) -> ParsedStatement:
    """The statement of one (account, currency) group."""
    dates = [entry.booking_date for entry in group.entries]
    return ParsedStatement(
        format=layout.format,
        account_iban=group.account,
        currency=group.currency,
        period_start=group.start or (min(dates) if dates else None),
        period_end=group.end or (max(dates) if dates else None),
        opening_balance=group.opening,
        closing_balance=group.closing,
        entries=group.entries,
    )


def parser_for(layout: CsvLayout) -> StatementParser:
    """The :class:`StatementParser` of a CSV layout."""
    return StatementParser(name=layout.name, label=layout.label,
                           detect=_detector(layout), parse=_parser(layout))


PARSERS: tuple[StatementParser, ...] = tuple(parser_for(layout) for layout in LAYOUTS)
"""One parser per bank layout: Swedbank, SEB, LHV."""
