"""ISO 20022 camt.053 (statement) and camt.054 (debit/credit notification), versions
001.02 to 001.13.

Elements are matched by their local names, so every version's namespace is read the same
way; the differences between versions that matter here are handled explicitly: the entry
status (``<Sts>BOOK</Sts>`` in early versions, ``<Sts><Cd>BOOK</Cd></Sts>`` later), the
party name (``Dbtr/Nm``, from 001.08 ``Dbtr/Pty/Nm``), the agent's ``BIC`` / ``BICFI``,
the creditor reference (``CdtrRefInf/Ref``, in early files ``CdtrRefInf/CdtrRef``) and the
amount of a transaction of a batch (``TxDtls/Amt`` or ``TxDtls/AmtDtls/TxAmt/Amt``).
Only booked entries are returned; pending and information-only entries are skipped.

Each statement, entry and transaction is read through a :class:`_Index` of its elements
by path ("RltdPties/Dbtr/Nm"), built in one pass over its subtree: a large statement is
read in a fraction of the time repeated ``find`` calls would take.

XML is read only through :func:`core.safe_xml.parse_xml`, which refuses DTDs and entities.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from decimal import Decimal

from lxml import etree

from core.hookspecs.types import StatementParser
from core.safe_xml import DEFAULT_MAX_BYTES, MalformedXml, UnsafeXml, parse_xml
from plugins.bank_import.i18n import _
from plugins.bank_import.parsers.common import (
    FEE_SUB_FAMILY_CODES,
    check_currency,
    compact_account,
    end_to_end_id,
    head_text,
    is_fee_code,
    none_if_empty,
    parse_amount,
    parse_date,
    split_rfb,
)
from plugins.bank_import.statements import ParsedEntry, ParsedStatement, StatementError

MESSAGE_ROOTS = {"BkToCstmrStmt": ("camt.053", "Stmt"),
                 "BkToCstmrDbtCdtNtfctn": ("camt.054", "Ntfctn")}
"""Message element below ``Document`` -> (message name, element of one statement)."""

OPENING_BALANCE_CODES = ("OPBD", "PRCD")
CLOSING_BALANCE_CODES = ("CLBD",)
BOOKED = "BOOK"

_NAMESPACE_VERSION = re.compile(r"camt\.05[34]\.001\.\d{2}")
_DETECT = re.compile(
    r"camt\.05[34]\.001\.\d{2}|<(?:\w+:)?(?:BkToCstmrStmt|BkToCstmrDbtCdtNtfctn)\b")


# --- elements by path of local names ------------------------------------------------------

def _local(element: etree._Element) -> str:
    """The local name of ``element`` (its tag without the namespace)."""
    return element.tag.rpartition("}")[2]


class _Index:
    """The descendants of an element by their path of local names ("Acct/Id/IBAN").

    Elements named in ``stop`` are indexed but not entered (an entry's transactions, a
    statement's entries are indexed on their own). Elements of one path are kept in
    document order.
    """

    def __init__(self, element: etree._Element, stop: tuple[str, ...] = ()) -> None:
        self.element = element
        self.paths: dict[str, list[etree._Element]] = {}
        queue: deque[tuple[etree._Element, str]] = deque([(element, "")])
        while queue:
            parent, prefix = queue.popleft()
            for child in parent.iterchildren(etree.Element):
                name = _local(child)
                path = prefix + name
                self.paths.setdefault(path, []).append(child)
                if name not in stop:
                    queue.append((child, path + "/"))

    def all(self, path: str) -> list[etree._Element]:
        """Every element at ``path``."""
        return self.paths.get(path, [])

    def first(self, path: str) -> etree._Element | None:
        """The first element at ``path``, ``None`` when there is none."""
        found = self.paths.get(path)
        return found[0] if found else None

    def text(self, *paths: str) -> str | None:
        """The stripped text of the first of ``paths`` present and not empty."""
        for path in paths:
            element = self.first(path)
            value = none_if_empty(element.text) if element is not None else None
            if value is not None:
                return value
        return None


# --- detection and the document ---------------------------------------------------------

def detect(data: bytes, filename: str) -> bool:
    """True when the first bytes of ``data`` name a camt.053/054 namespace or message."""
    return bool(_DETECT.search(head_text(data)))


def _read_document(data: bytes) -> etree._Element:
    """The root element of the XML ``data``, with the XML errors turned into messages."""
    if len(data) > DEFAULT_MAX_BYTES:
        raise StatementError(_("The file is too large to be a bank statement."))
    try:
        return parse_xml(data).getroot()
    except UnsafeXml as error:
        raise StatementError(_("The file contains a document type declaration or entities, "
                               "which are refused for safety.")) from error
    except MalformedXml as error:
        raise StatementError(_("The file is not well-formed XML; it may be truncated.")) \
            from error


def _message(root: etree._Element) -> tuple[etree._Element, str, str]:
    """The message element, the message name ("camt.053") and the statement element name."""
    if _local(root) == "Document":
        for child in root.iterchildren(etree.Element):
            if _local(child) in MESSAGE_ROOTS:
                name, statement_tag = MESSAGE_ROOTS[_local(child)]
                return child, name, statement_tag
    raise StatementError(_("The XML file is not a camt.053 or camt.054 bank statement."))


def _format_name(root: etree._Element, message: str) -> str:
    """The format with its version from the namespace, e.g. "camt.053.001.02"."""
    found = _NAMESPACE_VERSION.search(etree.QName(root).namespace or "")
    return found[0] if found else message


def parse(data: bytes, filename: str) -> list[ParsedStatement]:
    """The statements (camt.053) or notifications (camt.054) in ``data``."""
    root = _read_document(data)
    message, name, statement_tag = _message(root)
    format_name = _format_name(root, name)
    statements = [_statement(element, format_name)
                  for element in message.iterchildren(etree.Element)
                  if _local(element) == statement_tag]
    if not statements:
        raise StatementError(_("The file contains no statement."))
    return statements


# --- a statement ------------------------------------------------------------------------

def _statement(element: etree._Element, format_name: str) -> ParsedStatement:
    """One ``Stmt`` / ``Ntfctn`` with its balances and booked entries."""
    index = _Index(element, stop=("Ntry", "Bal"))
    iban = compact_account(index.text("Acct/Id/IBAN"))
    if not iban:
        raise StatementError(_("The statement has no account IBAN (Acct/Id/IBAN)."))
    entries = [parsed for entry in index.all("Ntry") for parsed in _entry(entry)]
    balances = [_Index(balance) for balance in index.all("Bal")]
    start, end = index.text("FrToDt/FrDtTm"), index.text("FrToDt/ToDtTm")
    return ParsedStatement(
        format=format_name,
        account_iban=iban,
        currency=_statement_currency(index, balances, entries),
        statement_id=index.text("Id"),
        period_start=parse_date(start) if start else None,
        period_end=parse_date(end) if end else None,
        opening_balance=_balance(balances, OPENING_BALANCE_CODES),
        closing_balance=_balance(balances, CLOSING_BALANCE_CODES),
        entries=entries,
    )


def _statement_currency(index: _Index, balances: list[_Index],
                        entries: list[ParsedEntry]) -> str:
    """The account's currency (``Acct/Ccy``), else that of the first entry or balance."""
    code = index.text("Acct/Ccy")
    if code is None and entries:
        code = entries[0].currency
    if code is None and balances and balances[0].first("Amt") is not None:
        code = balances[0].first("Amt").get("Ccy")
    if code is None:
        raise StatementError(_("The statement does not say its currency."))
    return check_currency(code)


def _balance(balances: list[_Index], codes: tuple[str, ...]) -> Decimal | None:
    """The signed amount of the first balance whose type is in ``codes`` (in that order of
    preference), ``None`` when the statement has none."""
    for code in codes:
        for balance in balances:
            if (balance.text("Tp/CdOrPrtry/Cd") or "").upper() == code:
                amount = _amount(balance.first("Amt"))
                return amount if _is_credit(balance) else -amount
    return None


def _amount(element: etree._Element | None) -> Decimal:
    """A non-negative ``Amt`` value; its ``Ccy`` is checked by :func:`_currency_of`."""
    if element is None:
        raise StatementError(_("An entry of the statement has no amount."))
    amount = parse_amount(element.text)
    if amount < 0:
        raise StatementError(_("Invalid amount ${value} in the statement.",
                               mapping={"value": element.text}))
    return amount


def _currency_of(element: etree._Element | None) -> str:
    """The checked ``Ccy`` attribute of an ``Amt`` element."""
    if element is None:
        raise StatementError(_("An entry of the statement has no amount."))
    return check_currency(element.get("Ccy"))


def _is_credit(index: _Index) -> bool:
    """True for ``CdtDbtInd`` CRDT, False for DBIT; anything else is an error."""
    indicator = (index.text("CdtDbtInd") or "").upper()
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(_("Unknown debit/credit indicator ${value} in the statement.",
                               mapping={"value": indicator or "-"}))
    return indicator == "CRDT"


# --- an entry ---------------------------------------------------------------------------

def _status(index: _Index) -> str:
    """The entry status: ``Sts/Cd`` (later versions) or the ``Sts`` text (early ones)."""
    if index.first("Sts") is None:
        return BOOKED  # the camt.054 of some banks omits it for booked notifications
    return (index.text("Sts/Cd", "Sts/Prtry", "Sts") or "").upper()


def _date(index: _Index, element: str) -> dt.date | None:
    """The date of a ``BookgDt`` / ``ValDt`` element (``Dt`` or ``DtTm``)."""
    value = index.text(f"{element}/Dt", f"{element}/DtTm")
    return parse_date(value) if value else None


def _entry(entry: etree._Element) -> list[ParsedEntry]:
    """The booked entries of one ``Ntry``: one, or one per ``TxDtls`` of a batch."""
    index = _Index(entry, stop=("TxDtls",))
    if _status(index) != BOOKED:
        return []
    value_date = _date(index, "ValDt")
    booking_date = _date(index, "BookgDt") or value_date
    if booking_date is None:
        raise StatementError(_("An entry of the statement has no booking date."))
    base = ParsedEntry(
        amount=_amount(index.first("Amt")), credit=_is_credit(index),
        currency=_currency_of(index.first("Amt")), booking_date=booking_date,
        value_date=value_date, bank_reference=index.text("AcctSvcrRef"),
        description=index.text("AddtlNtryInf") or "",
    )
    _apply_code(base, index)
    details = [_Index(detail) for detail in index.all("NtryDtls/TxDtls")]
    if not details:
        return [base]
    if len(details) == 1:
        return [_transaction(base, details[0])]
    return _batch(base, details)


def _batch(base: ParsedEntry, details: list[_Index]) -> list[ParsedEntry]:
    """One entry per transaction of a batch booking, each with its own amount and a bank
    reference of its own; the amounts must add up to the booked total."""
    parsed: list[ParsedEntry] = []
    for number, detail in enumerate(details, start=1):
        amount = detail.first("Amt")
        if amount is None:
            amount = detail.first("AmtDtls/TxAmt/Amt")
        if amount is None:
            raise StatementError(_("A transaction of batch entry ${ref} has no amount.",
                                   mapping={"ref": base.bank_reference or "-"}))
        if _currency_of(amount) != base.currency:
            raise StatementError(_("A transaction of batch entry ${ref} is in another "
                                   "currency than the entry.",
                                   mapping={"ref": base.bank_reference or "-"}))
        own = ParsedEntry(**{**vars(base), "amount": _amount(amount)})
        if detail.first("CdtDbtInd") is not None:
            own.credit = _is_credit(detail)
        entry = _transaction(own, detail)
        entry.bank_reference = _batch_reference(base.bank_reference, detail, number)
        parsed.append(entry)
    _check_batch_total(base, parsed)
    return parsed


def _batch_reference(entry_reference: str | None, detail: _Index,
                     number: int) -> str | None:
    """A bank reference of its own for the ``number``-th transaction of a batch: its
    ``Refs/AcctSvcrRef`` when that differs from the entry's, else "<entry ref>/<number>"."""
    own = detail.text("Refs/AcctSvcrRef")
    if own and own != entry_reference:
        return own
    return f"{entry_reference}/{number}" if entry_reference else None


def _check_batch_total(base: ParsedEntry, parsed: list[ParsedEntry]) -> None:
    """Raise when the signed amounts of a batch's transactions differ from its total."""
    def signed(entry: ParsedEntry) -> Decimal:
        return entry.amount if entry.credit else -entry.amount

    if sum((signed(entry) for entry in parsed), Decimal(0)) != signed(base):
        raise StatementError(_("The amounts of batch entry ${ref} do not add up to its total.",
                               mapping={"ref": base.bank_reference or "-"}))


def _apply_code(entry: ParsedEntry, index: _Index) -> None:
    """Set ``transaction_code`` ("PMNT/RCDT/ESCT", else the proprietary code) and ``fee``
    from the ``BkTxCd`` of an entry or a transaction, when it has one."""
    if index.first("BkTxCd") is None:
        return
    domain = index.text("BkTxCd/Domn/Cd")
    family = (index.text("BkTxCd/Domn/Fmly/Cd") or "").upper()
    sub_family = (index.text("BkTxCd/Domn/Fmly/SubFmlyCd") or "").upper()
    proprietary = index.text("BkTxCd/Prtry/Cd")
    if domain and family:
        entry.transaction_code = "/".join(part for part in (domain, family, sub_family) if part)
    else:
        entry.transaction_code = proprietary
    entry.fee = (sub_family in FEE_SUB_FAMILY_CODES or family in FEE_SUB_FAMILY_CODES
                 or is_fee_code(proprietary))


def _transaction(base: ParsedEntry, detail: _Index) -> ParsedEntry:
    """``base`` completed from one ``TxDtls``: references, counterparty, remittance."""
    entry = ParsedEntry(**vars(base))
    entry.bank_reference = base.bank_reference or detail.text("Refs/AcctSvcrRef")
    entry.end_to_end_id = end_to_end_id(detail.text("Refs/EndToEndId"))
    _apply_code(entry, detail)
    _apply_counterparty(entry, detail)
    _apply_remittance(entry, detail)
    if not entry.description:
        entry.description = detail.text("AddtlTxInf") or base.description
    return entry


def _apply_counterparty(entry: ParsedEntry, detail: _Index) -> None:
    """The debtor of a credit, the creditor of a debit: name, account and bank's BIC."""
    party, account, agent = ("Dbtr", "DbtrAcct", "DbtrAgt") if entry.credit else \
        ("Cdtr", "CdtrAcct", "CdtrAgt")
    entry.counterparty_name = detail.text(f"RltdPties/{party}/Nm", f"RltdPties/{party}/Pty/Nm")
    entry.counterparty_account = compact_account(detail.text(
        f"RltdPties/{account}/Id/IBAN", f"RltdPties/{account}/Id/Othr/Id"))
    entry.counterparty_bic = compact_account(detail.text(
        f"RltdAgts/{agent}/FinInstnId/BIC", f"RltdAgts/{agent}/FinInstnId/BICFI"))


def _apply_remittance(entry: ParsedEntry, detail: _Index) -> None:
    """Reference and description from ``RmtInf``: ``Strd/CdtrRefInf/Ref`` and the
    ``Ustrd`` lines, or an Estonian ``/RFB/<ref>/TXT/<text>`` in the unstructured text."""
    if detail.first("RmtInf") is None:
        return
    lines = (none_if_empty(line.text) for line in detail.all("RmtInf/Ustrd"))
    structured = detail.text("RmtInf/Strd/CdtrRefInf/Ref", "RmtInf/Strd/CdtrRefInf/CdtrRef")
    rfb_reference, description = split_rfb(" ".join(line for line in lines if line))
    entry.reference = compact_account(structured) or rfb_reference
    entry.description = description


PARSER = StatementParser(
    name="camt",
    label=_("ISO 20022 camt.053 / camt.054 (XML)"),
    detect=detect,
    parse=parse,
)
"""The camt.053 / camt.054 parser."""
