"""Small builders of OpenAPI 3.1 schemas for the plugins' ``openapi_paths`` hooks."""

from __future__ import annotations

from typing import Any

REF = "#/components/schemas/"
STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}


def ref(name: str) -> dict[str, Any]:
    """A reference to the component schema ``name``."""
    return {"$ref": REF + name}


def nullable(kind: str, **extra: Any) -> dict[str, Any]:
    """A value of JSON type ``kind`` or null."""
    return {"type": [kind, "null"], **extra}


def obj(properties: dict[str, Any], required: list[str] | None = None,
        description: str | None = None, closed: bool = False) -> dict[str, Any]:
    """An object schema; ``closed`` forbids other properties."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if description:
        schema["description"] = description
    if closed:
        schema["additionalProperties"] = False
    return schema


def page_of(item: str) -> dict[str, Any]:
    """One page of a list of the component ``item`` as the API's list endpoints answer."""
    return obj({
        "items": {"type": "array", "items": ref(item)},
        "page": INTEGER, "per_page": INTEGER,
        "total": {"type": "integer", "description": "Rows matching the filters"},
        "pages": INTEGER,
    }, ["items", "page", "per_page", "total", "pages"])
