"""The built-in bank statement parsers: camt.053/054, MT940 and the CSV exports of
Swedbank, SEB and LHV (Estonia).

Each parser is a :class:`core.hookspecs.types.StatementParser`; the import tries them in
order and uses the first whose ``detect`` accepts the file.
"""

from __future__ import annotations

from core.hookspecs.types import StatementParser
from plugins.bank_import.parsers import bank_csv, camt, mt940


def builtin_parsers() -> list[StatementParser]:
    """The built-in parsers, in this order: camt (053 and 054), MT940, then one per bank
    CSV layout (Swedbank, SEB, LHV)."""
    return [camt.PARSER, mt940.PARSER, *bank_csv.PARSERS]
