"""The client register's tables: clients and their card, activities, projects, documents.

Every table is tenant-scoped and prefixed ``crm_``; ``tenant_id`` leads the composite
indexes and unique constraints. ``*_search`` columns hold the text folded by
:func:`plugins.crm_register.search.fold` (lower case, Estonian letters to ASCII), so search
is one indexed, dialect-independent ``LIKE``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, TenantScoped, utcnow
from core.models import Audited, User

CLIENT_KINDS = ("company", "person")
ADDRESS_KINDS = ("billing", "delivery", "postal", "other")
RELATION_KINDS = ("subsidiary", "branch", "partner", "other")
"""``from`` is a subsidiary / branch / partner of ``to``."""
ACTIVITY_STATUSES = ("planned", "in_progress", "done", "cancelled")
PROJECT_STATUSES = ("lead", "offer", "negotiation", "won", "lost", "on_hold")
DOCUMENT_STATUSES = ("draft", "in_preparation", "sent", "signed", "archived")
CATALOGUE_KINDS = ("resource", "service")


class ClientGroup(Audited, TenantScoped, Base):
    """A group clients can belong to (regular, key client, gold...); defined per tenant."""

    __tablename__ = "crm_client_group"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    position: Mapped[int] = mapped_column(default=0)


class ClientType(Audited, TenantScoped, Base):
    """The client type (kliendiliik): buyer, reseller, supplier...; defined per tenant."""

    __tablename__ = "crm_client_type"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    position: Mapped[int] = mapped_column(default=0)


class ClientGroupLink(Audited, TenantScoped, Base):
    """Membership of a client in a group (a client can be in several groups at once)."""

    __audit_parent__ = ("crm_client", "client_id")
    __tablename__ = "crm_client_group_link"
    __table_args__ = (sa.Index(None, "tenant_id", "group_id"),)

    client_id: Mapped[int] = mapped_column(
        sa.ForeignKey("crm_client.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("crm_client_group.id", ondelete="CASCADE"), primary_key=True
    )

    group: Mapped[ClientGroup] = relationship(lazy="joined")


class Client(Audited, TenantScoped, Base):
    """A company or a private person the tenant does business with."""

    __tablename__ = "crm_client"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "registry_code"),
        sa.UniqueConstraint("tenant_id", "vat_number"),
        sa.Index(None, "tenant_id", "name_search"),
        sa.Index(None, "tenant_id", "salesperson_id"),
        sa.Index(None, "tenant_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(10), default="company")
    name: Mapped[str] = mapped_column(sa.String(200))
    registry_code: Mapped[str | None] = mapped_column(sa.String(20))
    vat_number: Mapped[str | None] = mapped_column(sa.String(20))
    iban: Mapped[str | None] = mapped_column(sa.String(34))
    bic: Mapped[str | None] = mapped_column(sa.String(11))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    mobile: Mapped[str | None] = mapped_column(sa.String(50))
    fax: Mapped[str | None] = mapped_column(sa.String(50))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    invoice_email: Mapped[str | None] = mapped_column(sa.String(254))
    website: Mapped[str | None] = mapped_column(sa.String(200))
    registered_on: Mapped[dt.date | None]
    client_type_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crm_client_type.id", ondelete="SET NULL")
    )
    salesperson_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL")
    )
    language: Mapped[str] = mapped_column(sa.String(8), default="et")
    notes: Mapped[str | None] = mapped_column(sa.Text)
    sales_blocked: Mapped[bool] = mapped_column(default=False)
    credit_limit: Mapped[Decimal | None]
    payment_term_days: Mapped[int | None]
    email_consent: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    name_search: Mapped[str] = mapped_column(sa.String(200), default="")
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    client_type: Mapped[ClientType | None] = relationship()
    salesperson: Mapped[User | None] = relationship()
    group_links: Mapped[list[ClientGroupLink]] = relationship(cascade="all, delete-orphan")
    groups: AssociationProxy[list[ClientGroup]] = association_proxy(
        "group_links", "group", creator=lambda group: ClientGroupLink(group=group)
    )
    addresses: Mapped[list[Address]] = relationship(
        back_populates="client", cascade="all, delete-orphan", order_by="Address.id"
    )
    contacts: Mapped[list[ClientPerson]] = relationship(
        back_populates="client", cascade="all, delete-orphan", order_by="ClientPerson.id"
    )


SEARCH_TOKEN_LENGTH = 100
# Prefix ranges on the token need byte order; PostgreSQL's default collation may not give it.
_TOKEN_TYPE = sa.String(SEARCH_TOKEN_LENGTH).with_variant(
    sa.String(SEARCH_TOKEN_LENGTH, collation="C"), "postgresql"
)


class ClientSearchToken(TenantScoped, Base):
    """One word or whole field of a client's folded search text, for prefix search.

    Search while typing reads a prefix range of ``(tenant_id, token)`` instead of scanning
    every client. Rows are derived data, replaced whenever the client's search text is
    recomputed (:func:`plugins.crm_register.clients.refresh_search`).
    """

    __tablename__ = "crm_client_search_token"
    __table_args__ = (
        sa.PrimaryKeyConstraint("tenant_id", "token", "client_id"),
        sa.Index(None, "tenant_id", "client_id"),
        # Whole names alone, for "names starting with the query first".
        sa.Index(None, "tenant_id", "is_name", "token", "client_id"),
    )

    token: Mapped[str] = mapped_column(_TOKEN_TYPE)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_client.id", ondelete="CASCADE"))
    is_name: Mapped[bool] = mapped_column(default=False)


class Person(Audited, TenantScoped, Base):
    """A contact person; one record even when linked to several clients."""

    __tablename__ = "crm_person"
    __table_args__ = (
        sa.Index(None, "tenant_id", "name_search"),
        sa.Index(None, "tenant_id", "birthday_md"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(sa.String(100), default="")
    last_name: Mapped[str] = mapped_column(sa.String(100))
    title: Mapped[str | None] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    mobile: Mapped[str | None] = mapped_column(sa.String(50))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    birthday: Mapped[dt.date | None]
    birthday_md: Mapped[str | None] = mapped_column(sa.String(5))
    """``MM-DD`` of the birthday, for "birthdays this week" without date arithmetic in SQL."""
    personal_code: Mapped[str | None] = mapped_column(sa.String(20))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    email_consent: Mapped[bool] = mapped_column(default=False)
    name_search: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    links: Mapped[list[ClientPerson]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}".strip()


class ClientPerson(Audited, TenantScoped, Base):
    """A person's role at a client (board member, signatory, accountant...)."""

    __audit_parent__ = ("crm_client", "client_id")

    __tablename__ = "crm_client_person"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "client_id", "person_id", "role"),
        sa.Index(None, "tenant_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_client.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_person.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(100), default="")
    is_primary: Mapped[bool] = mapped_column(default=False)
    receives_invoices: Mapped[bool] = mapped_column(default=False)

    client: Mapped[Client] = relationship(back_populates="contacts")
    person: Mapped[Person] = relationship(back_populates="links")


class Address(Audited, TenantScoped, Base):
    """A typed address of a client (billing, delivery, postal...)."""

    __audit_parent__ = ("crm_client", "client_id")

    __tablename__ = "crm_address"
    __table_args__ = (
        sa.Index(None, "tenant_id", "client_id"),
        sa.Index(None, "tenant_id", "city"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_client.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(10), default="billing")
    street: Mapped[str] = mapped_column(sa.String(200))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    county: Mapped[str | None] = mapped_column(sa.String(100))
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    country: Mapped[str] = mapped_column(sa.String(2), default="EE")
    recipient: Mapped[str | None] = mapped_column(sa.String(200))

    client: Mapped[Client] = relationship(back_populates="addresses")


class Relation(Audited, TenantScoped, Base):
    """``from_client`` is a subsidiary / branch / partner of ``to_client``."""

    __audit_parent__ = ("crm_client", "from_client_id")

    __tablename__ = "crm_relation"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "from_client_id", "to_client_id", "kind"),
        sa.Index(None, "tenant_id", "to_client_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_client_id: Mapped[int] = mapped_column(
        sa.ForeignKey("crm_client.id", ondelete="CASCADE")
    )
    to_client_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_client.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str | None] = mapped_column(sa.String(300))

    from_client: Mapped[Client] = relationship(foreign_keys=[from_client_id])
    to_client: Mapped[Client] = relationship(foreign_keys=[to_client_id])


