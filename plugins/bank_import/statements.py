"""What a bank statement parser returns: statements and their entries, independent of format.

Every parser (camt.053/054, MT940, the banks' CSV exports, or a company plugin's own
format offered through the ``statement_parsers`` hook) turns a file into a list of
:class:`ParsedStatement`. The import (:mod:`plugins.bank_import.importing`) checks them
against the tenant's bank accounts, stores new entries and matches incoming payments.
A parser that cannot read a file raises :class:`StatementError` with a message for the
user; it never returns half a statement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


class StatementError(ValueError):
    """The file cannot be imported; ``message`` (a translation string) says why."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass
class ParsedEntry:
    """One booked entry of a statement: money in (``credit``) or out of the account.

    ``amount`` is always positive; ``credit`` tells the direction. ``bank_reference`` is
    the bank's own unique id of the entry (camt ``AcctSvcrRef``, the archive id of
    Estonian banks' exports), used to recognise the entry when a statement is imported
    again. ``reference`` is the creditor reference (Estonian 7-3-1 or RF) as the payer
    gave it; ``description`` the unstructured remittance text. ``fee`` marks the bank's
    own charges.
    """

    amount: Decimal
    credit: bool
    currency: str
    booking_date: dt.date
    value_date: dt.date | None = None
    bank_reference: str | None = None
    end_to_end_id: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    counterparty_bic: str | None = None
    reference: str | None = None
    description: str = ""
    fee: bool = False
    transaction_code: str | None = None


@dataclass
class ParsedStatement:
    """A statement (or camt.054 notification) of one account in one currency."""

    format: str
    account_iban: str
    currency: str
    statement_id: str | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    entries: list[ParsedEntry] = field(default_factory=list)
