"""Tables of the bank_import plugin: the tenant's bank accounts, imported statements, their
entries (bank transactions) and the allocations of incoming payments to invoices.

Every table is tenant-scoped and prefixed ``bank_``. An incoming payment's money is
allocated to invoices (``invoice_id`` set) or kept as the client's prepayment
(``invoice_id`` empty); the client's prepayment balance is the sum of the latter.
Allocations are audited: each decision, automatic or by hand, and each undo is in the log.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, TenantScoped, utcnow
from core.models import Audited, User
from plugins.crm_register.models import Client
from plugins.invoicing.models import Invoice

AMOUNT = sa.Numeric(14, 2)

# The states of a bank transaction.
OPEN = "open"
"""An incoming payment not (fully) allocated yet: it waits for a person."""
MATCHED = "matched"
"""An incoming payment whose whole amount is allocated to invoices or as prepayment."""
NOT_SALES = "not_sales"
"""An incoming payment a person marked as not a sales payment (a loan, a refund...)."""
OUTGOING = "outgoing"
"""Money out of the account: recorded, never matched to sales invoices."""
FEE = "fee"
"""The bank's own charge: recorded, never matched."""
STATES = (OPEN, MATCHED, NOT_SALES, OUTGOING, FEE)


class BankAccount(Audited, TenantScoped, Base):
    """A bank account of the tenant: statements are accepted only for these."""

    __tablename__ = "bank_account"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "iban", "currency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    iban: Mapped[str] = mapped_column(sa.String(34))
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    active: Mapped[bool] = mapped_column(default=True)


class BankSettings(Audited, TenantScoped, Base):
    """The tenant's matching rule: proposals at or above the threshold are applied at once."""

    __tablename__ = "bank_settings"
    __table_args__ = (sa.UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    auto_apply_threshold: Mapped[int] = mapped_column(default=90)
    """Confidence (0-100) from which a proposed match is applied without a person."""


class Statement(Audited, TenantScoped, Base):
    """One imported file's statement: where it came from and what it brought."""

    __tablename__ = "bank_statement"
    __table_args__ = (sa.Index(None, "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("bank_account.id", ondelete="RESTRICT"))
    file_name: Mapped[str] = mapped_column(sa.String(255))
    file_format: Mapped[str] = mapped_column(sa.String(40))
    statement_ref: Mapped[str | None] = mapped_column(sa.String(100))
    period_start: Mapped[dt.date | None]
    period_end: Mapped[dt.date | None]
    opening_balance: Mapped[Decimal | None] = mapped_column(AMOUNT)
    closing_balance: Mapped[Decimal | None] = mapped_column(AMOUNT)
    entries_in_file: Mapped[int] = mapped_column(default=0)
    entries_new: Mapped[int] = mapped_column(default=0)
    matched_auto: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    account: Mapped[BankAccount] = relationship()
    created_by: Mapped[User | None] = relationship()


class BankTransaction(Audited, TenantScoped, Base):
    """One entry of a bank statement: an incoming payment, an outgoing payment or a fee.

    ``entry_key`` identifies the entry on its account (the bank's own reference, else a
    fingerprint of its contents), so the same entry in a later file is not added twice.
    New entries are inserted in bulk (the statement's own audit entry records the import);
    every later change of state is audited. ``confidence``, ``reason`` and ``suggestion``
    hold the matcher's proposal (see :mod:`plugins.bank_import.matching`).
    """

    __tablename__ = "bank_transaction"
    __audit_ignore__ = frozenset({"confidence", "reason", "suggestion"})
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "account_id", "entry_key"),
        sa.Index(None, "tenant_id", "state", "booking_date"),
        sa.Index(None, "tenant_id", "statement_id"),
        sa.Index(None, "tenant_id", "counterparty_account"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("bank_account.id", ondelete="RESTRICT"))
    statement_id: Mapped[int] = mapped_column(
        sa.ForeignKey("bank_statement.id", ondelete="RESTRICT"))
    entry_key: Mapped[str] = mapped_column(sa.String(200))
    bank_reference: Mapped[str | None] = mapped_column(sa.String(100))
    booking_date: Mapped[dt.date]
    value_date: Mapped[dt.date | None]
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    """Always positive; ``credit`` tells whether the money came in."""
    credit: Mapped[bool]
    currency: Mapped[str] = mapped_column(sa.String(3))
    counterparty_name: Mapped[str | None] = mapped_column(sa.String(200))
    counterparty_account: Mapped[str | None] = mapped_column(sa.String(50))
    reference: Mapped[str | None] = mapped_column(sa.String(40))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    end_to_end_id: Mapped[str | None] = mapped_column(sa.String(100))
    transaction_code: Mapped[str | None] = mapped_column(sa.String(40))
    state: Mapped[str] = mapped_column(sa.String(12), default=OPEN)
    client_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crm_client.id", ondelete="SET NULL"))
    """The client the payment is from, once known (matched or assigned)."""
    confidence: Mapped[int] = mapped_column(default=0)
    reason: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    """``{"code": ..., "params": {...}}``: why the proposal was made, for people to read."""
    suggestion: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    """The proposed allocations: ``[{"client_id", "invoice_id" or None, "amount"}]``."""
    note: Mapped[str | None] = mapped_column(sa.Text)

    account: Mapped[BankAccount] = relationship()
    statement: Mapped[Statement] = relationship()
    client: Mapped[Client | None] = relationship()
    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="transaction", cascade="all, delete-orphan", order_by="Allocation.id")

    @property
    def allocated(self) -> Decimal:
        """The part of the amount already allocated."""
        return sum((a.amount for a in self.allocations), Decimal("0"))

    @property
    def unallocated(self) -> Decimal:
        """The part of the amount still to allocate."""
        return self.amount - self.allocated


class Allocation(Audited, TenantScoped, Base):
    """Part (or all) of an incoming payment applied to an invoice, or kept as the client's
    prepayment when ``invoice_id`` is empty."""

    __tablename__ = "bank_allocation"
    __audit_parent__ = ("bank_transaction", "transaction_id")
    __table_args__ = (
        sa.Index(None, "tenant_id", "client_id"),
        sa.Index(None, "tenant_id", "invoice_id"),
        sa.Index(None, "tenant_id", "transaction_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(
        sa.ForeignKey("bank_transaction.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_client.id", ondelete="RESTRICT"))
    invoice_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inv_invoice.id", ondelete="RESTRICT"))
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    automatic: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    transaction: Mapped[BankTransaction] = relationship(back_populates="allocations")
    client: Mapped[Client] = relationship()
    invoice: Mapped[Invoice | None] = relationship()
