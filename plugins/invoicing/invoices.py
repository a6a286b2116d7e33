"""Invoice services: drafts from the client's data, lines with discounts, totals,
confirmation with gap-free numbers, copies, credit invoices, paid amounts and the document.

These functions are the plugin's public service API (bank_import records payments with
:func:`set_paid_amount` and, for many at once, :func:`add_paid_amounts`; the order flow
builds invoices with :func:`new_draft` and :func:`add_line`). They work on the session's
tenant and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import mark_changed, utcnow
from core.models import User
from plugins.crm_register.models import Address, Client
from plugins.invoicing import document as docs
from plugins.invoicing import references
from plugins.invoicing.i18n import _
from plugins.invoicing.models import (
    ClientDiscount,
    ClientReference,
    Invoice,
    InvoiceLine,
    Product,
    Series,
    Settings,
    VatRate,
)
from plugins.invoicing.totals import TaxedAmount, line_net, summarise

ZERO = Decimal("0.00")
OPEN_STATUSES = ("confirmed", "sent", "partly_paid")
"""Confirmed invoices that still wait for (part of) their payment."""


class InvoiceError(Exception):
    """An invoice operation that cannot be done; ``message`` is a translation string."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def settings_of(dbsession: Session) -> Settings:
    """The tenant's invoicing settings (created with defaults when missing)."""
    settings = dbsession.scalar(sa.select(Settings))
    if settings is None:
        settings = Settings()
        dbsession.add(settings)
        dbsession.flush()
    return settings


def vat_rate_on(dbsession: Session, code: str, day: dt.date) -> VatRate | None:
    """The VAT rate with ``code`` valid on ``day``, or None."""
    return dbsession.scalar(
        sa.select(VatRate)
        .where(VatRate.code == code, VatRate.valid_from <= day,
               sa.or_(VatRate.valid_until.is_(None), VatRate.valid_until >= day))
        .order_by(VatRate.valid_from.desc()).limit(1))


def vat_codes(dbsession: Session) -> list[str]:
    """Every VAT rate code of the tenant, sorted."""
    return list(dbsession.scalars(sa.select(VatRate.code).distinct().order_by(VatRate.code)))


def client_reference(dbsession: Session, client: Client) -> str:
    """The client's own reference number (made from the client number the first time)."""
    row = dbsession.get(ClientReference, client.id)
    if row is None:
        row = ClientReference(client_id=client.id,
                              reference=references.make_reference(1000 + client.number))
        dbsession.add(row)
        dbsession.flush()
    return row.reference


def billing_address(dbsession: Session, client: Client) -> Address | None:
    """The client's billing address, else its first address."""
    addresses = list(dbsession.scalars(
        sa.select(Address).where(Address.client_id == client.id).order_by(Address.id)))
    for kind in ("billing", "postal"):
        for address in addresses:
            if address.kind == kind:
                return address
    return addresses[0] if addresses else None


def group_discounts(dbsession: Session, client_id: int) -> dict[int, Decimal]:
    """The client's discount percent per product group id."""
    return dict(dbsession.execute(
        sa.select(ClientDiscount.group_id, ClientDiscount.percent)
        .where(ClientDiscount.client_id == client_id)).all())


def new_draft(dbsession: Session, client: Client, user: User | None, *,
              kind: str = docs.KIND_INVOICE, issue_date: dt.date | None = None) -> Invoice:
    """A new draft invoice for ``client`` with its payment term, language and invoice
    e-mail; dated today (``issue_date``)."""
    settings = settings_of(dbsession)
    today = issue_date or dt.date.today()
    term = client.payment_term_days if client.payment_term_days is not None \
        else settings.payment_term_days
    invoice = Invoice(
        kind=kind, status="draft", client=client, client_id=client.id,
        language=client.language or "et", issue_date=today,
        due_date=today + dt.timedelta(days=term), payment_term_days=term,
        invoice_email=client.invoice_email or client.email,
        created_by_id=user.id if user else None)
    dbsession.add(invoice)
    dbsession.flush()
    return invoice


