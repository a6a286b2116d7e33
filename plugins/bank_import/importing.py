"""Importing a bank statement file: all of it or nothing, no entry twice, payments matched.

:func:`import_file` finds the parser that reads the file, checks every statement in it
against the tenant's bank accounts, stores the entries not seen before and matches the new
incoming payments (:mod:`plugins.bank_import.matching`). It works inside a savepoint: any
refusal or error leaves the database as it was.

An entry is recognised again by the bank's own reference for it or, when the bank gives
none, by a fingerprint of its contents (date, amount, direction, counterparty, reference,
text) and its position among identical entries, so importing the same statement twice, or
two statements that overlap, adds each payment once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import mark_changed, utcnow
from core.hookspecs.types import StatementParser
from plugins.bank_import.i18n import _
from plugins.bank_import.matching import (
    MatchSummary,
    Payment,
    compact_account,
    match_payments,
)
from plugins.bank_import.models import (
    FEE,
    MATCHED,
    OPEN,
    OUTGOING,
    BankAccount,
    BankTransaction,
    Statement,
)
from plugins.bank_import.settings import find_account, settings_of
from plugins.bank_import.statements import ParsedEntry, ParsedStatement, StatementError

MAX_FILE_BYTES = 20 * 1024 * 1024
"""20 MiB: a year of a busy account's statements fits easily."""
CHUNK = 500


@dataclass
class ImportResult:
    """What an import did: the statements stored and the entries counted."""

    statements: list[Statement] = field(default_factory=list)
    entries_in_file: int = 0
    entries_new: int = 0
    matching: MatchSummary = field(default_factory=MatchSummary)

    @property
    def duplicates(self) -> int:
        """Entries of the file that were already imported before."""
        return self.entries_in_file - self.entries_new


def parser_for(parsers: Sequence[StatementParser], data: bytes,
               filename: str) -> StatementParser:
    """The first parser that recognises the file; :class:`StatementError` when none does."""
    for parser in parsers:
        if parser.detect(data, filename):
            return parser
    raise StatementError(_(
        "The file is not a bank statement this program can read. Upload a camt.053 or "
        "camt.054 XML file, an MT940 file, or a Swedbank, SEB or LHV CSV statement."))


def entry_key(entry: ParsedEntry, occurrence: int) -> str:
    """The entry's identity on its account: the bank's reference, else a fingerprint."""
    if entry.bank_reference:
        return f"ref:{entry.bank_reference.strip()}"[:200]
    parts = (entry.booking_date.isoformat(), f"{entry.amount:.2f}", "C" if entry.credit else "D",
             compact_account(entry.counterparty_account) or "", entry.reference or "",
             " ".join(entry.description.split()), entry.end_to_end_id or "",
             (entry.counterparty_name or "").strip())
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"fp:{digest}:{occurrence}"


def _keys(entries: Sequence[ParsedEntry]) -> list[str]:
    """Each entry's key; identical entries of one statement are told apart by position."""
    seen: dict[str, int] = {}
    keys = []
    for entry in entries:
        base = entry_key(entry, 0)
        occurrence = seen.get(base, 0)
        seen[base] = occurrence + 1
        if occurrence == 0:
            keys.append(base)
        elif base.startswith("fp:"):
            keys.append(entry_key(entry, occurrence))
        else:
            keys.append(f"{base}#{occurrence}"[:200])
    return keys


def _accounts(dbsession: Session, statements: Sequence[ParsedStatement]) -> list[BankAccount]:
    accounts = []
    for statement in statements:
        iban = compact_account(statement.account_iban) or ""
        account = find_account(dbsession, iban, statement.currency, lock=True)
        if account is None:
            raise StatementError(_(
                "The statement is for account ${iban} in ${currency}, which is not a bank "
                "account of this company. Add it under Bank accounts first.",
                mapping={"iban": iban, "currency": statement.currency}))
        for entry in statement.entries:
            if entry.currency != statement.currency:
                raise StatementError(_(
                    "An entry of ${date} is in ${currency}, the account in ${account}.",
                    mapping={"date": entry.booking_date.isoformat(),
                             "currency": entry.currency, "account": statement.currency}))
        accounts.append(account)
    return accounts


