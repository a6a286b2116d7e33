"""Tables of the invoicing plugin: VAT rates, products, client discounts, offers, invoices.

Every table is tenant-scoped and prefixed ``inv_``. Money is ``Numeric`` (``Decimal``);
unit prices keep four decimals, amounts two. Invoices keep a copy of the seller's and the
buyer's details as they were when confirmed, so a later change of the client does not
change an issued invoice.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, TenantScoped, utcnow
from core.models import Audited, User
from plugins.crm_register.models import Client

AMOUNT = sa.Numeric(14, 2)
PRICE = sa.Numeric(14, 4)
QUANTITY = sa.Numeric(14, 3)
PERCENT = sa.Numeric(5, 2)


class VatRate(Audited, TenantScoped, Base):
    """A VAT rate valid in a period: products name the ``code``; the percent is the one
    valid on the invoice date (e.g. ``standard``: 22 % until 2025-06-30, 24 % after)."""

    __tablename__ = "inv_vat_rate"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(100))
    category: Mapped[str] = mapped_column(sa.String(3), default="S")
    """UNCL5305 VAT category: S standard, Z zero, E exempt, AE reverse charge, K intra-EU,
    G export, O outside the scope."""
    percent: Mapped[Decimal] = mapped_column(PERCENT)
    valid_from: Mapped[dt.date]
    valid_until: Mapped[dt.date | None]
    exemption_reason: Mapped[str | None] = mapped_column(sa.String(200))


class ProductGroup(Audited, TenantScoped, Base):
    """A group of products; client discounts are per group."""

    __tablename__ = "inv_product_group"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    position: Mapped[int] = mapped_column(default=0)


class Product(Audited, TenantScoped, Base):
    """A product or service with its unit, net price and VAT rate code."""

    __tablename__ = "inv_product"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code"),
        sa.Index(None, "tenant_id", "group_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str | None] = mapped_column(sa.String(200))
    group_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inv_product_group.id", ondelete="SET NULL"))
    is_service: Mapped[bool] = mapped_column(default=False)
    unit_code: Mapped[str] = mapped_column(sa.String(3), default="H87")
    """UN/ECE Recommendation 20 unit code."""
    price: Mapped[Decimal] = mapped_column(PRICE)
    vat_code: Mapped[str] = mapped_column(sa.String(20), default="standard")
    service_minutes: Mapped[int | None]
    """How long the service takes (the order flow books this much time)."""
    active: Mapped[bool] = mapped_column(default=True)

    group: Mapped[ProductGroup | None] = relationship()


class ClientDiscount(Audited, TenantScoped, Base):
    """The discount percentage a client gets on a product group (C5)."""

    __tablename__ = "inv_client_discount"
    __audit_parent__ = ("crm_client", "client_id")
    __table_args__ = (sa.Index(None, "tenant_id", "group_id"),)

    client_id: Mapped[int] = mapped_column(
        sa.ForeignKey("crm_client.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("inv_product_group.id", ondelete="CASCADE"), primary_key=True)
    percent: Mapped[Decimal] = mapped_column(PERCENT)

    group: Mapped[ProductGroup] = relationship(lazy="joined")


class ClientReference(TenantScoped, Base):
    """The client's own reference number (when the tenant uses one per client)."""

    __tablename__ = "inv_client_reference"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "reference"),)

    client_id: Mapped[int] = mapped_column(
        sa.ForeignKey("crm_client.id", ondelete="CASCADE"), primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(35))