@dataclass(frozen=True)
class LineInput:
    """What a user enters for a line (a product, or free text with a price)."""

    product_id: int | None = None
    description: str | None = None
    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = None
    discount_percent: Decimal = Decimal(0)
    vat_code: str | None = None
    unit_code: str | None = None


def add_line(dbsession: Session, invoice: Invoice, line: LineInput) -> InvoiceLine:
    """Append a line to a draft: product defaults, the client's group discount (which then
    excludes any other line discount) or the entered line discount, totals recomputed."""
    require_draft(invoice)
    product = dbsession.get(Product, line.product_id) if line.product_id else None
    row = InvoiceLine(
        position=len(invoice.lines) + 1,
        product_id=product.id if product else None,
        description=line.description or (product_name(product, invoice.language)
                                         if product else ""),
        quantity=line.quantity,
        unit_code=line.unit_code or (product.unit_code if product else "H87"),
        unit_price=line.unit_price if line.unit_price is not None
        else (product.price if product else ZERO),
        vat_code=line.vat_code or (product.vat_code if product else "standard"),
        discount_percent=line.discount_percent,
    )
    invoice.lines.append(row)
    apply_discount_rules(dbsession, invoice, row, product)
    recalculate(dbsession, invoice)
    return row


def product_name(product: Product, language: str) -> str:
    """The product's name in ``language`` (English when given, else the Estonian name)."""
    return (product.name_en or product.name) if language == "en" else product.name


def apply_discount_rules(dbsession: Session, invoice: Invoice, line: InvoiceLine,
                         product: Product | None) -> None:
    """Set the line's discount by the tenant's discount model: the client's product-group
    discount when there is one (no further discount then), else the entered line discount
    when line discounts are allowed, else none."""
    settings = settings_of(dbsession)
    line.group_discount = False
    if settings.group_discounts and product is not None and product.group_id is not None:
        percent = group_discounts(dbsession, invoice.client_id).get(product.group_id)
        if percent:
            line.discount_percent = percent
            line.group_discount = True
            return
    if not settings.line_discounts:
        line.discount_percent = Decimal(0)


def recalculate(dbsession: Session, invoice: Invoice) -> None:
    """Recompute the line nets, VAT rates (valid on the issue date) and the totals."""
    rates: dict[str, VatRate | None] = {}
    for position, line in enumerate(invoice.lines, start=1):
        line.position = position
        if line.vat_code not in rates:
            rates[line.vat_code] = vat_rate_on(dbsession, line.vat_code, invoice.issue_date)
        rate = rates[line.vat_code]
        if rate is not None:
            line.vat_percent = rate.percent
            line.vat_category = rate.category
        line.net_amount = line_net(line.quantity, line.unit_price, line.discount_percent)
    summary = summarise(
        (TaxedAmount(li.net_amount, li.vat_category, li.vat_percent) for li in invoice.lines),
        invoice.discount_percent or ZERO)
    invoice.total_net = summary.total_net
    invoice.total_vat = summary.total_vat
    invoice.total = summary.total


def require_draft(invoice: Invoice) -> None:
    """Refuse to change a confirmed invoice."""
    if invoice.status != "draft":
        raise InvoiceError(_("A confirmed invoice cannot be changed."))


def missing_vat_rates(dbsession: Session, invoice: Invoice) -> list[str]:
    """The VAT codes of the lines that have no rate valid on the issue date."""
    codes = {line.vat_code for line in invoice.lines}
    return sorted(code for code in codes
                  if vat_rate_on(dbsession, code, invoice.issue_date) is None)


def open_balance(dbsession: Session, client_id: int, exclude_id: int | None = None) -> Decimal:
    """What the client owes on confirmed, unpaid invoices (credit invoices lower it)."""
    stmt = (sa.select(sa.func.coalesce(sa.func.sum(Invoice.total - Invoice.paid_amount), 0))
            .where(Invoice.client_id == client_id, Invoice.status.in_(OPEN_STATUSES)))
    if exclude_id is not None:
        stmt = stmt.where(Invoice.id != exclude_id)
    return Decimal(dbsession.scalar(stmt) or 0)


