"""The JSON API root: who am I, and the OpenAPI document assembled from the plugins."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from core.security import SELF_SERVICE

CORE_PATHS: dict[str, Any] = {
    "/api/v1/me": {
        "get": {
            "summary": "The user the token belongs to",
            "operationId": "getMe",
            "responses": {
                "200": {"description": "The user", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Me"}}}},
                "401": {"description": "Missing or invalid token"},
            },
        }
    },
}
CORE_SCHEMAS: dict[str, Any] = {
    "Me": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "email": {"type": "string"}, "name": {"type": "string"},
            "role": {"type": "string"}, "tenant": {"type": "string"},
            "permissions": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["id", "email", "name", "role", "tenant", "permissions"],
    }
}


@view_config(route_name="api_me", renderer="json", permission=SELF_SERVICE)
def me(request: Request) -> dict[str, Any]:
    """The authenticated user and their permissions."""
    user = request.user
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "tenant": request.tenant.slug, "permissions": sorted(request.effective_permissions)}


@view_config(route_name="api_openapi", renderer="json", permission=SELF_SERVICE)
def openapi(request: Request) -> dict[str, Any]:
    """OpenAPI 3.1 document of the API available to this tenant."""
    paths: dict[str, Any] = dict(CORE_PATHS)
    schemas: dict[str, Any] = dict(CORE_SCHEMAS)
    for contribution in request.hooks.openapi_paths(request=request):
        contribution = dict(contribution or {})
        schemas.update(contribution.pop("components", {}).get("schemas", {}))
        paths.update(contribution)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kliendihaldus API", "version": "1"},
        "servers": [{"url": request.application_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
