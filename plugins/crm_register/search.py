"""Search text folding: case- and accent-insensitive matching of Estonian names.

"oun" finds "Õun OÜ" and "sokolaad" finds "Šokolaad": both the stored ``*_search``
columns and the typed query are folded the same way, so the database needs no collation,
extension or function index and SQLite and PostgreSQL behave alike.
"""

from __future__ import annotations

import re
import unicodedata

_EXTRA = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l"})
_SPACE = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """Lower-case ``text`` and strip diacritics: ``"Õun ÖÄÜ Šž"`` -> ``"oun oau sz"``."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_EXTRA))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACE.sub(" ", stripped).strip()


def digits(text: str | None) -> str:
    """Only the digits of ``text`` (phone numbers and codes are searched without spaces)."""
    return "".join(ch for ch in text or "" if ch.isdigit())


def like_pattern(query: str) -> str:
    """A ``LIKE`` pattern matching ``query`` anywhere, with wildcards in it escaped."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