@dataclass(frozen=True)
class Override:
    """Who confirmed past a sales block or credit limit, and why."""

    user_id: int
    reason: str


def confirm(dbsession: Session, invoice: Invoice, user: User, *,
            can_override: bool = False, now: dt.datetime | None = None) -> Override | None:
    """Confirm a draft: checks, the next number of its series, a reference number and a
    frozen copy of the seller and buyer details. Raises :class:`InvoiceError` (nothing
    changed, no number taken) for no lines, a VAT rate not valid on the issue date, an
    invalid reference number, or a blocked client / credit limit without ``can_override``.
    Returns the override used, if any (the caller logs it)."""
    require_draft(invoice)
    if not invoice.lines:
        raise InvoiceError(_("An invoice without lines cannot be confirmed."))
    missing = missing_vat_rates(dbsession, invoice)
    if missing:
        raise InvoiceError(_(
            "No VAT rate ${codes} is valid on ${date}; correct the lines or the VAT rates.",
            mapping={"codes": ", ".join(missing), "date": invoice.issue_date.isoformat()}))
    if invoice.reference_number and not references.is_valid_estonian(invoice.reference_number) \
            and not references.is_valid_rf(invoice.reference_number):
        raise InvoiceError(_("The reference number ${ref} is not valid.",
                             mapping={"ref": invoice.reference_number}))
    recalculate(dbsession, invoice)
    client = invoice.client
    override = None
    if invoice.kind != docs.KIND_CREDIT:
        problem = None
        if client.sales_blocked:
            problem = _("Sales to ${client} are blocked.", mapping={"client": client.name})
        elif client.credit_limit is not None:
            owed = open_balance(dbsession, client.id, exclude_id=invoice.id) + invoice.total
            if owed > client.credit_limit:
                problem = _("${client} would owe ${owed} €, over the credit limit ${limit} €.",
                            mapping={"client": client.name, "owed": owed,
                                     "limit": client.credit_limit})
        if problem is not None:
            if not can_override:
                raise InvoiceError(problem)
            override = Override(user.id, problem.interpolate())
            invoice.override_reason = override.reason
    series = dbsession.scalar(
        sa.select(Series).where(Series.code == invoice.kind).with_for_update())
    if series is None:
        series = dbsession.scalar(
            sa.select(Series).where(Series.code == docs.KIND_INVOICE).with_for_update())
    if series is None:
        series = Series(code=docs.KIND_INVOICE, prefix="")
        dbsession.add(series)
    series.last_number += 1
    invoice.series_id = series.id
    invoice.sequence = series.last_number
    invoice.number = f"{series.prefix}{series.last_number:0{series.digits}d}" \
        if series.digits else f"{series.prefix}{series.last_number}"
    settings = settings_of(dbsession)
    if not invoice.reference_number:
        invoice.reference_number = client_reference(dbsession, client) \
            if settings.reference_mode == "client" \
            else references.make_reference(f"{invoice.sequence}{_series_digit(series)}")
    invoice.status = "confirmed"
    invoice.confirmed_at = now or utcnow()
    invoice.confirmed_by_id = user.id
    invoice.snapshot = snapshot(dbsession, invoice, settings)
    dbsession.flush()
    return override


def _series_digit(series: Series) -> str:
    """A digit that keeps references of different series apart (invoice 1, credit 2...)."""
    return {"invoice": "1", "credit": "2", "prepayment": "3"}.get(series.code, "9")


