"""Labels of the bank_import plugin's codes, for pages and exports."""

from plugins.bank_import.i18n import _
from plugins.bank_import.models import FEE, MATCHED, NOT_SALES, OPEN, OUTGOING

STATE_LABELS = {
    OPEN: _("waiting"),
    MATCHED: _("matched"),
    NOT_SALES: _("not a sales payment"),
    OUTGOING: _("outgoing"),
    FEE: _("bank fee"),
}
"""What each transaction state is called on the pages."""
