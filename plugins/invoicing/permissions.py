"""The permissions of the invoicing plugin (granted to roles per tenant by an admin)."""

from core.sdk import Permission
from plugins.invoicing.i18n import _

INVOICE_VIEW = "invoicing:invoice:view"
INVOICE_EDIT = "invoicing:invoice:edit"
INVOICE_CONFIRM = "invoicing:invoice:confirm"
INVOICE_OVERRIDE = "invoicing:invoice:override"
INVOICE_SEND = "invoicing:invoice:send"
PRODUCT_VIEW = "invoicing:product:view"
PRODUCT_EDIT = "invoicing:product:edit"
DISCOUNT_EDIT = "invoicing:discount:edit"
OFFER_EDIT = "invoicing:offer:edit"
ORDER_TAKE = "invoicing:order:take"
SETTINGS_MANAGE = "invoicing:settings:manage"

PERMISSIONS = [
    Permission(INVOICE_VIEW, _("See invoices and offers"),
               ("manager", "sales", "accountant", "secretary")),
    Permission(INVOICE_EDIT, _("Create and change draft invoices, copy and credit invoices"),
               ("manager", "sales", "accountant", "secretary")),
    Permission(INVOICE_CONFIRM, _("Confirm invoices"), ("manager", "sales", "accountant")),
    Permission(INVOICE_OVERRIDE,
               _("Confirm invoices past a sales block or the credit limit"),
               ("manager",)),
    Permission(INVOICE_SEND, _("Send invoices by e-mail and as e-invoices"),
               ("manager", "sales", "accountant", "secretary")),
    Permission(PRODUCT_VIEW, _("See products and prices"),
               ("manager", "sales", "accountant", "secretary")),
    Permission(PRODUCT_EDIT, _("Edit products, product groups and VAT rates"),
               ("manager", "accountant")),
    Permission(DISCOUNT_EDIT, _("Set client discounts"), ("manager", "sales")),
    Permission(OFFER_EDIT, _("Create and change offers"), ("manager", "sales")),
    Permission(ORDER_TAKE, _("Take phone orders"), ("manager", "sales", "secretary")),
    Permission(SETTINGS_MANAGE, _("Edit invoicing settings and numbering"),
               ("manager", "accountant")),
]
