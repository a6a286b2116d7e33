"""The OpenAPI 3.1 description of the client register's API (:mod:`.views.api`).

:func:`openapi_paths` returns the path items and the component schemas for the
``openapi_paths`` hook; the core merges them into ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from core.openapi_schema import BOOLEAN, INTEGER, STRING, nullable, obj, page_of, ref
from plugins.crm_register.models import ACTIVITY_STATUSES, ADDRESS_KINDS, CLIENT_KINDS

DECIMAL_IN = {"type": ["string", "number", "null"],
              "description": "A decimal number; a string keeps every digit"}
DATE = nullable("string", format="date")
DATETIME = nullable("string", format="date-time")


CLIENT_WRITABLE: dict[str, Any] = {
    "kind": {"type": "string", "enum": list(CLIENT_KINDS), "default": "company"},
    "name": {"type": "string", "maxLength": 200},
    "registry_code": nullable("string", description="Registry code of a company (8 digits, "
                                                 "check digit verified) or personal code of "
                                                 "a private person"),
    "vat_number": nullable("string", description="EU VAT number, e.g. EE100207415"),
    "iban": nullable("string", description="IBAN, checksum verified; stored without spaces"),
    "phone": nullable("string"), "mobile": nullable("string"), "fax": nullable("string"),
    "email": nullable("string", format="email"),
    "invoice_email": nullable("string", format="email"),
    "website": nullable("string"), "registered_on": DATE,
    "client_type_id": nullable("integer"),
    "salesperson_id": nullable("integer", description="An active user of the tenant"),
    "language": {"type": "string", "enum": ["et", "en"]},
    "notes": nullable("string"),
    "email_consent": BOOLEAN, "active": BOOLEAN,
    "sales_blocked": {"type": "boolean", "description": "Needs the credit permission"},
    "credit_limit": {**DECIMAL_IN, "description": "EUR; needs the credit permission"},
    "payment_term_days": nullable("integer", minimum=0, maximum=365,
                               description="Needs the credit permission"),
    "groups": {"type": "array", "items": INTEGER,
               "description": "Ids of the client groups (replaces the groups)"},
}
CLIENT_OUT: dict[str, Any] = {
    **{k: v for k, v in CLIENT_WRITABLE.items() if k not in ("groups", "credit_limit")},
    "id": INTEGER, "number": INTEGER, "bic": nullable("string"),
    "client_type": nullable("string"), "salesperson": nullable("string"),
    "credit_limit": nullable("string", description="Decimal as a string"),
    "groups": {"type": "array", "items": obj({"id": INTEGER, "name": STRING})},
    "created_at": DATETIME, "url": {"type": "string", "description": "The client card"},
}
ADDRESS = obj({
    "id": INTEGER, "kind": {"type": "string", "enum": list(ADDRESS_KINDS)},
    "recipient": nullable("string"), "street": STRING, "city": nullable("string"),
    "county": nullable("string"), "postal_code": nullable("string"), "country": STRING,
})
CLIENT_CONTACT = obj({
    "link_id": INTEGER, "person_id": INTEGER, "name": STRING, "role": STRING,
    "is_primary": BOOLEAN, "receives_invoices": BOOLEAN, "email": nullable("string"),
    "phone": nullable("string"), "mobile": nullable("string"),
})

PERSON_WRITABLE: dict[str, Any] = {
    "first_name": nullable("string", maxLength=100),
    "last_name": {"type": "string", "maxLength": 100},
    "title": nullable("string", description="Job title"),
    "phone": nullable("string"), "mobile": nullable("string"),
    "email": nullable("string", format="email"), "birthday": DATE,
    "email_consent": BOOLEAN, "notes": nullable("string"),
}
LINK_WRITABLE: dict[str, Any] = {
    "role": nullable("string", description="Role at the client, e.g. board member"),
    "is_primary": BOOLEAN, "receives_invoices": BOOLEAN,
}
CONTACT_OUT = {
    **PERSON_WRITABLE, "id": INTEGER, "name": STRING,
    "links": {"type": "array", "items": obj({
        "link_id": INTEGER, "client_id": INTEGER, "client_name": STRING, "role": STRING,
        "is_primary": BOOLEAN, "receives_invoices": BOOLEAN})},
    "url": STRING,
}

ACTIVITY_WRITABLE: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 200},
    "type_id": {"type": ["integer", "string"], "description": "Id of an activity type"},
    "person_id": nullable("integer", description="A contact person of the client"),
    "status": {"type": "string", "enum": list(ACTIVITY_STATUSES), "default": "planned"},
    "starts_at": {"type": "string", "description": "ISO 8601 date and time; without an "
                                                   "offset it is the tenant's local time"},
    "estimated_minutes": nullable("integer", minimum=0),
    "actual_minutes": nullable("integer", minimum=0),
    "kilometres": {**DECIMAL_IN, "description": "Required when the type uses a car"},
    "project_id": nullable("integer", description="A sales project of the client"),
    "description": nullable("string"),
    "follow_up_of_id": nullable("integer", description="An earlier activity of the same client"),
    "items": {"type": "array", "description": "Resources and services (replaces them)",
              "items": obj({"item_id": INTEGER,
                                "quantity": {"type": ["string", "number"]}},
                               ["item_id", "quantity"])},
}
ACTIVITY_OUT: dict[str, Any] = {
    **{k: v for k, v in ACTIVITY_WRITABLE.items() if k not in ("items", "kilometres",
                                                                 "type_id", "starts_at")},
    "id": INTEGER, "number": INTEGER, "client_id": nullable("integer"),
    "client_name": nullable("string"), "person_name": nullable("string"), "type_id": INTEGER,
    "type": {"type": "string", "description": "Code of the activity type"},
    "type_name": STRING, "performer_id": nullable("integer"), "performer_name": nullable("string"),
    "starts_at": {"type": "string", "format": "date-time"}, "ends_at": DATETIME,
    "kilometres": nullable("string"),
    "items": {"type": "array", "items": obj({
        "item_id": INTEGER, "name": STRING, "kind": STRING, "unit": STRING,
        "quantity": STRING})},
    "created_at": DATETIME, "url": STRING,
}

SCHEMAS: dict[str, Any] = {
    "CrmError": obj({
        "error": {"type": "string", "description": "What went wrong, in the user's language"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Messages by field name"},
        "existing_id": {"type": "integer", "description": "409: the clashing row"},
        "duplicates": {"type": "array", "items": obj({
            "id": INTEGER, "name": STRING, "field": STRING})},
        "similar": {"type": "array", "items": obj({"id": INTEGER, "name": STRING})},
        "detail": {"type": "string", "description": "401/403 of the core: what to do"},
    }, ["error"], description="The register's own errors always have fields (maybe empty)"),
    "CrmClient": obj(CLIENT_OUT, ["id", "number", "kind", "name"]),
    "CrmClientDetail": {"allOf": [ref("CrmClient"), obj({
        "addresses": {"type": "array", "items": ADDRESS},
        "contacts": {"type": "array", "items": CLIENT_CONTACT}})]},
    "CrmClientInput": obj(CLIENT_WRITABLE, closed=True,
                              description="Only the fields sent change"),
    "CrmClientCreate": obj({
        **CLIENT_WRITABLE,
        "confirm_similar": {"type": "boolean", "description": "Add the client even when a "
                                                              "client with a similar name "
                                                              "exists"}},
        ["name"], closed=True),
    "CrmClientList": page_of("CrmClient"),
    "CrmContact": obj(CONTACT_OUT, ["id", "last_name", "name", "links"]),
    "CrmContactInput": obj(PERSON_WRITABLE, closed=True,
                               description="Only the fields sent change"),
    "CrmContactCreate": {
        "description": "A new person (last_name required) or an existing one (person_id), "
                       "linked to the client with a role",
        "oneOf": [
            obj({"client_id": INTEGER, **PERSON_WRITABLE, **LINK_WRITABLE},
                    ["client_id", "last_name"], closed=True),
            obj({"client_id": INTEGER, "person_id": INTEGER, **LINK_WRITABLE},
                    ["client_id", "person_id"], closed=True),
        ],
    },
    "CrmContactList": page_of("CrmContact"),
    "CrmActivity": obj(ACTIVITY_OUT, ["id", "number", "name", "type_id", "status",
                                          "starts_at"]),
    "CrmActivityInput": obj(ACTIVITY_WRITABLE, closed=True,
                                description="Only the fields sent change"),
    "CrmActivityCreate": obj(
        {"client_id": nullable("integer", description="Null for an internal task"),
         **ACTIVITY_WRITABLE}, ["name", "type_id", "starts_at"], closed=True),
    "CrmActivityList": page_of("CrmActivity"),
}


def _json_content(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": ref(schema)}}


def _errors(*codes: int) -> dict[str, Any]:
    texts = {
        400: "Bad input: nothing was changed",
        401: "Missing or invalid token",
        403: "The user lacks the permission (or may not set a field that was sent)",
        404: "Not found, or not visible to the user",
        409: "A duplicate: the registry code or VAT number is taken, a similar name exists, "
             "or the person already has the role",
    }
    return {str(code): {"description": texts[code], "content": _json_content("CrmError")}
            for code in codes}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or STRING}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": INTEGER}


PAGING = [
    _query("page", "Page number, from 1", {"type": "integer", "minimum": 1, "default": 1}),
    _query("per_page", "Rows per page",
           {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
]


def _collection(noun: str, plural: str, list_schema: str, create_schema: str,
                item_schema: str, parameters: list[dict[str, Any]], list_summary: str,
                create_summary: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": list_summary, "operationId": f"listCrm{plural}", "tags": ["crm"],
            "parameters": [*parameters, *PAGING],
            "responses": {"200": {"description": f"One page of {plural.lower()}",
                                  "content": _json_content(list_schema)},
                          **_errors(400, 401, 403)},
        },
        "post": {
            "summary": create_summary, "operationId": f"createCrm{noun}", "tags": ["crm"],
            "requestBody": {"required": True, "content": _json_content(create_schema)},
            "responses": {"201": {"description": f"The new {noun.lower()}; Location is its "
                                                 "URL", "content": _json_content(item_schema)},
                          **_errors(400, 401, 403, 409)},
        },
    }


def _item(noun: str, key: str, item_schema: str, input_schema: str,
          get_summary: str) -> dict[str, Any]:
    return {
        "parameters": [_path_id(key)],
        "get": {
            "summary": get_summary, "operationId": f"getCrm{noun}", "tags": ["crm"],
            "responses": {"200": {"description": f"The {noun.lower()}",
                                  "content": _json_content(item_schema)},
                          **_errors(401, 403, 404)},
        },
        "patch": {
            "summary": f"Change the fields sent of a {noun.lower()}",
            "operationId": f"updateCrm{noun}", "tags": ["crm"],
            "requestBody": {"required": True, "content": _json_content(input_schema)},
            "responses": {"200": {"description": f"The changed {noun.lower()}",
                                  "content": _json_content(item_schema)},
                          **_errors(400, 401, 403, 404, 409)},
        },
    }


def openapi_paths() -> dict[str, Any]:
    """Path items of ``/api/v1/clients``, ``/contacts``, ``/activities`` and their schemas."""
    return {
        "/api/v1/clients": _collection(
            "Client", "Clients", "CrmClientList", "CrmClientCreate", "CrmClientDetail", [
                _query("q", "Search: name, registry code, VAT number, phone, e-mail or a "
                            "contact person's name (case and Estonian letters ignored)"),
                _query("group", "Client group id", INTEGER),
                _query("type", "Client type id", INTEGER),
                _query("salesperson", "Responsible salesperson's user id", INTEGER),
                _query("registry_code", "Exact registry code"),
                _query("include_inactive", "Also inactive clients", BOOLEAN),
            ], "Clients visible to the user, by name",
            "Create a client (identifiers validated, duplicates refused)"),
        "/api/v1/clients/{client_id}": _item(
            "Client", "client_id", "CrmClientDetail", "CrmClientInput",
            "One client with its addresses and contacts"),
        "/api/v1/contacts": _collection(
            "Contact", "Contacts", "CrmContactList", "CrmContactCreate", "CrmContact", [
                _query("q", "Search by name or e-mail"),
                _query("client_id", "Only the contacts of this client", INTEGER),
            ], "Contact persons of the clients visible to the user, by name",
            "Add a contact person to a client, or link an existing person"),
        "/api/v1/contacts/{person_id}": _item(
            "Contact", "person_id", "CrmContact", "CrmContactInput",
            "One contact person with their roles"),
        "/api/v1/activities": _collection(
            "Activity", "Activities", "CrmActivityList", "CrmActivityCreate", "CrmActivity", [
                _query("client_id", "Only this client's activities", INTEGER),
                _query("performer_id", "Only this user's activities", INTEGER),
                _query("from", "Starting on or after this date (YYYY-MM-DD, the tenant's "
                               "local day) or date and time"),
                _query("to", "Starting on or before this date (inclusive) or before this "
                             "date and time"),
                _query("status", "Activity status",
                       {"type": "string", "enum": list(ACTIVITY_STATUSES)}),
                _query("type", "Activity type code, e.g. call or meeting"),
            ], "Activities visible to the user, by start",
            "Create an activity; the performer is the token's user"),
        "/api/v1/activities/{activity_id}": _item(
            "Activity", "activity_id", "CrmActivity", "CrmActivityInput", "One activity"),
        "components": {"schemas": SCHEMAS},
    }
