"""The payments work list (B2) and one payment's page with the decisions a person makes.

Routes: ``/bank/payments`` (the list, waiting payments first, with the matcher's
suggestion and reason), ``/bank/payments/{transaction_id}`` (the payment, its matches and
history) and the decisions, each a POST on the payment: ``accept`` the suggestion,
``match`` (split over invoices by number), ``prepayment`` (assign to a client),
``not-sales`` (set aside), ``undo`` (take back whatever was decided, automatic or not);
``POST /bank/payments/rematch`` runs the matcher again over every waiting payment.
Every decision is in the audit log (allocations and transactions are audited).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from babel.numbers import get_decimal_symbol
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from core.audit import history
from core.paging import paginate
from core.web import flash
from plugins.bank_import.allocations import (
    AllocationError,
    Part,
    allocate,
    mark_not_sales,
    open_amount,
    undo,
)
from plugins.bank_import.i18n import _
from plugins.bank_import.labels import STATE_LABELS
from plugins.bank_import.matching import match_transactions, reason_text
from plugins.bank_import.models import OPEN, STATES, BankTransaction
from plugins.bank_import.permissions import PAYMENT_MATCH, PAYMENT_VIEW
from plugins.bank_import.settings import settings_of
from plugins.bank_import.views.statements import WITH_ALLOCATIONS
from plugins.crm_register.models import Client, ClientSearchToken
from plugins.crm_register.search import fold
from plugins.invoicing.invoices import OPEN_STATUSES
from plugins.invoicing.models import Invoice

SPLIT_ROWS = 5
"""Invoice rows of the "match to invoices" form."""
_CLIENT_NUMBER = re.compile(r"\((?:nr\.?|no\.?)\s*(\d{1,9})\)\s*$", re.IGNORECASE)


def require_transaction(request: Request) -> BankTransaction:
    """The transaction of the route (of the request's tenant); else 404."""
    transaction = request.dbsession.get(BankTransaction,
                                        int(request.matchdict["transaction_id"]))
    if transaction is None:
        raise HTTPNotFound()
    return transaction


@view_config(route_name="bank_payments", renderer="plugins.bank_import:templates/payments.pt",
             permission=PAYMENT_VIEW)
def payment_list(request: Request) -> dict[str, Any]:
    """Payments by state (waiting ones by default), oldest first, with suggestions."""
    state = request.params.get("state", OPEN)
    stmt = sa.select(BankTransaction).options(*WITH_ALLOCATIONS)
    if state in STATES:
        stmt = stmt.where(BankTransaction.state == state)
    else:
        state = ""
    stmt = stmt.order_by(BankTransaction.booking_date.desc() if state != OPEN
                         else BankTransaction.booking_date, BankTransaction.id)
    page = paginate(request.dbsession, request, stmt, size=50)
    found = _load_suggested(request, page.items)
    return {"pager": page, "state": state,
            "state_labels": STATE_LABELS, "can_match": request.has_permission(PAYMENT_MATCH),
            "reason_text": lambda reason: reason_text(request, reason),
            "suggested": lambda t: _suggested_parts(request, t, found)}


def _load_suggested(request: Request, transactions: list[BankTransaction]) -> dict[str, Any]:
    """The suggestions' invoices and clients of a page, read in two queries."""
    parts = [raw for t in transactions for raw in t.suggestion or ()]
    invoice_ids = {raw["invoice_id"] for raw in parts if raw.get("invoice_id")}
    client_ids = {raw["client_id"] for raw in parts if raw.get("client_id")}
    found: dict[str, Any] = {"invoice": {}, "client": {}}
    if invoice_ids:
        found["invoice"] = {i.id: i for i in request.dbsession.scalars(
            sa.select(Invoice).where(Invoice.id.in_(invoice_ids)))}
    if client_ids:
        found["client"] = {c.id: c for c in request.dbsession.scalars(
            sa.select(Client).where(Client.id.in_(client_ids)))}
    return found


def _suggested_parts(request: Request, transaction: BankTransaction,
                     found: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The suggestion of ``transaction`` with its invoices and clients, for the page
    (from ``found`` of :func:`_load_suggested` when given)."""
    found = found or _load_suggested(request, [transaction])
    return [{"invoice": found["invoice"].get(raw.get("invoice_id")),
             "client": found["client"].get(raw.get("client_id")),
             "amount": Decimal(raw["amount"])}
            for raw in transaction.suggestion or ()]


def _candidate_clients(request: Request, transaction: BankTransaction) -> list[Client]:
    """Clients to offer for a prepayment: the suggested client and the payer's namesakes."""
    ids: list[int] = []
    if transaction.client_id:
        ids.append(transaction.client_id)
    for raw in transaction.suggestion or ():
        if raw.get("client_id"):
            ids.append(raw["client_id"])
    if transaction.counterparty_account:
        ids.extend(request.dbsession.scalars(
            sa.select(Client.id).where(Client.iban == transaction.counterparty_account)))
    unique = list(dict.fromkeys(ids))
    return [c for c in (request.dbsession.get(Client, i) for i in unique) if c is not None]


def _split_rows(request: Request, transaction: BankTransaction) -> list[dict[str, str]]:
    """The rows of the match form: the suggestion's invoices, else the client's open ones."""
    comma = get_decimal_symbol(request.locale_name)
    rows = [{"number": p["invoice"].number, "amount": f"{p['amount']:.2f}".replace(".", comma)}
            for p in _suggested_parts(request, transaction) if p["invoice"] is not None]
    if not rows and transaction.client_id:
        invoices = request.dbsession.scalars(
            sa.select(Invoice).where(Invoice.client_id == transaction.client_id,
                                     Invoice.status.in_(OPEN_STATUSES),
                                     Invoice.kind != "credit")
            .order_by(Invoice.due_date, Invoice.id).limit(SPLIT_ROWS))
        rest = transaction.unallocated
        for invoice in invoices:
            take = min(open_amount(invoice), rest)
            rows.append({"number": invoice.number or "",
                         "amount": f"{take:.2f}".replace(".", comma) if take else ""})
            rest -= take
    rows = rows[:SPLIT_ROWS]
    rows += [{"number": "", "amount": ""} for _ in range(SPLIT_ROWS - len(rows))]
    return rows


def _history_text(request: Request, entry: Any, currency: str) -> str:
    """One audit entry of a payment in words."""
    changes = entry.changes or {}
    if entry.entity == "bank_allocation":
        before, after = changes.get("amount", [None, None])
        amount = request.format_money(Decimal(after or before or 0), currency)
        if entry.action == "insert":
            return request.translate(_("${amount} allocated", mapping={"amount": amount}))
        if entry.action == "delete":
            return request.translate(_("${amount} taken back", mapping={"amount": amount}))
        return request.translate(_("allocation changed (prepayment used for an invoice)"))
    if "state" in changes:
        old, new = changes["state"]
        return request.translate(_("state: ${old} → ${new}", mapping={
            "old": request.translate(STATE_LABELS.get(old, old or "")),
            "new": request.translate(STATE_LABELS.get(new, new or ""))}))
    return request.translate(_("details changed"))


@view_config(route_name="bank_payment", renderer="plugins.bank_import:templates/payment.pt",
             permission=PAYMENT_VIEW)
def payment_view(request: Request) -> dict[str, Any]:
    """One payment: its data, matches, suggestion, the decision forms and its history."""
    transaction = require_transaction(request)
    entries = history(request.dbsession, BankTransaction, transaction.id, with_children=True)
    return {"t": transaction, "state_labels": STATE_LABELS,
            "can_match": request.has_permission(PAYMENT_MATCH),
            "reason": reason_text(request, transaction.reason),
            "suggested": _suggested_parts(request, transaction),
            "clients": _candidate_clients(request, transaction),
            "split_rows": _split_rows(request, transaction),
            "history": [(e, _history_text(request, e, transaction.currency)) for e in entries],
            "system_label": _("the system")}


def _back(request: Request, transaction: BankTransaction) -> HTTPSeeOther:
    return HTTPSeeOther(request.route_url("bank_payment", transaction_id=transaction.id))


def _refuse(request: Request, transaction: BankTransaction, message: Any) -> HTTPSeeOther:
    """Show ``message`` (nothing was changed) and go back to the payment."""
    flash(request, message, kind="error")
    return _back(request, transaction)


def _decide(request: Request, transaction: BankTransaction, parts: list[Part],
            done: Any) -> HTTPSeeOther:
    """Allocate ``parts`` in a savepoint; a refusal changes nothing."""
    try:
        with request.dbsession.begin_nested():
            allocate(request.dbsession, transaction, parts, user_id=request.user.id)
    except AllocationError as exc:
        request.dbsession.expire_all()
        return _refuse(request, transaction, exc.message)
    flash(request, done)
    return _back(request, transaction)


@view_config(route_name="bank_payment_accept", request_method="POST",
             permission=PAYMENT_MATCH)
def accept(request: Request) -> HTTPSeeOther:
    """Apply the matcher's suggestion as it stands."""
    transaction = require_transaction(request)
    parts = [Part(raw["client_id"], raw.get("invoice_id"), Decimal(raw["amount"]))
             for raw in transaction.suggestion or () if raw.get("client_id")]
    if not parts:
        return _refuse(request, transaction, _("This payment has no suggestion to accept."))
    return _decide(request, transaction, parts, _("The suggestion is applied."))


def _amount(raw: str) -> Decimal | None:
    text = raw.strip().replace(" ", "").replace("\xa0", "").replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value.quantize(Decimal("0.01")) if value.is_finite() else None


@view_config(route_name="bank_payment_match", request_method="POST", permission=PAYMENT_MATCH)
def match(request: Request) -> HTTPSeeOther:
    """Split the payment over invoices given by number; optionally the rest as prepayment."""
    transaction = require_transaction(request)
    parts: list[Part] = []
    client_id: int | None = None
    for index in range(1, SPLIT_ROWS + 1):
        number = request.POST.get(f"number_{index}", "").strip()
        raw_amount = request.POST.get(f"amount_{index}", "")
        if not number and not raw_amount.strip():
            continue
        invoice = request.dbsession.scalar(
            sa.select(Invoice).where(Invoice.number == number, Invoice.status != "draft")) \
            if number else None
        if invoice is None:
            return _refuse(request, transaction, _(
                "There is no confirmed invoice numbered \"${number}\".",
                mapping={"number": number}))
        amount = _amount(raw_amount) if raw_amount.strip() else open_amount(invoice)
        if amount is None or amount <= 0:
            return _refuse(request, transaction, _(
                "Enter a positive amount for invoice ${number}.", mapping={"number": number}))
        client_id = client_id or invoice.client_id
        parts.append(Part(invoice.client_id, invoice.id, amount))
    if not parts:
        return _refuse(request, transaction, _("Enter at least one invoice number."))
    if request.POST.get("rest_as_prepayment"):
        rest = transaction.unallocated - sum((p.amount for p in parts), Decimal("0"))
        if rest > 0 and client_id is not None:
            parts.append(Part(client_id, None, rest))
    return _decide(request, transaction, parts, _("The payment is matched."))


def find_client(request: Request, text: str) -> Client | None:
    """The client named by ``text``: "Name (nr 12)" from the list, a client number, or a
    name that only one client has."""
    text = text.strip()
    if not text:
        return None
    numbered = _CLIENT_NUMBER.search(text)
    number = numbered.group(1) if numbered else text if text.isdigit() and len(text) <= 9 \
        else None
    if number is not None:
        return request.dbsession.scalar(sa.select(Client).where(Client.number == int(number)))
    ids = list(request.dbsession.scalars(
        sa.select(ClientSearchToken.client_id).where(
            ClientSearchToken.is_name, ClientSearchToken.token == fold(text)).limit(2)))
    return request.dbsession.get(Client, ids[0]) if len(ids) == 1 else None


@view_config(route_name="bank_payment_prepayment", request_method="POST",
             permission=PAYMENT_MATCH)
def prepayment(request: Request) -> HTTPSeeOther:
    """Keep the unallocated amount as a client's prepayment (offered for later invoices)."""
    transaction = require_transaction(request)
    client = find_client(request, request.POST.get("client", ""))
    if client is None:
        return _refuse(request, transaction, _(
            "Choose a client from the list, or enter a client number."))
    return _decide(request, transaction, [Part(client.id, None, transaction.unallocated)],
                   _("The payment is kept as the prepayment of ${client}.",
                     mapping={"client": client.name}))


@view_config(route_name="bank_payment_not_sales", request_method="POST",
             permission=PAYMENT_MATCH)
def not_sales(request: Request) -> HTTPSeeOther:
    """Set the payment aside as not a sales payment, with a note why."""
    transaction = require_transaction(request)
    try:
        mark_not_sales(transaction, request.POST.get("note", "").strip()[:500])
    except AllocationError as exc:
        return _refuse(request, transaction, exc.message)
    flash(request, _("The payment is set aside as not a sales payment."))
    return _back(request, transaction)


@view_config(route_name="bank_payment_undo", request_method="POST", permission=PAYMENT_MATCH)
def undo_decision(request: Request) -> HTTPSeeOther:
    """Take back the payment's matches (automatic or by hand) or its setting aside."""
    transaction = require_transaction(request)
    if not transaction.allocations and transaction.state != "not_sales":
        return _refuse(request, transaction, _("There is nothing to undo."))
    undo(request.dbsession, transaction)
    flash(request, _("Undone: the payment is waiting again."))
    return _back(request, transaction)


@view_config(route_name="bank_payments_rematch", request_method="POST",
             permission=PAYMENT_MATCH)
def rematch(request: Request) -> HTTPSeeOther:
    """Run the matcher again over every waiting payment (e.g. after new invoices)."""
    ids = list(request.dbsession.scalars(
        sa.select(BankTransaction.id).where(BankTransaction.state == OPEN,
                                            BankTransaction.credit)))
    waiting_before = len(ids)
    summary = match_transactions(request.dbsession, ids,
                                 settings_of(request.dbsession).auto_apply_threshold,
                                 user_id=request.user.id)
    flash(request, _("Waiting payments: ${total}; matched automatically now: ${applied}."),
          applied=summary.applied, total=waiting_before)
    return HTTPSeeOther(request.route_url("bank_payments"))


def includeme(config: Any) -> None:
    """Routes of the work list and the decisions."""
    config.add_route("bank_payments", "/bank/payments")
    config.add_route("bank_payments_rematch", "/bank/payments/rematch")
    base = "/bank/payments/{transaction_id:\\d{1,9}}"
    config.add_route("bank_payment", base)
    for name, path in (("accept", "accept"), ("match", "match"), ("prepayment", "prepayment"),
                       ("not_sales", "not-sales"), ("undo", "undo")):
        config.add_route(f"bank_payment_{name}", f"{base}/{path}")
    config.scan(__name__)