class Settings(Audited, TenantScoped, Base):
    """The tenant's invoicing settings: seller details, bank account, rules."""

    __tablename__ = "inv_settings"
    __table_args__ = (sa.UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_name: Mapped[str] = mapped_column(sa.String(200), default="")
    registry_code: Mapped[str | None] = mapped_column(sa.String(20))
    vat_number: Mapped[str | None] = mapped_column(sa.String(20))
    street: Mapped[str | None] = mapped_column(sa.String(200))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    country: Mapped[str] = mapped_column(sa.String(2), default="EE")
    email: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    iban: Mapped[str | None] = mapped_column(sa.String(34))
    bic: Mapped[str | None] = mapped_column(sa.String(11))
    bank_name: Mapped[str | None] = mapped_column(sa.String(100))
    payment_term_days: Mapped[int] = mapped_column(default=14)
    reference_mode: Mapped[str] = mapped_column(sa.String(10), default="invoice")
    """``invoice``: a reference number per invoice; ``client``: one per client."""
    group_discounts: Mapped[bool] = mapped_column(default=True)
    """Apply the client's product-group discounts (then no line discount on those lines)."""
    line_discounts: Mapped[bool] = mapped_column(default=True)
    invoice_discounts: Mapped[bool] = mapped_column(default=False)
    invoice_footer: Mapped[str | None] = mapped_column(sa.Text)
    offer_valid_days: Mapped[int] = mapped_column(default=30)


class Series(TenantScoped, Base):
    """A numbering series of invoices: numbers are ``prefix`` + sequence, without gaps."""

    __tablename__ = "inv_series"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    prefix: Mapped[str] = mapped_column(sa.String(20), default="")
    last_number: Mapped[int] = mapped_column(default=0)
    digits: Mapped[int] = mapped_column(default=4)


class _LineColumns:
    """The columns shared by offer and invoice lines."""

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(sa.String(300))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_code: Mapped[str] = mapped_column(sa.String(3), default="H87")
    unit_price: Mapped[Decimal] = mapped_column(PRICE)
    discount_percent: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0"))
    group_discount: Mapped[bool] = mapped_column(default=False)
    """The discount is the client's product-group discount (no further discount)."""
    vat_code: Mapped[str] = mapped_column(sa.String(20), default="standard")
    vat_category: Mapped[str] = mapped_column(sa.String(3), default="S")
    vat_percent: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0"))
    net_amount: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0"))


class Offer(Audited, TenantScoped, Base):
    """An offer (quote) to a client; an accepted offer becomes an invoice (W3)."""

    __tablename__ = "inv_offer"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        sa.Index(None, "tenant_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int]
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_client.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(sa.String(12), default="draft")
    """draft, sent, accepted, rejected, invoiced."""
    issue_date: Mapped[dt.date]
    valid_until: Mapped[dt.date]
    notes: Mapped[str | None] = mapped_column(sa.Text)
    discount_percent: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0"))
    total_net: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0"))
    total_vat: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0"))
    invoice_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inv_invoice.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship()
    lines: Mapped[list[OfferLine]] = relationship(
        cascade="all, delete-orphan", order_by="OfferLine.position")


class OfferLine(_LineColumns, Audited, TenantScoped, Base):
    """A line of an offer."""

    __tablename__ = "inv_offer_line"
    __audit_parent__ = ("inv_offer", "offer_id")
    __table_args__ = (sa.Index(None, "tenant_id", "offer_id"),)

    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("inv_offer.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inv_product.id", ondelete="SET NULL"))


class Invoice(Audited, TenantScoped, Base):
    """A sales invoice, prepayment invoice or credit invoice.

    A draft can be edited; confirming gives it the next number of its series and freezes
    it (the seller and buyer details are copied onto it). ``paid_amount`` follows the
    payments matched to it (:func:`plugins.invoicing.invoices.set_paid_amount`).
    """

    __tablename__ = "inv_invoice"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        sa.Index(None, "tenant_id", "client_id", "issue_date"),
        sa.Index(None, "tenant_id", "status"),
        sa.Index(None, "tenant_id", "reference_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(12), default="invoice")
    """invoice, prepayment, credit."""
    status: Mapped[str] = mapped_column(sa.String(12), default="draft")
    """draft, confirmed, sent, partly_paid, paid, credited (overdue is shown from the due
    date, see :func:`plugins.invoicing.invoices.display_status`)."""
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inv_series.id"))
    sequence: Mapped[int | None]
    number: Mapped[str | None] = mapped_column(sa.String(40))
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_client.id", ondelete="RESTRICT"))
    language: Mapped[str] = mapped_column(sa.String(8), default="et")
    issue_date: Mapped[dt.date]
    due_date: Mapped[dt.date]
    delivery_date: Mapped[dt.date | None]
    payment_term_days: Mapped[int] = mapped_column(default=14)
    reference_number: Mapped[str | None] = mapped_column(sa.String(35))
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    discount_percent: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0"))
    total_net: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0"))
    total_vat: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0"))
    paid_amount: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0"))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    buyer_reference: Mapped[str | None] = mapped_column(sa.String(100))
    invoice_email: Mapped[str | None] = mapped_column(sa.String(200))
    """Where the invoice is e-mailed (from the client card; can be corrected per invoice)."""
    credited_invoice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inv_invoice.id"))
    snapshot: Mapped[dict | None] = mapped_column(sa.JSON)
    """Seller, buyer and bank details as they were at confirmation."""
    override_reason: Mapped[str | None] = mapped_column(sa.Text)
    """Why confirming needed the override (sales block or credit limit), when it did."""
    confirmed_at: Mapped[dt.datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL"))
    sent_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        cascade="all, delete-orphan", order_by="InvoiceLine.position")
    credited_invoice: Mapped[Invoice | None] = relationship(remote_side=[id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])


class InvoiceLine(_LineColumns, Audited, TenantScoped, Base):
    """A line of an invoice."""

    __tablename__ = "inv_invoice_line"
    __audit_parent__ = ("inv_invoice", "invoice_id")
    __table_args__ = (sa.Index(None, "tenant_id", "invoice_id"),)

    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("inv_invoice.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inv_product.id", ondelete="SET NULL"))
    credited_line_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inv_invoice_line.id", ondelete="SET NULL"))


class Delivery(TenantScoped, Base):
    """One sending of an invoice: by e-mail (with the outbox message) or as an e-invoice."""

    __tablename__ = "inv_delivery"
    __table_args__ = (sa.Index(None, "tenant_id", "invoice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("inv_invoice.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(sa.String(30))
    """``email`` or the name of an e-invoice channel."""
    recipient: Mapped[str] = mapped_column(sa.String(200), default="")
    mail_message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_mail_message.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    detail: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Order(Audited, TenantScoped, Base):
    """A phone order going through the order flow (W2): the lines picked, the service time
    chosen, then the prepayment invoice and the booked activity."""

    __tablename__ = "inv_order"
    __table_args__ = (sa.Index(None, "tenant_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_client.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(12), default="open")
    """open, confirmed, cancelled."""
    step: Mapped[str] = mapped_column(sa.String(40), default="")
    """The name of the step the order is at."""
    lines: Mapped[list[dict]] = mapped_column(sa.JSON, default=list)
    """``[{"product_id": 1, "quantity": "2"}]`` as picked."""
    performer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL"))
    slot_start: Mapped[dt.datetime | None]
    slot_end: Mapped[dt.datetime | None]
    invoice_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inv_invoice.id", ondelete="SET NULL"))
    activity_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crm_activity.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship()
