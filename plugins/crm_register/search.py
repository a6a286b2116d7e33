"""Search text folding: case- and accent-insensitive matching of Estonian names.

"oun" finds "Õun OÜ" and "sokolaad" finds "Šokolaad": both the stored ``*_search``
columns and the typed query are folded the same way, so the database needs no collation,
extension or function index and SQLite and PostgreSQL behave alike.

Search while typing matches the *start* of a word or of a whole field ("mööbel" and
"tartu mö" find "Tartu Mööbel AS", "5123 4" finds "+372 5123 4567"): every client has
its words and fields as rows of ``crm_client_search_token``, and a typed prefix is one
index range over them (:func:`search_tokens`, :func:`prefix_range`).
"""

from __future__ import annotations

import re
import unicodedata

_EXTRA = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l"})
_SPACE = re.compile(r"\s+")
_WORD_BREAK = re.compile(r"[\s@.,;:/\\()\[\]\"'+&_-]+")
PART_SEPARATOR = " | "
TOKEN_LENGTH = 100
# Greater than every character a folded prefix can be followed by.
_AFTER_ALL = "\U0010ffff"
COUNTRY_CODE = "372"


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


def search_tokens(search_text: str, name_search: str) -> dict[str, bool]:
    """The tokens of a client's folded ``search_text``, each mapped to "is the whole name".

    Tokens are every field (the parts joined by :data:`PART_SEPARATOR`) as a whole, every
    word of it, and the pieces of words with signs in them ("poder-saar", "poder", "saar");
    phone numbers also without the Estonian country code, so that a number typed without
    ``+372`` is found. Tokens are cut to :data:`TOKEN_LENGTH` characters.
    """
    tokens: dict[str, bool] = {}

    def add(token: str, is_name: bool = False) -> None:
        token = token[:TOKEN_LENGTH]
        if token:
            tokens[token] = tokens.get(token, False) or is_name

    for part in search_text.split(PART_SEPARATOR):
        part = part.strip()
        add(part, is_name=part == name_search)
        for word in part.split():
            add(word)
            for piece in _WORD_BREAK.split(word):
                add(piece)
        if part.isdigit() and part.startswith(COUNTRY_CODE) and len(part) > 9:
            add(part[len(COUNTRY_CODE):])
    return tokens


def prefix_range(column: object, prefix: str) -> object:
    """SQL condition "``column`` starts with ``prefix``" that an index on it can answer."""
    prefix = prefix[:TOKEN_LENGTH]
    return (column >= prefix) & (column < prefix + _AFTER_ALL)  # type: ignore[operator]
