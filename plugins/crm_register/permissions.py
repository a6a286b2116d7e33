"""The permissions of the client register (granted to roles per tenant by an admin)."""

from core.sdk import Permission
from plugins.crm_register.i18n import _

OFFICE = ("manager", "sales", "accountant", "secretary")
EDITORS = ("manager", "sales", "secretary")

CLIENT_VIEW = "crm_register:client:view"
CLIENT_EDIT = "crm_register:client:edit"
CLIENT_DELETE = "crm_register:client:delete"
CLIENT_CREDIT = "crm_register:client:credit"
CLIENT_VIEW_ALL = "crm_register:client:view_all"
ACTIVITY_VIEW = "crm_register:activity:view"
ACTIVITY_EDIT = "crm_register:activity:edit"
CALENDAR_VIEW = "crm_register:calendar:view"
DOCUMENT_VIEW = "crm_register:document:view"
DOCUMENT_EDIT = "crm_register:document:edit"
TARGET_GROUP_USE = "crm_register:target_group:use"
IMPORT_RUN = "crm_register:import:run"
SETTINGS_MANAGE = "crm_register:settings:manage"
ANNOUNCEMENT_POST = "crm_register:announcement:post"

PERMISSIONS = [
    Permission(CLIENT_VIEW, _("See clients and their card"), OFFICE),
    Permission(CLIENT_EDIT, _("Add and change clients, contacts and addresses"), EDITORS),
    Permission(CLIENT_DELETE, _("Delete clients"), ("manager",)),
    Permission(CLIENT_CREDIT, _("Block sales, set credit limit and payment term"),
               ("manager", "accountant")),
    Permission(CLIENT_VIEW_ALL, _("See every client, not only one's own"),
               ("manager", "accountant", "secretary")),
    Permission(ACTIVITY_VIEW, _("See activities"), OFFICE),
    Permission(ACTIVITY_EDIT, _("Add and change activities"), EDITORS),
    Permission(CALENDAR_VIEW, _("See the calendar of colleagues"), OFFICE),
    Permission(DOCUMENT_VIEW, _("See and download documents"), OFFICE),
    Permission(DOCUMENT_EDIT, _("Register documents and upload versions"), EDITORS),
    Permission(TARGET_GROUP_USE, _("Build target groups and export addresses"),
               ("manager", "sales", "secretary")),
    Permission(IMPORT_RUN, _("Import clients and contacts from files"), ("manager",)),
    Permission(SETTINGS_MANAGE, _("Edit client groups, types and catalogues"), ("manager",)),
    Permission(ANNOUNCEMENT_POST, _("Post announcements on the front page"),
               ("manager", "secretary")),
]