def snapshot(dbsession: Session, invoice: Invoice, settings: Settings) -> dict[str, Any]:
    """The seller, buyer and bank details to freeze on a confirmed invoice."""
    client = invoice.client
    address = billing_address(dbsession, client)
    return {
        "seller": {
            "name": settings.seller_name, "registry_code": settings.registry_code,
            "vat_number": settings.vat_number, "street": settings.street or "",
            "city": settings.city or "", "postal_code": settings.postal_code or "",
            "country": settings.country or "EE", "email": settings.email,
            "phone": settings.phone,
        },
        "buyer": {
            "name": client.name, "registry_code": client.registry_code,
            "vat_number": client.vat_number, "is_person": client.kind == "person",
            "street": address.street if address else "",
            "city": (address.city or "") if address else "",
            "postal_code": (address.postal_code or "") if address else "",
            "county": (address.county or "") if address else "",
            "country": address.country if address else "EE",
            "email": invoice.invoice_email, "phone": client.phone or client.mobile,
        },
        "bank": {"iban": settings.iban, "bic": settings.bic, "bank_name": settings.bank_name},
        "footer": settings.invoice_footer,
    }


def invoice_document(dbsession: Session, invoice: Invoice) -> docs.InvoiceDocument:
    """The :class:`~plugins.invoicing.document.InvoiceDocument` of ``invoice`` (a draft
    shows the current client and seller details)."""
    data = invoice.snapshot or snapshot(dbsession, invoice, settings_of(dbsession))
    seller, buyer, bank = data["seller"], data["buyer"], data["bank"]
    lines = [
        docs.DocumentLine(
            position=li.position, description=li.description, quantity=li.quantity,
            unit_code=li.unit_code, unit_label=unit_label(li.unit_code, invoice.language),
            unit_price=li.unit_price, discount_percent=li.discount_percent,
            net_amount=li.net_amount, vat_category=li.vat_category, vat_percent=li.vat_percent,
            product_code=dbsession.get(Product, li.product_id).code if li.product_id else None)
        for li in invoice.lines
    ]
    reasons = dict(dbsession.execute(
        sa.select(VatRate.category, VatRate.exemption_reason)
        .where(VatRate.exemption_reason.is_not(None))).all())
    summary = summarise((TaxedAmount(li.net_amount, li.vat_category, li.vat_percent)
                         for li in lines), invoice.discount_percent or ZERO, reasons)
    credited = invoice.credited_invoice
    return docs.InvoiceDocument(
        kind=invoice.kind, number=invoice.number or "", issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        seller=docs.Party(
            name=seller["name"], registry_code=seller["registry_code"],
            vat_number=seller["vat_number"],
            address=docs.Address(seller["street"], seller["city"], seller["postal_code"], "",
                                 seller["country"]),
            email=seller["email"], phone=seller["phone"]),
        buyer=docs.Party(
            name=buyer["name"], registry_code=buyer["registry_code"],
            vat_number=buyer["vat_number"], is_person=buyer["is_person"],
            address=docs.Address(buyer["street"], buyer["city"], buyer["postal_code"],
                                 buyer["county"], buyer["country"] or "EE"),
            email=buyer["email"], phone=buyer["phone"]),
        lines=lines, vat=summary.vat, allowances=summary.allowances,
        currency=invoice.currency, language=invoice.language,
        reference_number=invoice.reference_number,
        bank_accounts=[docs.BankAccount(bank["iban"], bank["bic"], bank["bank_name"])]
        if bank.get("iban") else [],
        delivery_date=invoice.delivery_date, notes=_notes(invoice.notes, data.get("footer")),
        credited_number=credited.number if credited else None,
        credited_issue_date=credited.issue_date if credited else None,
        buyer_reference=invoice.buyer_reference, payment_term_days=invoice.payment_term_days,
    )


def _notes(notes: str | None, footer: str | None) -> str | None:
    parts = [p for p in (notes, footer) if p]
    return "\n\n".join(parts) or None


UNIT_LABELS = {
    "H87": ("tk", "pcs"), "C62": ("tk", "pcs"), "HUR": ("h", "h"), "DAY": ("päev", "day"),
    "MON": ("kuu", "month"), "KGM": ("kg", "kg"), "MTR": ("m", "m"), "MTK": ("m²", "m²"),
    "LTR": ("l", "l"), "KMT": ("km", "km"), "SET": ("kompl", "set"),
}
"""UN/ECE Recommendation 20 codes offered for units, with Estonian and English labels."""


