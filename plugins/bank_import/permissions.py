"""The permissions of the bank_import plugin (granted to roles per tenant by an admin)."""

from core.sdk import Permission
from plugins.bank_import.i18n import _

STATEMENT_IMPORT = "bank_import:statement:import"
PAYMENT_VIEW = "bank_import:payment:view"
PAYMENT_MATCH = "bank_import:payment:match"
RECEIVABLES_VIEW = "bank_import:receivables:view"
SETTINGS_MANAGE = "bank_import:settings:manage"

PERMISSIONS = [
    Permission(STATEMENT_IMPORT, _("Import bank statements"), ("manager", "accountant")),
    Permission(PAYMENT_VIEW, _("See received payments and client balances"),
               ("manager", "sales", "accountant", "secretary")),
    Permission(PAYMENT_MATCH,
               _("Match payments to invoices by hand, assign prepayments, undo matches"),
               ("manager", "accountant")),
    Permission(RECEIVABLES_VIEW, _("See and export the receivables report"),
               ("manager", "sales", "accountant")),
    Permission(SETTINGS_MANAGE, _("Edit bank accounts and the matching threshold"),
               ("manager", "accountant")),
]
