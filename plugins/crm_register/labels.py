"""Translated labels of the register's fixed choices (templates get them as ``crm_labels``)."""

from __future__ import annotations

from types import SimpleNamespace

from plugins.crm_register.i18n import _

CLIENT_KINDS = {"company": _("Company"), "person": _("Private person")}
ADDRESS_KINDS = {
    "billing": _("Billing"), "delivery": _("Delivery"), "postal": _("Postal"),
    "other": _("Other"),
}
RELATION_KINDS = {
    "subsidiary": _("Subsidiary"), "branch": _("Branch"), "partner": _("Partner"),
    "other": _("Other relation"),
}
RELATION_KINDS_REVERSE = {
    "subsidiary": _("Parent company"), "branch": _("Head office"), "partner": _("Partner"),
    "other": _("Other relation"),
}
ACTIVITY_STATUSES = {
    "planned": _("Planned"), "in_progress": _("In progress"), "done": _("Done"),
    "cancelled": _("Cancelled"),
}
PROJECT_STATUSES = {
    "lead": _("Lead"), "offer": _("Offer"), "negotiation": _("Negotiation"), "won": _("Won"),
    "lost": _("Lost"), "on_hold": _("On hold"),
}
DOCUMENT_STATUSES = {
    "draft": _("Draft"), "in_preparation": _("Being prepared"), "sent": _("Sent"),
    "signed": _("Signed"), "archived": _("Archived"),
}
CATALOGUE_KINDS = {"resource": _("Resource"), "service": _("Extra service")}

ALL = SimpleNamespace(
    client_kinds=CLIENT_KINDS, address_kinds=ADDRESS_KINDS, relation_kinds=RELATION_KINDS,
    relation_kinds_reverse=RELATION_KINDS_REVERSE, activity_statuses=ACTIVITY_STATUSES,
    project_statuses=PROJECT_STATUSES, document_statuses=DOCUMENT_STATUSES,
    catalogue_kinds=CATALOGUE_KINDS,
)
"""Every label table, as the ``crm_labels`` renderer global."""

RELATION_OF = {
    "subsidiary": _("Subsidiary of"), "branch": _("Branch of"), "partner": _("Partner of"),
    "other": _("Other relation with"),
}
"""How the ``from`` client's card names a relation: "Subsidiary of: B"."""
RELATION_OF_REVERSE = {
    "subsidiary": _("Parent company of"), "branch": _("Head office of"),
    "partner": _("Partner of"), "other": _("Other relation with"),
}
"""How the ``to`` client's card names the same relation: "Parent company of: A"."""
ALL.relation_of = RELATION_OF
ALL.relation_of_reverse = RELATION_OF_REVERSE
