"""Hook implementations of the invoicing plugin."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from sqlalchemy.orm import Session

from core.models import Tenant
from core.sdk import CardTab, EInvoiceChannel, JobHandler, MenuItem, Permission, hookimpl
from plugins.crm_register.permissions import CLIENT_VIEW as CRM_CLIENT_VIEW
from plugins.invoicing import permissions as perm
from plugins.invoicing.i18n import _

PLUGIN = "invoicing"


@hookimpl
def permissions() -> list[Permission]:
    """The invoicing permissions."""
    return list(perm.PERMISSIONS)


@hookimpl
def plugin_enabled(dbsession: Session, tenant: Tenant, plugin: str) -> None:
    """Give the tenant VAT rates, numbering series and product groups the first time."""
    if plugin == PLUGIN:
        from plugins.invoicing.defaults import create_defaults

        create_defaults(dbsession, tenant)


@hookimpl
def job_handlers() -> list[JobHandler]:
    """Bulk sending of invoices by e-mail: the job the user starts and its further chunks."""
    from plugins.invoicing.bulk import BULK_SEND, BULK_SEND_NEXT, run_bulk_send

    return [
        JobHandler(kind=BULK_SEND, run=run_bulk_send,
                   description="E-mail the chosen invoices (the first chunk)"),
        JobHandler(kind=BULK_SEND_NEXT, run=run_bulk_send,
                   description="E-mail the next chunk of a bulk sending of invoices"),
    ]


@hookimpl
def menu_items(request: Request) -> list[MenuItem]:
    """Invoices and products in the main menu; invoicing settings for administrators."""
    return [
        MenuItem("inv.invoices", _("Invoices"), "inv_invoices", perm.INVOICE_VIEW, order=40),
        MenuItem("inv.products", _("Products"), "inv_products", perm.PRODUCT_VIEW, order=50),
        MenuItem("inv.settings", _("Invoicing settings"), "inv_settings",
                 perm.SETTINGS_MANAGE, order=80, section="admin"),
    ]


@hookimpl
def client_card_tabs(request: Request, client: Any) -> list[CardTab]:
    """The invoices (C10) and discounts (C5) tabs of the client card."""
    return [
        CardTab("inv.invoices", _("Invoices"), "inv_client_invoices", perm.INVOICE_VIEW,
                order=15),
        CardTab("inv.offers", _("Offers"), "inv_client_offers", perm.INVOICE_VIEW, order=16),
        CardTab("inv.discounts", _("Discounts"), "inv_client_discounts", CRM_CLIENT_VIEW,
                order=110),
    ]


@hookimpl
def demo_data(dbsession: Session, tenant: Tenant) -> None:
    """Seller details, products, client discounts and sixty invoices of the demo tenant."""
    from plugins.invoicing.demo import create_demo_data

    create_demo_data(dbsession, tenant)


@hookimpl(trylast=True)
def build_prepayment_invoice(request: Request, order: Any) -> Any:
    """The order's lines on a draft prepayment invoice (the default of the order flow)."""
    from plugins.invoicing.order_flow import build_default_prepayment_invoice

    return build_default_prepayment_invoice(request, order)


@hookimpl
def invoice_issued(request: Request, invoice: Any, reason: str) -> None:
    """E-mail the invoice PDF to the client's invoice address (sent after commit)."""
    from core.web import flash
    from plugins.invoicing.invoices import InvoiceError
    from plugins.invoicing.sending import email_invoice

    if not invoice.invoice_email:
        flash(request, _("The client has no invoice e-mail address: send invoice ${number} "
                         "by hand.", mapping={"number": invoice.number}), kind="warning")
        return
    try:
        email_invoice(request.dbsession, request.registry, invoice, invoice.invoice_email,
                      user_id=request.user.id)
    except InvoiceError as exc:
        flash(request, exc.message, kind="warning")


@hookimpl
def einvoice_channels(request: Request) -> list[EInvoiceChannel]:
    """``file``: the e-invoice as an XML file in a folder an operator picks up."""
    from plugins.invoicing.einvoices import file_channel

    return [file_channel()]


@hookimpl
def openapi_paths(request: Request) -> dict[str, Any]:
    """``/api/v1/products``, ``/api/v1/invoices`` (and offers) and their schemas."""
    from plugins.invoicing.openapi import openapi_paths as invoicing_paths

    return invoicing_paths()
