"""Matching incoming payments to invoices (B1), each proposal with a confidence and a reason.

The rules, in order (the first that finds something wins):

1. **Reference.** The payment's reference (7-3-1 or RF; from the structured field, from
   ``/RFB/`` in the text, or a valid reference number written in the text) is an invoice's
   reference, or a client's reference (per-client references).
2. **Invoice numbers** written in the payment's description.
3. **Payer account or name** known for a client: the client's IBAN in the register, or
   earlier payments from that account matched to the client. An account that has paid for
   several clients is never enough alone: the payer's name must then point to one of them.

The amount decides how the money is split: the whole open amount of one invoice, several
invoices that add up to it, a partial payment, or an overpayment whose surplus stays with
the client as prepayment. Proposals at or above the tenant's threshold are applied at once,
the rest wait on the work list with the proposal as a suggestion.

Everything the rules need is read in a few set-based queries for the whole statement
(references, invoice numbers, accounts and names that occur in it, then the open invoices
of the clients found), never by scanning every open invoice.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.audit import record_bulk
from core.db import mark_changed, utcnow
from plugins.bank_import.allocations import Part
from plugins.bank_import.i18n import _
from plugins.bank_import.models import MATCHED, OPEN, Allocation, BankTransaction
from plugins.crm_register.models import Client, ClientSearchToken
from plugins.crm_register.search import fold
from plugins.invoicing import references
from plugins.invoicing.invoices import OPEN_STATUSES, add_paid_amounts
from plugins.invoicing.models import ClientReference, Invoice

ZERO = Decimal("0.00")
CHUNK = 500
"""Values per ``IN (...)`` list."""
MAX_COMBINATION_INVOICES = 20
"""Open invoices of a client searched for combinations of two or three (oldest first)."""

_TOKEN_SPLIT = re.compile(r"[\s,;:()\[\]#\"'!?]+")
_DIGIT_GROUPS = re.compile(r"(?<!\d)\d[\d ]{3,24}\d(?!\d)")
_NAMED_REFERENCE = re.compile(
    r"\b(?:viitenumber|viitenr|viide|ref(?:erence)?)\.?\s*:?\s*(\d[\d ]{0,24}\d)(?!\d)",
    re.IGNORECASE)
"""A reference named as one ("viitenumber 3051 7"): short ones count too."""
LEGAL_FORMS = ("ou", "as", "mtu", "fie", "sa", "tu", "uu", "oy", "ab", "sia", "uab", "ltd",
               "gmbh")
"""Legal forms payers put before or after the name ("OU PUIDUKOJA", "Puidukoja OÜ")."""

SOURCES: dict[str, Any] = {
    "ref_invoice": _("reference ${ref} = invoice ${number}"),
    "ref_client": _("reference ${ref} = client ${client}"),
    "number": _("invoice number ${numbers} in the description"),
    "iban": _("payer account ${iban} is client ${client}'s"),
    "iban_name": _("payer account ${iban} has paid for several clients; the name ${name} "
                   "is client ${client}"),
    "name": _("payer name ${name} = client ${client}"),
    "iban_several": _("payer account ${iban} has paid for several clients: ${clients}"),
}
"""What identified the invoice or client (the first part of a reason)."""

OUTCOMES: dict[str, Any] = {
    "exact": _("amount = invoice ${numbers}"),
    "combination": _("amount = invoices ${numbers} together"),
    "partial": _("partial payment, ${rest} of invoice ${numbers} stays open"),
    "over": _("${extra} more than invoice ${numbers}: kept as the client's prepayment"),
    "oldest": _("no invoice of this amount: oldest invoices first (${numbers})"),
    "prepayment": _("no open invoice: kept as the client's prepayment"),
    "paid": _("invoice ${numbers} is already paid: kept as the client's prepayment"),
    "choose": _("choose the client"),
}
"""What the amount means (the second part of a reason)."""

# Confidence by (source, outcome); a missing pair falls back to the outcome's row.
CONFIDENCE: dict[tuple[str, str], int] = {
    ("ref_invoice", "exact"): 100, ("ref_invoice", "partial"): 95,
    ("ref_invoice", "over"): 90, ("ref_invoice", "paid"): 60,
    ("ref_client", "exact"): 95, ("ref_client", "combination"): 90,
    ("ref_client", "over"): 85, ("ref_client", "prepayment"): 85,
    ("ref_client", "oldest"): 80, ("ref_client", "partial"): 80,
    ("number", "exact"): 90, ("number", "combination"): 90, ("number", "partial"): 80,
    ("number", "over"): 75, ("number", "paid"): 50,
    ("iban", "exact"): 80, ("iban", "combination"): 75, ("iban", "oldest"): 50,
    ("iban", "prepayment"): 50, ("iban", "over"): 50,
    ("iban_name", "exact"): 70, ("iban_name", "combination"): 65, ("iban_name", "oldest"): 40,
    ("iban_name", "prepayment"): 40, ("iban_name", "over"): 40,
    ("name", "exact"): 70, ("name", "combination"): 65, ("name", "oldest"): 40,
    ("name", "prepayment"): 40, ("name", "over"): 40,
    ("iban_several", "choose"): 20,
}
AMOUNT_PARAMS = ("rest", "extra")
"""Reason parameters that are amounts (shown in the user's money format)."""
PAYER_BONUS = 5
"""Added (up to 95) when an invoice number's client is also the payer's known client."""


def reason_text(request_or_localizer: Any, reason: dict[str, Any] | None) -> str:
    """The reason of a proposal in the user's language ("reference 1213 1295 2 = invoice
    0042; ..."); empty when there is none."""
    if not reason:
        return ""
    translate = request_or_localizer.translate
    params = dict(reason.get("params", {}))
    format_money = getattr(request_or_localizer, "format_money", None)
    for key in AMOUNT_PARAMS:
        if format_money is not None and params.get(key):
            params[key] = format_money(Decimal(params[key]))
    texts = []
    for table, key in ((SOURCES, reason.get("source")), (OUTCOMES, reason.get("outcome"))):
        message = table.get(key or "")
        if message is not None and not (table is OUTCOMES and key == "exact"
                                        and reason.get("source") == "ref_invoice"):
            texts.append(translate(_(message, mapping=params)))
    return "; ".join(texts)


def reference_forms(text: str | None) -> tuple[str | None, set[str]]:
    """The key of a payment or invoice reference (the Estonian number, or an RF reference's
    body) and every stored form it may have (Estonian and RF)."""
    if not text:
        return None, set()
    value = references.compact(text)
    if references.is_valid_rf(value):
        body = value[4:]
        forms = {value, body}
        if references.is_valid_estonian(body):
            forms.add(body)
        return body, forms
    if references.is_valid_estonian(value):
        return value, {value, references.rf_from_estonian(value)}
    return None, set()


def stored_reference_key(reference: str) -> str:
    """The key of a reference stored on an invoice (validated when it was confirmed, so
    only the RF prefix needs taking off)."""
    value = references.compact(reference)
    return value[4:] if value.startswith("RF") else value


def references_in_text(text: str) -> list[str]:
    """Valid Estonian reference numbers written in free text: any length after a word
    naming it ("viitenumber 3051 7"), else from six digits ("1213 1295 2"), so that short
    numbers of other kinds are not taken for references."""
    found = [m.group(1).replace(" ", "") for m in _NAMED_REFERENCE.finditer(text or "")]
    found = [value for value in found if references.is_valid_estonian(value)]
    for match in _DIGIT_GROUPS.finditer(text or ""):
        value = match.group().replace(" ", "")
        if 6 <= len(value) <= 20 and references.is_valid_estonian(value) \
                and value not in found:
            found.append(value)
    return found


def text_tokens(text: str) -> set[str]:
    """Words of a payment description that could be invoice numbers (they have a digit)."""
    tokens = set()
    for token in _TOKEN_SPLIT.split(text or ""):
        token = token.strip(".-/").upper()
        for prefix in ("NR.", "NR", "ARVE"):
            if token.startswith(prefix) and len(token) > len(prefix):
                token = token[len(prefix):].lstrip(".-")
        if len(token) >= 3 and any(ch.isdigit() for ch in token):
            tokens.add(token)
    return tokens


def name_variants(name: str | None) -> set[str]:
    """The payer's name folded, and with a legal form moved from the front to the end."""
    folded = fold(name)
    if not folded:
        return set()
    variants = {folded}
    words = folded.split()
    if len(words) > 1 and words[0] in LEGAL_FORMS:
        variants.add(" ".join([*words[1:], words[0]]))
    if len(words) > 1 and words[-1] in LEGAL_FORMS:
        variants.add(" ".join(words[:-1]))
    return variants


def compact_account(account: str | None) -> str | None:
    """An account number without spaces, upper case."""
    value = "".join((account or "").split()).upper()
    return value or None


@dataclass
class Payment:
    """An incoming payment as the rules see it; ``amount`` is what is still unallocated."""

    id: int
    booking_date: dt.date
    amount: Decimal
    reference: str | None
    description: str
    counterparty_name: str | None
    counterparty_account: str | None
    client_id: int | None


@dataclass
class OpenInvoice:
    """An invoice as the matcher sees it; ``open`` goes down as payments are applied."""

    id: int
    number: str
    client_id: int
    reference: str | None
    status: str
    kind: str
    total: Decimal
    open: Decimal
    due_date: dt.date


@dataclass
class Proposal:
    """A proposed match: the parts, the client, how sure, and why."""

    client_id: int | None
    parts: list[Part]
    confidence: int
    source: str
    outcome: str
    params: dict[str, str] = field(default_factory=dict)

    def reason(self) -> dict[str, Any]:
        """The reason as stored on the transaction."""
        return {"source": self.source, "outcome": self.outcome, "params": self.params}

    def suggestion(self) -> list[dict[str, Any]]:
        """The parts as stored on the transaction."""
        return [{"client_id": p.client_id, "invoice_id": p.invoice_id, "amount": str(p.amount)}
                for p in self.parts]


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


_INVOICE_COLUMNS = (Invoice.id, Invoice.number, Invoice.client_id, Invoice.reference_number,
                    Invoice.status, Invoice.kind, Invoice.total, Invoice.paid_amount,
                    Invoice.due_date)


def _open(status: str, kind: str, total: Decimal, paid: Decimal) -> Decimal:
    if status not in OPEN_STATUSES or kind == "credit":
        return ZERO
    return max(total - paid, ZERO)


class MatchContext:
    """What the rules know: the invoices, clients, references, accounts and names that
    occur in a batch of payments, read in a few queries."""

    def __init__(self, dbsession: Session) -> None:
        self.dbsession = dbsession
        self.invoices: dict[int, OpenInvoice] = {}
        self.by_reference: dict[str, list[int]] = defaultdict(list)
        self.by_number: dict[str, int] = {}
        self.client_by_reference: dict[str, int] = {}
        self.clients_by_account: dict[str, set[int]] = defaultdict(set)
        self.clients_by_name: dict[str, set[int]] = defaultdict(set)
        self.open_by_client: dict[int, list[int]] = defaultdict(list)
        self.client_names: dict[int, str] = {}
        self.loaded_clients: set[int] = set()
        self.wanted_clients: set[int] = set()

    # -- loading -------------------------------------------------------------------------

    def load(self, payments: Sequence[Payment]) -> None:
        """Read everything the rules may need for ``payments``."""
        forms: set[str] = set()
        tokens: set[str] = set()
        accounts: set[str] = set()
        names: set[str] = set()
        for payment in payments:
            for ref in [payment.reference, *references_in_text(payment.description)]:
                forms |= reference_forms(ref)[1]
            tokens |= text_tokens(payment.description)
            if account := compact_account(payment.counterparty_account):
                accounts.add(account)
            names |= name_variants(payment.counterparty_name)
        self._load_invoices(Invoice.reference_number.in_, forms)
        self._load_invoices(Invoice.number.in_, tokens)
        self._load_client_references(forms)
        self._load_accounts(accounts)
        self._load_names(names)
        clients = (set(self.client_by_reference.values())
                   | {inv.client_id for inv in self.invoices.values()}
                   | set().union(*self.clients_by_account.values(), *self.clients_by_name.values()))
        self._load_client_names(clients)
        # Which clients' open invoices the rules look at is known once they have run: a
        # first, dry run records them (see open_invoices), then they are read in bulk.
        for payment in payments:
            propose(payment, self)
        self._load_open_invoices(self.wanted_clients)

    def _add_invoice(self, row: Any) -> None:
        if row.id in self.invoices:
            return
        invoice = OpenInvoice(row.id, row.number or "", row.client_id, row.reference_number,
                              row.status, row.kind, row.total,
                              _open(row.status, row.kind, row.total, row.paid_amount),
                              row.due_date)
        self.invoices[invoice.id] = invoice
        if invoice.reference:
            self.by_reference[stored_reference_key(invoice.reference)].append(invoice.id)
        if invoice.number:
            self.by_number[invoice.number.upper()] = invoice.id

    def _load_invoices(self, condition: Any, values: set[str]) -> None:
        for chunk in _chunks(values):
            for row in self.dbsession.execute(
                    sa.select(*_INVOICE_COLUMNS).where(condition(chunk),
                                                       Invoice.status != "draft")):
                self._add_invoice(row)

    def _load_client_references(self, forms: set[str]) -> None:
        for chunk in _chunks(forms):
            for client_id, reference in self.dbsession.execute(
                    sa.select(ClientReference.client_id, ClientReference.reference)
                    .where(ClientReference.reference.in_(chunk))):
                key = reference_forms(reference)[0]
                if key:
                    self.client_by_reference[key] = client_id

    def _load_accounts(self, accounts: set[str]) -> None:
        for chunk in _chunks(accounts):
            for client_id, iban in self.dbsession.execute(
                    sa.select(Client.id, Client.iban).where(Client.iban.in_(chunk))):
                self.clients_by_account[iban].add(client_id)
            for account, client_id in self.dbsession.execute(
                    sa.select(BankTransaction.counterparty_account, Allocation.client_id)
                    .join(Allocation, Allocation.transaction_id == BankTransaction.id)
                    .where(BankTransaction.counterparty_account.in_(chunk)).distinct()):
                self.clients_by_account[account].add(client_id)

    def _load_names(self, names: set[str]) -> None:
        for chunk in _chunks(names):
            for token, client_id in self.dbsession.execute(
                    sa.select(ClientSearchToken.token, ClientSearchToken.client_id)
                    .where(ClientSearchToken.is_name, ClientSearchToken.token.in_(chunk))):
                self.clients_by_name[token].add(client_id)

    def _load_open_invoices(self, clients: set[int]) -> None:
        for chunk in _chunks(clients):
            for row in self.dbsession.execute(
                    sa.select(*_INVOICE_COLUMNS).where(
                        Invoice.client_id.in_(chunk), Invoice.status.in_(OPEN_STATUSES),
                        Invoice.kind != "credit")):
                self._add_invoice(row)
        for invoice in self.invoices.values():
            if invoice.open > 0 and invoice.client_id in clients:
                self.open_by_client[invoice.client_id].append(invoice.id)
        for client_id in clients:
            self.open_by_client[client_id].sort(key=lambda i: (self.invoices[i].due_date, i))
        self.loaded_clients |= clients

    def _load_client_names(self, clients: set[int]) -> None:
        for chunk in _chunks(clients):
            self.client_names.update(self.dbsession.execute(
                sa.select(Client.id, Client.name).where(Client.id.in_(chunk))).all())

    # -- applying ------------------------------------------------------------------------

    def take(self, proposal: Proposal) -> None:
        """Count an applied proposal: its invoices' open amounts go down."""
        for part in proposal.parts:
            if part.invoice_id is not None:
                self.invoices[part.invoice_id].open -= part.amount

    def open_invoices(self, client_id: int) -> list[OpenInvoice]:
        """The client's invoices with something open, oldest due first (none yet, but
        noted as wanted, while the client's invoices have not been read)."""
        if client_id not in self.loaded_clients:
            self.wanted_clients.add(client_id)
            return []
        return [self.invoices[i] for i in self.open_by_client.get(client_id, ())
                if self.invoices[i].open > 0]


def _numbers(invoices: Iterable[OpenInvoice]) -> str:
    return ", ".join(inv.number for inv in invoices)


def find_combination(invoices: Sequence[OpenInvoice], amount: Decimal) -> list[OpenInvoice]:
    """Open invoices whose open amounts add up to ``amount`` exactly: one invoice (the
    oldest of equal ones), the oldest ones in a row, or two or three of the oldest
    :data:`MAX_COMBINATION_INVOICES`; empty when none does."""
    for invoice in invoices:
        if invoice.open == amount:
            return [invoice]
    running = ZERO
    for count, invoice in enumerate(invoices, start=1):
        running += invoice.open
        if running == amount:
            return list(invoices[:count])
        if running > amount:
            break
    head = invoices[:MAX_COMBINATION_INVOICES]
    for size in (2, 3):
        for combination in itertools.combinations(head, size):
            if sum((inv.open for inv in combination), ZERO) == amount:
                return list(combination)
    return []


def _fill_oldest(invoices: Sequence[OpenInvoice], amount: Decimal) -> list[tuple[OpenInvoice,
                                                                                  Decimal]]:
    shares = []
    rest = amount
    for invoice in invoices:
        if rest <= 0:
            break
        take = min(invoice.open, rest)
        shares.append((invoice, take))
        rest -= take
    return shares


def _confidence(source: str, outcome: str) -> int:
    return CONFIDENCE.get((source, outcome), 30)


def _for_client(client_id: int, amount: Decimal, source: str, params: dict[str, str],
                context: MatchContext) -> Proposal:
    """Split ``amount`` over the client's open invoices: exact, a combination, all of them
    plus prepayment, or the oldest first."""
    params = {**params, "client": context.client_names.get(client_id, "")}
    invoices = context.open_invoices(client_id)
    if not invoices:
        return Proposal(client_id, [Part(client_id, None, amount)],
                        _confidence(source, "prepayment"), source, "prepayment", params)
    combination = find_combination(invoices, amount)
    if combination:
        outcome = "exact" if len(combination) == 1 else "combination"
        parts = [Part(client_id, inv.id, inv.open) for inv in combination]
        return Proposal(client_id, parts, _confidence(source, outcome), source, outcome,
                        {**params, "numbers": _numbers(combination)})
    open_total = sum((inv.open for inv in invoices), ZERO)
    if amount > open_total:
        parts = [Part(client_id, inv.id, inv.open) for inv in invoices]
        parts.append(Part(client_id, None, amount - open_total))
        return Proposal(client_id, parts, _confidence(source, "over"), source, "over",
                        {**params, "numbers": _numbers(invoices),
                         "extra": f"{amount - open_total:.2f}"})
    shares = _fill_oldest(invoices, amount)
    return Proposal(client_id, [Part(client_id, inv.id, take) for inv, take in shares],
                    _confidence(source, "oldest"), source, "oldest",
                    {**params, "numbers": _numbers(inv for inv, _ in shares)})


def _for_invoices(invoices: list[OpenInvoice], amount: Decimal, source: str,
                  params: dict[str, str]) -> Proposal:
    """Split ``amount`` over named invoices (by reference or number): exactly, partly, or
    with the surplus as prepayment of the (first) invoice's client."""
    client_id = invoices[0].client_id
    params = {**params, "numbers": _numbers(invoices)}
    open_ones = [inv for inv in invoices if inv.open > 0]
    if not open_ones:
        return Proposal(client_id, [Part(client_id, None, amount)],
                        _confidence(source, "paid"), source, "paid", params)
    open_total = sum((inv.open for inv in open_ones), ZERO)
    if amount == open_total:
        outcome = "exact" if len(open_ones) == 1 else "combination"
        return Proposal(client_id, [Part(inv.client_id, inv.id, inv.open) for inv in open_ones],
                        _confidence(source, outcome), source, outcome, params)
    if amount > open_total:
        parts = [Part(inv.client_id, inv.id, inv.open) for inv in open_ones]
        parts.append(Part(client_id, None, amount - open_total))
        return Proposal(client_id, parts, _confidence(source, "over"), source, "over",
                        {**params, "extra": f"{amount - open_total:.2f}"})
    shares = _fill_oldest(open_ones, amount)
    rest = open_total - amount
    return Proposal(client_id, [Part(inv.client_id, inv.id, take) for inv, take in shares],
                    _confidence(source, "partial"), source, "partial",
                    {**params, "rest": f"{rest:.2f}"})


def _payer_clients(payment: Payment, context: MatchContext) -> tuple[set[int], set[int]]:
    account = compact_account(payment.counterparty_account)
    by_account = set(context.clients_by_account.get(account, ())) if account else set()
    by_name: set[int] = set()
    for variant in name_variants(payment.counterparty_name):
        by_name |= context.clients_by_name.get(variant, set())
    return by_account, by_name


def _by_reference(payment: Payment, context: MatchContext) -> Proposal | None:
    candidates = [payment.reference] if payment.reference else []
    candidates += references_in_text(payment.description)
    for text in candidates:
        key = reference_forms(text)[0]
        if key is None:
            continue
        params = {"ref": references.display(text)}
        invoice_ids = context.by_reference.get(key, [])
        client_id = context.client_by_reference.get(key)
        invoice_clients = {context.invoices[i].client_id for i in invoice_ids}
        if client_id is None and len(invoice_clients) == 1 and len(invoice_ids) > 1:
            client_id = next(iter(invoice_clients))
        if client_id is not None:
            return _for_client(client_id, payment.amount, "ref_client", params, context)
        if len(invoice_ids) == 1:
            invoice = context.invoices[invoice_ids[0]]
            proposal = _for_invoices([invoice], payment.amount, "ref_invoice",
                                     {**params, "number": invoice.number})
            return proposal
    return None


def _by_number(payment: Payment, context: MatchContext) -> Proposal | None:
    found = sorted({context.by_number[t] for t in text_tokens(payment.description)
                    if t in context.by_number})
    invoices = [context.invoices[i] for i in found if context.invoices[i].kind != "credit"]
    if not invoices:
        return None
    invoices.sort(key=lambda inv: (inv.due_date, inv.id))
    proposal = _for_invoices(invoices, payment.amount, "number", {})
    by_account, by_name = _payer_clients(payment, context)
    if {inv.client_id for inv in invoices} & (by_account | by_name):
        proposal.confidence = max(proposal.confidence, min(proposal.confidence + PAYER_BONUS, 95))
    return proposal


def _by_payer(payment: Payment, context: MatchContext) -> Proposal | None:
    by_account, by_name = _payer_clients(payment, context)
    account = compact_account(payment.counterparty_account) or ""
    name = payment.counterparty_name or ""
    if len(by_account) == 1:
        client_id = next(iter(by_account))
        return _for_client(client_id, payment.amount, "iban", {"iban": account}, context)
    if len(by_account) > 1:
        both = by_account & by_name
        if len(both) == 1:
            return _for_client(next(iter(both)), payment.amount, "iban_name",
                               {"iban": account, "name": name}, context)
        clients = ", ".join(sorted(context.client_names.get(c, "") for c in by_account))
        return Proposal(None, [], _confidence("iban_several", "choose"), "iban_several",
                        "choose", {"iban": account, "clients": clients})
    if len(by_name) == 1:
        return _for_client(next(iter(by_name)), payment.amount, "name", {"name": name},
                           context)
    return None


RULES = (_by_reference, _by_number, _by_payer)
"""The rules in the order they are tried."""


def propose(payment: Payment, context: MatchContext) -> Proposal | None:
    """The first rule's proposal for ``payment``, or ``None`` when no rule finds anything."""
    for rule in RULES:
        proposal = rule(payment, context)
        if proposal is not None:
            return proposal
    return None


@dataclass
class MatchSummary:
    """What a matching run did."""

    applied: int = 0
    suggested: int = 0
    unmatched: int = 0


def _payments(dbsession: Session, transaction_ids: Sequence[int]) -> list[Payment]:
    """The open incoming payments among ``transaction_ids``, oldest first."""
    payments: list[Payment] = []
    allocated = (sa.select(sa.func.coalesce(sa.func.sum(Allocation.amount), 0))
                 .where(Allocation.transaction_id == BankTransaction.id)
                 .correlate(BankTransaction).scalar_subquery())
    for chunk in _chunks(transaction_ids):
        for row in dbsession.execute(
                sa.select(BankTransaction.id, BankTransaction.booking_date,
                          BankTransaction.amount, allocated.label("allocated"),
                          BankTransaction.reference, BankTransaction.description,
                          BankTransaction.counterparty_name,
                          BankTransaction.counterparty_account, BankTransaction.client_id)
                .where(BankTransaction.id.in_(chunk), BankTransaction.credit,
                       BankTransaction.state == OPEN)):
            rest = row.amount - Decimal(row.allocated or 0)
            if rest > 0:
                payments.append(Payment(row.id, row.booking_date, rest, row.reference,
                                        row.description or "", row.counterparty_name,
                                        row.counterparty_account, row.client_id))
    payments.sort(key=lambda p: (p.booking_date, p.id))
    return payments


def match_transactions(dbsession: Session, transaction_ids: Sequence[int], threshold: int,
                       *, user_id: int | None = None) -> MatchSummary:
    """Propose a match for each open incoming payment of ``transaction_ids`` (in booking
    order) and apply those with a confidence of at least ``threshold``."""
    return match_payments(dbsession, _payments(dbsession, transaction_ids), threshold,
                          user_id=user_id)


def match_payments(dbsession: Session, payments: Sequence[Payment], threshold: int, *,
                   user_id: int | None = None) -> MatchSummary:
    """Propose and apply matches for ``payments`` (open incoming payments, oldest first),
    as :func:`match_transactions`; the import passes the payments it has just stored.

    Applying is set-based (bulk inserts and updates with their audit entries), so a
    statement of thousands of payments is matched in seconds; the rules have already made
    sure no invoice is paid more than its open amount.
    """
    context = MatchContext(dbsession)
    context.load(payments)
    summary = MatchSummary()
    applied: list[tuple[Payment, Proposal]] = []
    updates: list[dict[str, Any]] = []
    for payment in payments:
        proposal = propose(payment, context)
        update = {"b_id": payment.id, "confidence": 0, "reason": None, "suggestion": None,
                  "client_id": payment.client_id, "state": OPEN}
        updates.append(update)
        if proposal is None:
            summary.unmatched += 1
            continue
        update.update(confidence=proposal.confidence, reason=proposal.reason(),
                      suggestion=proposal.suggestion() or None)
        if proposal.client_id is not None:
            update["client_id"] = proposal.client_id
        if proposal.parts and proposal.confidence >= threshold:
            context.take(proposal)
            applied.append((payment, proposal))
            update["state"] = MATCHED
            summary.applied += 1
        else:
            summary.suggested += 1
    _write(dbsession, payments, updates, applied, user_id)
    return summary


_ALLOCATION_AUDITED = ("transaction_id", "client_id", "invoice_id", "amount", "automatic",
                       "created_by_id")


def _write(dbsession: Session, payments: Sequence[Payment], updates: list[dict[str, Any]],
           applied: Sequence[tuple[Payment, Proposal]], user_id: int | None) -> None:
    """Store the proposals and the applied allocations in bulk, with audit entries for
    every allocation, changed invoice and changed payment state."""
    tenant_id = dbsession.info["tenant_id"]
    now = utcnow()
    if updates:
        mark_changed(dbsession)
    rows = [{"tenant_id": tenant_id, "transaction_id": payment.id, "client_id": part.client_id,
             "invoice_id": part.invoice_id, "amount": part.amount, "automatic": True,
             "created_by_id": user_id, "created_at": now}
            for payment, proposal in applied for part in proposal.parts]
    audit: list[tuple[int, dict[str, list[Any]]]] = []
    parents: dict[int, str] = {}
    allocations = Allocation.__table__
    columns = [allocations.c[name] for name in _ALLOCATION_AUDITED]
    for chunk in _chunks(rows):
        # Core, not the ORM, and RETURNING values rather than order: one multi-row INSERT
        # per chunk (the ORM sends rows with different None values one by one).
        for row in dbsession.execute(
                sa.insert(allocations).returning(allocations.c.id, *columns), chunk):
            audit.append((row.id, {k: [None, getattr(row, k)] for k in _ALLOCATION_AUDITED}))
            parents[row.id] = f"bank_transaction:{row.transaction_id}"
    record_bulk(dbsession, Allocation, "insert", audit, parent=parents.get)
    paid: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["invoice_id"] is not None:
            paid[row["invoice_id"]] += row["amount"]
    add_paid_amounts(dbsession, paid)
    table = BankTransaction.__table__
    for chunk in _chunks(updates):
        for row in chunk:
            row["b_tenant"] = tenant_id
        dbsession.connection().execute(
            table.update().where(table.c.id == sa.bindparam("b_id"),
                                 table.c.tenant_id == sa.bindparam("b_tenant")), chunk)
    before = {p.id: p.client_id for p in payments}
    record_bulk(dbsession, BankTransaction, "update", [
        (row["b_id"], {"state": [OPEN, MATCHED],
                       **({"client_id": [before[row["b_id"]], row["client_id"]]}
                          if before[row["b_id"]] != row["client_id"] else {})})
        for row in updates if row["state"] == MATCHED])
    for payment in payments:
        stale = dbsession.identity_map.get(dbsession.identity_key(BankTransaction, payment.id))
        if stale is not None:
            dbsession.expire(stale)
