"""Building blocks of the JSON API views (``/api/v1``) shared by the plugins.

A view decorated with :func:`api_view` raises :class:`ApiError` for any refusal; the
decorator turns it into a JSON answer ``{"error": ..., "fields": {...}}`` translated for the
request. :func:`read_object` reads the request body as a JSON object.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from pyramid.i18n import TranslationStringFactory
from pyramid.request import Request
from pyramid.response import Response

_ = TranslationStringFactory("core")


class ApiError(Exception):
    """An error answer: HTTP ``status``, a translation string and field messages."""

    def __init__(self, status: int, message: Any, fields: Mapping[str, Any] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = dict(fields or {})
        self.extra = extra


def error_response(request: Request, error: ApiError) -> Response:
    """The JSON answer of ``error``, its texts translated for the request."""
    translate = request.translate
    body = {"error": translate(error.message),
            "fields": {k: translate(v) for k, v in error.fields.items()}, **error.extra}
    return Response(json_body=body, status=error.status)


def api_view(func: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Turn :class:`ApiError` raised by the view into its JSON answer."""

    @functools.wraps(func)
    def wrapper(request: Request) -> Response:
        try:
            return func(request)
        except ApiError as error:
            return error_response(request, error)

    return wrapper


def not_found() -> ApiError:
    """The 404 of a row that does not exist or is not visible to the user."""
    return ApiError(404, _("Not found, or not visible to you."))


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def read_object(request: Request, *, optional: bool = False,
                decimals: bool = False) -> dict[str, Any]:
    """The JSON object sent in the request body; 400 for anything else. With ``optional``
    an empty body is an empty object; with ``decimals`` numbers with a fraction are
    :class:`~decimal.Decimal` (money) and ``NaN``/``Infinity`` are refused."""
    if optional and not (request.body or b"").strip():
        return {}
    options: dict[str, Any] = {"parse_float": Decimal, "parse_constant": _no_constants} \
        if decimals else {}
    try:
        body = json.loads(request.body or b"null", **options)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, _("The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise ApiError(400, _("Send a JSON object."))
    return body
