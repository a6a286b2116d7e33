"""Hooks of bank statement import: the statement formats a plugin can read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.hookspecs._marker import hookspec

if TYPE_CHECKING:
    from pyramid.request import Request

    from core.hookspecs.types import StatementParser


@hookspec
def statement_parsers(request: Request) -> list[StatementParser]:
    """Return the bank statement formats this plugin can read.

    Broadcast: an uploaded file goes to the first parser (in plugin order, company
    plugins' parsers before the built-in ones) whose ``detect`` accepts it. The
    bank_import plugin brings camt.053, camt.054, MT940 and the CSV exports of Swedbank,
    SEB and LHV.
    """