class Contract(Audited, TenantScoped, Base):
    """A client contract with the base terms to respect in service (C9)."""

    __audit_parent__ = ("crm_client", "client_id")

    __tablename__ = "crm_contract"
    __table_args__ = (sa.Index(None, "tenant_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_client.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(sa.String(50))
    title: Mapped[str] = mapped_column(sa.String(200))
    starts_on: Mapped[dt.date | None]
    ends_on: Mapped[dt.date | None]
    terms: Mapped[str | None] = mapped_column(sa.Text)
    document_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crm_document.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Project(Audited, TenantScoped, Base):
    """A sales project (müügiprojekt) of a client (C14)."""

    __audit_parent__ = ("crm_client", "client_id")

    __tablename__ = "crm_project"
    __table_args__ = (sa.Index(None, "tenant_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_client.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), default="lead")
    salesperson_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL")
    )
    starts_on: Mapped[dt.date | None]
    ends_on: Mapped[dt.date | None]
    expected_value: Mapped[Decimal | None]
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship()


class ActivityType(Audited, TenantScoped, Base):
    """A kind of activity (call, meeting, e-mail, task, car trip...); defined per tenant."""

    __tablename__ = "crm_activity_type"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(30))
    name: Mapped[str] = mapped_column(sa.String(100))
    requires_kilometres: Mapped[bool] = mapped_column(default=False)
    default_minutes: Mapped[int | None]
    position: Mapped[int] = mapped_column(default=0)


class CatalogueItem(Audited, TenantScoped, Base):
    """A resource used or an extra service bought during activities."""

    __tablename__ = "crm_catalogue_item"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default="resource")
    name: Mapped[str] = mapped_column(sa.String(100))
    unit: Mapped[str] = mapped_column(sa.String(20), default="tk")
    unit_cost: Mapped[Decimal | None]
    active: Mapped[bool] = mapped_column(default=True)


class Activity(Audited, TenantScoped, Base):
    """Something done with or for a client: a call, a meeting, a task (C4, K1)."""

    __audit_parent__ = ("crm_client", "client_id")

    __tablename__ = "crm_activity"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        sa.Index(None, "tenant_id", "client_id", "starts_at"),
        sa.Index(None, "tenant_id", "performer_id", "starts_at"),
        sa.Index(None, "tenant_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    client_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crm_client.id", ondelete="CASCADE")
    )
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crm_person.id", ondelete="SET NULL")
    )
    type_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_activity_type.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default="planned")
    performer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL")
    )
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime | None]
    estimated_minutes: Mapped[int | None]
    actual_minutes: Mapped[int | None]
    kilometres: Mapped[Decimal | None]
    project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crm_project.id", ondelete="SET NULL")
    )
    follow_up_of_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crm_activity.id", ondelete="SET NULL")
    )
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    client: Mapped[Client | None] = relationship()
    person: Mapped[Person | None] = relationship()
    type: Mapped[ActivityType] = relationship()
    performer: Mapped[User | None] = relationship(foreign_keys=[performer_id])
    project: Mapped[Project | None] = relationship()
    items: Mapped[list[ActivityItem]] = relationship(
        cascade="all, delete-orphan", order_by="ActivityItem.id"
    )


