"""Client balances (saldo), the payments received from a client and the receivables report
(PRODUCT.md C11, B2).

A client's **receivable** is what is left to pay on its confirmed invoices
(``total - paid_amount``); credit invoices have negative totals and lower it. Its
**prepayment** is money received and not applied to an invoice yet (allocations without an
invoice). The **balance** is ``receivable - prepayment``: positive when the client owes,
negative when we hold the client's money.

Credit invoices stay "confirmed" for good, while a fully credited invoice becomes
"credited"; so the invoices counted are the open ones and the credited ones
(:data:`BALANCE_STATUSES`): a fully credited unpaid invoice and its credit invoice then net
to zero, and what the client paid on an invoice that was later credited shows as money we
owe back. For ageing, a credit invoice counts on the due date of the invoice it credits,
so it lowers the same bucket.

Everything is computed in SQL with grouping, never by loading invoices as objects: the
receivables report is one grouped query over invoices (``CASE`` on the due date) and one
over prepayment allocations, joined to the clients.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pyramid.request import Request
from sqlalchemy.orm import Session, aliased

from core.i18n import local_today
from plugins.bank_import.allocations import prepayment_balance
from plugins.bank_import.i18n import _
from plugins.bank_import.models import Allocation, BankTransaction
from plugins.crm_register.models import Client, ClientGroupLink
from plugins.invoicing.invoices import OPEN_STATUSES
from plugins.invoicing.models import Invoice

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

BALANCE_STATUSES: tuple[str, ...] = (*OPEN_STATUSES, "credited")
"""The invoice statuses whose ``total - paid_amount`` makes up the receivable (see the
module docstring: a credited invoice nets with its credit invoice)."""

BUCKETS: tuple[str, ...] = ("not_due", "days_1_30", "days_31_60", "days_61_90", "over_90")
"""The ageing buckets, by days past the due date: not due yet, 1-30, 31-60, 61-90, > 90."""

BUCKET_LABELS: dict[str, Any] = {
    "not_due": _("Not due"),
    "days_1_30": _("1–30 days"),
    "days_31_60": _("31–60 days"),
    "days_61_90": _("61–90 days"),
    "over_90": _("Over 90 days"),
}

# The kinds of rows in a client's payments list.
INVOICE_PAYMENT = "invoice"
"""Money applied to a sales invoice."""
PREPAYMENT_INVOICE_PAYMENT = "prepayment_invoice"
"""Money applied to a prepayment invoice."""
PREPAYMENT = "prepayment"
"""Money kept as the client's prepayment (not applied to an invoice yet)."""

PAYMENT_KIND_LABELS: dict[str, Any] = {
    INVOICE_PAYMENT: _("Invoice payment"),
    PREPAYMENT_INVOICE_PAYMENT: _("Prepayment invoice"),
    PREPAYMENT: _("Prepayment"),
}


def _money(value: Any) -> Decimal:
    """A sum from the database as a Decimal of cents (SQLite returns floats)."""
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value.quantize(CENT)
    return Decimal(str(value)).quantize(CENT)



# --- the balance of one client ------------------------------------------------------------

@dataclass(frozen=True)
class ClientBalance:
    """A client's money position on a day."""

    receivable: Decimal
    """Left to pay on the client's invoices (credit invoices lower it)."""
    overdue: Decimal
    """The part of ``receivable`` past its due date."""
    prepayment: Decimal
    """Money received and not applied to an invoice yet."""

    @property
    def balance(self) -> Decimal:
        """``receivable - prepayment``: positive when the client owes, negative when we hold
        the client's money."""
        return self.receivable - self.prepayment

    @property
    def is_overdue(self) -> bool:
        """True when something is past its due date, even when the prepayment would cover
        it (a person still has to apply the prepayment to the invoice)."""
        return self.overdue > 0


_SOURCE = aliased(Invoice, name="credited_source")
"""The invoice a credit invoice credits (for the due date a credit invoice is aged on)."""


def _bucket_columns(today: dt.date) -> list[sa.ColumnElement[Any]]:
    """``SUM(CASE ...)`` per ageing bucket (labelled with the bucket's name) over
    :class:`Invoice` outer-joined to the credited invoice :data:`_SOURCE` (see
    :func:`_invoice_amounts`)."""
    due = sa.func.coalesce(_SOURCE.due_date, Invoice.due_date)
    amount = Invoice.total - Invoice.paid_amount
    d30, d60, d90 = (today - dt.timedelta(days=n) for n in (30, 60, 90))
    conditions = {
        "not_due": due >= today,
        "days_1_30": sa.and_(due < today, due >= d30),
        "days_31_60": sa.and_(due < d30, due >= d60),
        "days_61_90": sa.and_(due < d60, due >= d90),
        "over_90": due < d90,
    }
    return [
        sa.func.sum(sa.case((conditions[name], amount), else_=sa.literal(0, Invoice.total.type)))
        .label(name)
        for name in BUCKETS
    ]


