"""Applying incoming payments to invoices and to clients' prepayment balances, and undoing it.

These are the only functions that create or remove :class:`Allocation` rows, so an
invoice's ``paid_amount`` and status always follow its allocations: each allocation adds
its amount to the invoice (:func:`plugins.invoicing.invoices.set_paid_amount`), each undo
takes it off again. Every change is written to the audit log (the models are audited).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from plugins.bank_import.i18n import _
from plugins.bank_import.models import MATCHED, NOT_SALES, OPEN, Allocation, BankTransaction
from plugins.invoicing.invoices import OPEN_STATUSES, set_paid_amount
from plugins.invoicing.models import Invoice

ZERO = Decimal("0.00")


class AllocationError(ValueError):
    """A match that cannot be made; ``message`` (a translation string) says why."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class Part:
    """A share of a payment: ``amount`` for ``invoice_id``, or the client's prepayment when
    ``invoice_id`` is ``None``."""

    client_id: int
    invoice_id: int | None
    amount: Decimal


def open_amount(invoice: Invoice) -> Decimal:
    """What is still to be paid on ``invoice`` (zero for drafts, credits and paid ones)."""
    if invoice.status not in OPEN_STATUSES or invoice.kind == "credit":
        return ZERO
    return max(invoice.total - invoice.paid_amount, ZERO)


def allocate(dbsession: Session, transaction: BankTransaction, parts: Sequence[Part], *,
             user_id: int | None, automatic: bool = False) -> list[Allocation]:
    """Apply ``parts`` of the incoming ``transaction``; raise :class:`AllocationError`
    (changing nothing) when a part is not possible.

    Invoices must be open sales invoices of the part's client and not be paid more than
    their open amount; the parts together may not exceed the unallocated amount. When the
    whole amount is allocated the transaction is ``matched``. (The automatic matcher
    applies its matches in bulk: :func:`plugins.bank_import.matching.match_transactions`.)
    """
    if not transaction.credit or transaction.state not in (OPEN, MATCHED):
        raise AllocationError(_("Only incoming sales payments can be matched."))
    parts = [p for p in parts if p.amount != 0]
    if not parts:
        raise AllocationError(_("Nothing to allocate: enter an amount."))
    if any(p.amount < 0 for p in parts):
        raise AllocationError(_("Amounts must be positive."))
    total = sum((p.amount for p in parts), ZERO)
    if total > transaction.unallocated:
        raise AllocationError(_(
            "The amounts (${total}) are more than the unallocated ${rest} of the payment.",
            mapping={"total": f"{total:.2f}", "rest": f"{transaction.unallocated:.2f}"}))
    wanted = {p.invoice_id for p in parts if p.invoice_id is not None}
    loaded = {inv.id: inv for inv in dbsession.scalars(
        sa.select(Invoice).where(Invoice.id.in_(wanted)))} if wanted else {}
    per_invoice: dict[int, Decimal] = {}
    for part in parts:
        if part.invoice_id is None:
            continue
        invoice = loaded.get(part.invoice_id)
        if invoice is None:
            raise AllocationError(_("The invoice does not exist."))
        if invoice.client_id != part.client_id:
            raise AllocationError(_("Invoice ${number} is not this client's.",
                                    mapping={"number": invoice.number}))
        per_invoice[invoice.id] = per_invoice.get(invoice.id, ZERO) + part.amount
        if per_invoice[invoice.id] > open_amount(invoice):
            raise AllocationError(_(
                "Invoice ${number} has ${open} open; it cannot take ${amount}.",
                mapping={"number": invoice.number or "", "open": f"{open_amount(invoice):.2f}",
                         "amount": f"{per_invoice[invoice.id]:.2f}"}))
    created = []
    for part in parts:
        allocation = Allocation(
            tenant_id=transaction.tenant_id, transaction=transaction,
            client_id=part.client_id, invoice_id=part.invoice_id, amount=part.amount,
            automatic=automatic, created_by_id=user_id)
        dbsession.add(allocation)
        created.append(allocation)
        if part.invoice_id is not None:
            invoice = loaded[part.invoice_id]
            set_paid_amount(invoice, invoice.paid_amount + part.amount)
    transaction.client_id = parts[0].client_id
    transaction.state = MATCHED if transaction.unallocated == 0 else OPEN
    return created


def undo(dbsession: Session, transaction: BankTransaction) -> None:
    """Take back every allocation of ``transaction`` (the invoices' paid amounts go down)
    and put it back on the work list; a payment marked "not a sales payment" is reopened."""
    for allocation in list(transaction.allocations):
        if allocation.invoice is not None:
            invoice = allocation.invoice
            set_paid_amount(invoice, invoice.paid_amount - allocation.amount)
        transaction.allocations.remove(allocation)
        dbsession.delete(allocation)
    if transaction.state in (MATCHED, NOT_SALES):
        transaction.state = OPEN
    transaction.note = None


def mark_not_sales(transaction: BankTransaction, note: str | None) -> None:
    """Set an incoming payment aside as not a sales payment (a loan, a refund, a transfer)."""
    if not transaction.credit or transaction.state != OPEN or transaction.allocations:
        raise AllocationError(_("Only an unmatched incoming payment can be set aside."))
    transaction.state = NOT_SALES
    transaction.note = note or None


def prepayment_balance(dbsession: Session, client_id: int) -> Decimal:
    """The client's prepayment: money received and not yet applied to an invoice."""
    total = dbsession.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Allocation.amount), 0))
        .where(Allocation.client_id == client_id, Allocation.invoice_id.is_(None)))
    return Decimal(total or 0).quantize(Decimal("0.01"))


def apply_prepayment(dbsession: Session, client_id: int, invoice: Invoice, *,
                     user_id: int | None) -> Decimal:
    """Use the client's prepayment for ``invoice``, oldest payments first, up to the
    invoice's open amount; return the amount applied (zero when there is nothing to use)."""
    if invoice.client_id != client_id:
        raise AllocationError(_("Invoice ${number} is not this client's.",
                                mapping={"number": invoice.number}))
    wanted = open_amount(invoice)
    applied = ZERO
    prepayments = dbsession.scalars(
        sa.select(Allocation).join(BankTransaction)
        .where(Allocation.client_id == client_id, Allocation.invoice_id.is_(None))
        .order_by(BankTransaction.booking_date, Allocation.id))
    for prepayment in prepayments:
        if applied >= wanted:
            break
        take = min(prepayment.amount, wanted - applied)
        if take == prepayment.amount:
            prepayment.invoice_id = invoice.id
            prepayment.invoice = invoice
        else:
            prepayment.amount -= take
            dbsession.add(Allocation(
                tenant_id=prepayment.tenant_id, transaction_id=prepayment.transaction_id,
                client_id=client_id, invoice_id=invoice.id, amount=take,
                automatic=False, created_by_id=user_id))
        applied += take
    if applied:
        set_paid_amount(invoice, invoice.paid_amount + applied)
    return applied