class ActivityItem(Audited, TenantScoped, Base):
    """A resource used or a service bought in an activity, with its quantity."""

    __tablename__ = "crm_activity_item"
    __table_args__ = (sa.Index(None, "tenant_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_activity.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_catalogue_item.id"))
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(12, 3))

    item: Mapped[CatalogueItem] = relationship()


class DocumentType(Audited, TenantScoped, Base):
    """A kind of document (agreement, offer, specification, drawing, act...); per tenant."""

    __tablename__ = "crm_document_type"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    position: Mapped[int] = mapped_column(default=0)


class Document(Audited, TenantScoped, Base):
    """A registered document of a client; its file versions are kept (C6)."""

    __audit_parent__ = ("crm_client", "client_id")

    __tablename__ = "crm_document"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        sa.Index(None, "tenant_id", "client_id", "registered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int]
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_client.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200))
    type_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crm_document_type.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")
    project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crm_project.id", ondelete="SET NULL")
    )
    activity_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crm_activity.id", ondelete="SET NULL")
    )
    registrar_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL")
    )
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    description: Mapped[str | None] = mapped_column(sa.Text)

    client: Mapped[Client] = relationship()
    type: Mapped[DocumentType | None] = relationship()
    registrar: Mapped[User | None] = relationship()
    versions: Mapped[list[DocumentVersion]] = relationship(
        cascade="all, delete-orphan", order_by="DocumentVersion.version.desc()"
    )


class DocumentVersion(TenantScoped, Base):
    """One uploaded file of a document; older versions stay downloadable."""

    __tablename__ = "crm_document_version"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "document_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("crm_document.id", ondelete="CASCADE"))
    version: Mapped[int]
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(300))
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL")
    )
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Announcement(Audited, TenantScoped, Base):
    """A general announcement on the front page, visible until it expires (D3)."""

    __tablename__ = "crm_announcement"
    __table_args__ = (sa.Index(None, "tenant_id", "expires_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str | None] = mapped_column(sa.Text)
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_on: Mapped[dt.date | None]

    author: Mapped[User | None] = relationship()


class TargetGroup(Audited, TenantScoped, Base):
    """A saved client filter (R3), e.g. "gold clients in Tartu"."""

    __tablename__ = "crm_target_group"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    filters: Mapped[dict[str, object]] = mapped_column(sa.JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Counter(TenantScoped, Base):
    """The last number given per tenant and series (clients, activities, documents)."""

    __tablename__ = "crm_counter"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(30))
    value: Mapped[int] = mapped_column(default=0)