def _invoice_amounts(today: dt.date) -> sa.Select[Any]:
    """``SELECT`` of the ageing sums over the invoices in :data:`BALANCE_STATUSES` (add a
    ``WHERE`` on the client and/or a ``GROUP BY``)."""
    return (sa.select(*_bucket_columns(today))
            .select_from(Invoice)
            .outerjoin(_SOURCE, _SOURCE.id == Invoice.credited_invoice_id)
            .where(Invoice.status.in_(BALANCE_STATUSES)))


def _prepayments() -> sa.Select[Any]:
    """``SELECT`` of the unapplied prepayment per client."""
    return (sa.select(Allocation.client_id.label("client_id"),
                      sa.func.sum(Allocation.amount).label("prepayment"))
            .where(Allocation.invoice_id.is_(None))
            .group_by(Allocation.client_id))


def client_balance(dbsession: Session, client_id: int, today: dt.date) -> ClientBalance:
    """The receivable, overdue part and prepayment of the client ``client_id`` on
    ``today`` (two aggregate queries)."""
    row = dbsession.execute(_invoice_amounts(today).where(Invoice.client_id == client_id)).one()
    amounts = {name: _money(getattr(row, name)) for name in BUCKETS}
    return ClientBalance(
        receivable=sum(amounts.values(), ZERO),
        overdue=sum((amounts[name] for name in BUCKETS[1:]), ZERO),
        prepayment=prepayment_balance(dbsession, client_id),
    )


def request_balance(request: Request, client: Any) -> ClientBalance:
    """:func:`client_balance` of ``client`` today (in the tenant's time zone), computed once
    per request (the card header and the Payments tab share it)."""
    cache: dict[int, ClientBalance] | None = getattr(request, "_bank_client_balances", None)
    if cache is None:
        cache = {}
        request._bank_client_balances = cache
    if client.id not in cache:
        cache[client.id] = client_balance(request.dbsession, client.id, local_today(request))
    return cache[client.id]


def balance_fact_value(request: Request, client: Any) -> str | None:
    """The client card header's "Balance" fact: what the client owes (``1 200,00 €``), or
    the prepayment we hold marked as such (``−50,00 € (prepaid)``)."""
    balance = request_balance(request, client).balance
    text = request.format_money(balance)
    if balance < 0:
        return request.translate(_("${amount} (prepaid)", mapping={"amount": text}))
    return text


def balance_fact_kind(request: Request, client: Any) -> str:
    """``"danger"`` when the client owes money and some of it is overdue, else ``""``."""
    balance = request_balance(request, client)
    return "danger" if balance.is_overdue and balance.balance > 0 else ""


# --- payments received from a client -----------------------------------------------------

@dataclass(frozen=True)
class PaymentRow:
    """One allocation of an incoming payment: to an invoice, or kept as prepayment."""

    allocation_id: int
    transaction_id: int
    date: dt.date
    """The booking date of the payment on the bank statement."""
    kind: str
    """:data:`INVOICE_PAYMENT`, :data:`PREPAYMENT_INVOICE_PAYMENT` or :data:`PREPAYMENT`."""
    amount: Decimal
    currency: str
    invoice_id: int | None
    invoice_number: str | None
    invoice_date: dt.date | None
    payer: str | None
    """The name of the payer on the bank statement."""
    reference: str | None
    """The reference number the payer gave."""
    description: str
    automatic: bool
    """True when the matcher applied it, False when a person did."""


def _payments_of(client_id: int) -> sa.Select[Any]:
    return (sa.select(Allocation.id, Allocation.transaction_id, Allocation.amount,
                      Allocation.invoice_id, Allocation.automatic,
                      BankTransaction.booking_date, BankTransaction.currency,
                      BankTransaction.counterparty_name, BankTransaction.reference,
                      BankTransaction.description,
                      Invoice.number, Invoice.issue_date, Invoice.kind)
            .join(BankTransaction, BankTransaction.id == Allocation.transaction_id)
            .outerjoin(Invoice, Invoice.id == Allocation.invoice_id)
            .where(Allocation.client_id == client_id))