def _known_keys(dbsession: Session, account_id: int, keys: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        known.update(dbsession.scalars(sa.select(BankTransaction.entry_key).where(
            BankTransaction.account_id == account_id,
            BankTransaction.entry_key.in_(keys[start:start + CHUNK]))))
    return known


def _row(entry: ParsedEntry, key: str, tenant_id: int, account_id: int,
         statement_id: int) -> dict[str, Any]:
    state = FEE if entry.fee else OPEN if entry.credit else OUTGOING
    return {
        "tenant_id": tenant_id, "account_id": account_id, "statement_id": statement_id,
        "entry_key": key, "bank_reference": (entry.bank_reference or None),
        "booking_date": entry.booking_date, "value_date": entry.value_date,
        "amount": entry.amount, "credit": entry.credit, "currency": entry.currency,
        "counterparty_name": (entry.counterparty_name or "")[:200] or None,
        "counterparty_account": (compact_account(entry.counterparty_account) or "")[:50]
        or None,
        "reference": (entry.reference or "")[:40] or None,
        "description": entry.description or "", "end_to_end_id": entry.end_to_end_id,
        "transaction_code": entry.transaction_code, "state": state, "confidence": 0,
    }


def _store(dbsession: Session, statement: ParsedStatement, account: BankAccount,
           filename: str, user_id: int | None,
           tenant_id: int) -> tuple[Statement, list[Payment]]:
    keys = _keys(statement.entries)
    known = _known_keys(dbsession, account.id, keys)
    record = Statement(
        account_id=account.id, file_name=filename[:255], file_format=statement.format[:40],
        statement_ref=(statement.statement_id or None), period_start=statement.period_start,
        period_end=statement.period_end, opening_balance=statement.opening_balance,
        closing_balance=statement.closing_balance, entries_in_file=len(statement.entries),
        created_by_id=user_id, created_at=utcnow())
    dbsession.add(record)
    dbsession.flush()
    rows = [_row(entry, key, tenant_id, account.id, record.id)
            for entry, key in zip(statement.entries, keys, strict=True) if key not in known]
    record.entries_new = len(rows)
    new_payments: list[Payment] = []
    table = BankTransaction.__table__
    for start in range(0, len(rows), CHUNK):
        chunk = {row["entry_key"]: row for row in rows[start:start + CHUNK]}
        result = dbsession.execute(
            # The table, not the entity: the ORM splits rows by their None values into
            # one INSERT each; Core sends one multi-row INSERT per chunk.
            sa.insert(table).returning(table.c.id, table.c.entry_key), list(chunk.values()))
        for inserted in result:
            row = chunk[inserted.entry_key]
            if row["state"] == OPEN:
                new_payments.append(Payment(
                    inserted.id, row["booking_date"], row["amount"], row["reference"],
                    row["description"], row["counterparty_name"], row["counterparty_account"],
                    None))
    mark_changed(dbsession)
    return record, new_payments


def import_file(dbsession: Session, parsers: Sequence[StatementParser], filename: str,
                data: bytes, *, tenant_id: int, user_id: int | None) -> ImportResult:
    """Import the statement file ``data``: every statement in it or none (raises
    :class:`StatementError` with the reason, leaving the database unchanged)."""
    if not data.strip():
        raise StatementError(_("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise StatementError(_("The file is larger than 20 MB; split the statement."))
    parser = parser_for(parsers, data, filename)
    statements = parser.parse(data, filename)
    return import_statements(dbsession, statements, filename, tenant_id=tenant_id,
                             user_id=user_id)


def import_statements(dbsession: Session, statements: Sequence[ParsedStatement],
                      filename: str, *, tenant_id: int, user_id: int | None) -> ImportResult:
    """Store the parsed ``statements`` of one file and match their new incoming payments;
    all or nothing (see :func:`import_file`)."""
    if not any(s.entries for s in statements):
        raise StatementError(_("The statement has no booked entries: nothing to import."))
    result = ImportResult(entries_in_file=sum(len(s.entries) for s in statements))
    threshold = settings_of(dbsession).auto_apply_threshold
    with dbsession.begin_nested():
        accounts = _accounts(dbsession, statements)
        payments: list[Payment] = []
        for statement, account in zip(statements, accounts, strict=True):
            record, new_payments = _store(dbsession, statement, account, filename, user_id,
                                          tenant_id)
            result.statements.append(record)
            result.entries_new += record.entries_new
            payments.extend(new_payments)
        payments.sort(key=lambda p: (p.booking_date, p.id))
        result.matching = match_payments(dbsession, payments, threshold, user_id=user_id)
        dbsession.flush()
        for record in result.statements:
            record.matched_auto = dbsession.scalar(
                sa.select(sa.func.count()).select_from(BankTransaction).where(
                    BankTransaction.statement_id == record.id,
                    BankTransaction.state == MATCHED)) or 0
        dbsession.flush()
    return result