def unit_label(code: str, language: str) -> str:
    """The short label of a unit code in ``language``."""
    labels = UNIT_LABELS.get(code)
    if labels is None:
        return code
    return labels[1] if language == "en" else labels[0]


def copy_invoice(dbsession: Session, source: Invoice, user: User | None) -> Invoice:
    """A new draft for the same client with the lines of ``source`` (prices as they were,
    VAT rates of today)."""
    draft = new_draft(dbsession, source.client, user,
                      kind=docs.KIND_INVOICE if source.kind == docs.KIND_CREDIT else source.kind)
    draft.discount_percent = source.discount_percent
    draft.notes = source.notes
    draft.buyer_reference = source.buyer_reference
    for line in source.lines:
        draft.lines.append(InvoiceLine(
            position=line.position, product_id=line.product_id, description=line.description,
            quantity=abs(line.quantity), unit_code=line.unit_code, unit_price=line.unit_price,
            discount_percent=line.discount_percent, group_discount=line.group_discount,
            vat_code=line.vat_code))
    recalculate(dbsession, draft)
    dbsession.flush()
    return draft


def credited_quantities(dbsession: Session, invoice: Invoice) -> dict[int, Decimal]:
    """How much of each line of ``invoice`` earlier credit invoices (drafts included) took."""
    rows = dbsession.execute(
        sa.select(InvoiceLine.credited_line_id, sa.func.sum(InvoiceLine.quantity))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.credited_invoice_id == invoice.id,
               InvoiceLine.credited_line_id.is_not(None))
        .group_by(InvoiceLine.credited_line_id)).all()
    return {line_id: -Decimal(total) for line_id, total in rows}


def credit_invoice(dbsession: Session, source: Invoice, user: User | None,
                   quantities: dict[int, Decimal] | None = None) -> Invoice:
    """A draft credit invoice of a confirmed ``source``: every line not yet credited
    (``quantities=None``), or the given quantity per line id. Raises
    :class:`InvoiceError` for a draft, a credit invoice, or more than is left."""
    if source.status == "draft":
        raise InvoiceError(_("Only a confirmed invoice can be credited."))
    if source.kind == docs.KIND_CREDIT:
        raise InvoiceError(_("A credit invoice cannot be credited."))
    taken = credited_quantities(dbsession, source)
    draft = new_draft(dbsession, source.client, user, kind=docs.KIND_CREDIT)
    draft.credited_invoice_id = source.id
    draft.credited_invoice = source
    draft.invoice_email = source.invoice_email
    draft.discount_percent = source.discount_percent
    draft.reference_number = source.reference_number
    draft.language = source.language
    for line in source.lines:
        left = line.quantity - taken.get(line.id, Decimal(0))
        wanted = left if quantities is None else quantities.get(line.id, Decimal(0))
        if wanted <= 0:
            continue
        if wanted > left:
            raise InvoiceError(_("Line ${n} has only ${left} left to credit.",
                                 mapping={"n": line.position, "left": left}))
        draft.lines.append(InvoiceLine(
            position=line.position, product_id=line.product_id, description=line.description,
            quantity=-wanted, unit_code=line.unit_code, unit_price=line.unit_price,
            discount_percent=line.discount_percent, group_discount=line.group_discount,
            vat_code=line.vat_code, vat_category=line.vat_category,
            vat_percent=line.vat_percent, credited_line_id=line.id))
    if not draft.lines:
        raise InvoiceError(_("Every line of the invoice is already credited."))
    draft.issue_date = dt.date.today()
    draft.due_date = draft.issue_date
    _recalculate_keeping_rates(draft)
    dbsession.flush()
    return draft


def _recalculate_keeping_rates(invoice: Invoice) -> None:
    """Totals of a credit invoice with the VAT rates of the credited invoice."""
    for line in invoice.lines:
        line.net_amount = line_net(line.quantity, line.unit_price, line.discount_percent)
    summary = summarise(
        (TaxedAmount(li.net_amount, li.vat_category, li.vat_percent) for li in invoice.lines),
        invoice.discount_percent or ZERO)
    invoice.total_net, invoice.total_vat, invoice.total = (
        summary.total_net, summary.total_vat, summary.total)