def client_payments(dbsession: Session, client_id: int, *, limit: int | None = None,
                    offset: int = 0) -> list[PaymentRow]:
    """The client's received payments, one row per allocation, newest first (by the
    payment's booking date); ``limit``/``offset`` for a page of them."""
    stmt = _payments_of(client_id).order_by(
        BankTransaction.booking_date.desc(), Allocation.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    rows = []
    for r in dbsession.execute(stmt):
        if r.invoice_id is None:
            kind = PREPAYMENT
        elif r.kind == "prepayment":
            kind = PREPAYMENT_INVOICE_PAYMENT
        else:
            kind = INVOICE_PAYMENT
        rows.append(PaymentRow(
            allocation_id=r.id, transaction_id=r.transaction_id, date=r.booking_date,
            kind=kind, amount=_money(r.amount), currency=r.currency,
            invoice_id=r.invoice_id, invoice_number=r.number, invoice_date=r.issue_date,
            payer=r.counterparty_name, reference=r.reference, description=r.description or "",
            automatic=bool(r.automatic)))
    return rows


def count_client_payments(dbsession: Session, client_id: int) -> int:
    """How many rows :func:`client_payments` has for the client."""
    return dbsession.scalar(
        sa.select(sa.func.count(Allocation.id)).where(Allocation.client_id == client_id)) or 0


# --- the receivables report ----------------------------------------------------------------

@dataclass(frozen=True)
class AgeingAmounts:
    """Open amounts by days past due, the prepayment held and the balance."""

    not_due: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal
    prepayment: Decimal

    @property
    def receivable(self) -> Decimal:
        """Everything left to pay (all buckets)."""
        return sum((getattr(self, name) for name in BUCKETS), ZERO)

    @property
    def overdue(self) -> Decimal:
        """The part past its due date."""
        return sum((getattr(self, name) for name in BUCKETS[1:]), ZERO)

    @property
    def balance(self) -> Decimal:
        """``receivable - prepayment``."""
        return self.receivable - self.prepayment

    def bucket(self, name: str) -> Decimal:
        """The amount of the bucket ``name`` (one of :data:`BUCKETS`)."""
        if name not in BUCKETS:
            raise KeyError(name)
        return getattr(self, name)


@dataclass(frozen=True)
class ReceivableRow(AgeingAmounts):
    """A client's line in the receivables report."""

    client_id: int
    client_name: str
    client_number: int


def receivables(dbsession: Session, today: dt.date, group_id: int | None = None, *,
                visible: sa.ColumnElement[bool] | None = None) -> list[ReceivableRow]:
    """Per client with something open or prepaid: the open amounts aged on ``today``, the
    prepayment and the balance; the largest balance first.

    ``group_id`` limits it to the members of a client group; ``visible`` is a condition on
    :class:`Client` limiting it to the clients the user may see
    (:func:`plugins.crm_register.access.client_filter`).
    """
    open_amount = Invoice.total - Invoice.paid_amount
    invoices = (_invoice_amounts(today)
                .add_columns(Invoice.client_id.label("client_id"),
                             sa.func.sum(open_amount).label("open_total"))
                .group_by(Invoice.client_id)
                .subquery("open_invoices"))
    prepaid = _prepayments().subquery("prepaid")
    balance = (sa.func.coalesce(invoices.c.open_total, 0)
               - sa.func.coalesce(prepaid.c.prepayment, 0))
    stmt = (sa.select(Client.id, Client.name, Client.number,
                      *(invoices.c[name] for name in BUCKETS), prepaid.c.prepayment)
            .select_from(Client)
            .outerjoin(invoices, invoices.c.client_id == Client.id)
            .outerjoin(prepaid, prepaid.c.client_id == Client.id)
            .where(sa.or_(invoices.c.client_id.is_not(None), prepaid.c.client_id.is_not(None)))
            .order_by(balance.desc(), Client.name, Client.id))
    if group_id is not None:
        stmt = stmt.where(Client.id.in_(
            sa.select(ClientGroupLink.client_id).where(ClientGroupLink.group_id == group_id)))
    if visible is not None:
        stmt = stmt.where(visible)
    rows = []
    for client_id, name, number, *sums, prepayment in dbsession.execute(stmt):
        amounts = [_money(value) for value in sums]
        prepaid_amount = _money(prepayment)
        if not prepaid_amount and not any(amounts):
            continue  # e.g. an invoice and its credit invoice both open: nothing is owed
        rows.append(ReceivableRow(
            client_id=client_id, client_name=name, client_number=number,
            not_due=amounts[0], days_1_30=amounts[1], days_31_60=amounts[2],
            days_61_90=amounts[3], over_90=amounts[4], prepayment=prepaid_amount))
    return rows


def receivables_total(rows: Sequence[AgeingAmounts]) -> AgeingAmounts:
    """The totals row of the report: every amount summed over ``rows``."""
    fields = (*BUCKETS, "prepayment")
    return AgeingAmounts(**{name: sum((getattr(r, name) for r in rows), ZERO)
                            for name in fields})