def after_credit_confirmed(dbsession: Session, credit: Invoice) -> None:
    """Mark the credited invoice "credited" when its lines are fully credited."""
    source = credit.credited_invoice
    if source is None:
        return
    taken = credited_quantities(dbsession, source)
    if all(taken.get(li.id, Decimal(0)) >= li.quantity for li in source.lines):
        source.status = "credited"


def paid_status(status: str, total: Decimal, paid: Decimal, sent: bool) -> str:
    """The status of an invoice with ``paid`` paid: paid, partly paid, or back to
    confirmed/sent; drafts and credited invoices keep theirs."""
    if status in ("draft", "credited"):
        return status
    if total > 0 and paid >= total:
        return "paid"
    if paid > 0:
        return "partly_paid"
    return "sent" if sent else "confirmed"


def set_paid_amount(invoice: Invoice, paid: Decimal) -> None:
    """Record what has been paid on a confirmed invoice and update its status (paid,
    partly paid or back to confirmed/sent)."""
    invoice.paid_amount = paid
    invoice.status = paid_status(invoice.status, invoice.total, paid, invoice.sent_at is not None)


def add_paid_amounts(dbsession: Session, amounts: dict[int, Decimal]) -> int:
    """Add payments to many invoices at once (``{invoice id: amount}``), like
    :func:`set_paid_amount` but in bulk SQL, with an audit entry per invoice; for matching
    thousands of bank payments. Returns how many invoices changed.

    ORM objects of these invoices already in the session are expired (they are stale).
    """
    from core.audit import record_bulk

    ids = sorted(amounts)
    updates: list[dict[str, Any]] = []
    changes: list[tuple[int, dict[str, list[Any]]]] = []
    for start in range(0, len(ids), 500):
        rows = dbsession.execute(
            sa.select(Invoice.id, Invoice.status, Invoice.total, Invoice.paid_amount,
                      Invoice.sent_at).where(Invoice.id.in_(ids[start:start + 500])))
        for row in rows:
            paid = row.paid_amount + amounts[row.id]
            status = paid_status(row.status, row.total, paid, row.sent_at is not None)
            updates.append({"b_id": row.id, "b_tenant": dbsession.info["tenant_id"],
                            "paid_amount": paid, "status": status})
            change = {"paid_amount": [row.paid_amount, paid]}
            if status != row.status:
                change["status"] = [row.status, status]
            changes.append((row.id, change))
    if updates:
        table = Invoice.__table__
        dbsession.connection().execute(
            table.update().where(table.c.id == sa.bindparam("b_id"),
                                 table.c.tenant_id == sa.bindparam("b_tenant")),
            updates)
        mark_changed(dbsession)
        record_bulk(dbsession, Invoice, "update", changes)
        for invoice_id in ids:
            invoice = dbsession.identity_map.get(
                dbsession.identity_key(Invoice, invoice_id))  # type: ignore[arg-type]
            if invoice is not None:
                dbsession.expire(invoice)
    return len(updates)


def display_status(invoice: Invoice, today: dt.date) -> str:
    """The status to show: ``overdue`` for an open invoice past its due date."""
    if invoice.status in OPEN_STATUSES and invoice.due_date < today \
            and invoice.paid_amount < invoice.total:
        return "overdue"
    return invoice.status


def is_overdue(invoice: Invoice, today: dt.date) -> bool:
    """True when an open invoice is past its due date and not fully paid."""
    return display_status(invoice, today) == "overdue"


def client_invoices(dbsession: Session, client_id: int) -> sa.Select[tuple[Invoice]]:
    """The client's invoices, newest first."""
    return (sa.select(Invoice).where(Invoice.client_id == client_id)
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc()))


def lines_from_products(dbsession: Session, invoice: Invoice,
                        picks: Iterable[tuple[int, Decimal]]) -> None:
    """Add a line per ``(product id, quantity)``."""
    for product_id, quantity in picks:
        add_line(dbsession, invoice, LineInput(product_id=product_id, quantity=quantity))
