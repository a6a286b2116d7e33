"""The OpenAPI 3.1 description of the invoicing API (:mod:`.views.api`): products,
invoices and offers.

:func:`openapi_paths` returns the path items and the component schemas for the
``openapi_paths`` hook; the core merges them into ``/api/v1/openapi.json``. Schema names
start with ``Inv`` so they never clash with another plugin's.
"""

from __future__ import annotations

from typing import Any

from core.openapi_schema import BOOLEAN, INTEGER, STRING, nullable, obj, page_of, ref
from plugins.invoicing.invoices import UNIT_LABELS
from plugins.invoicing.views.api import (
    INVOICE_KINDS,
    INVOICE_STATUSES,
    MAX_LINES,
    MAX_NOTES,
    MAX_PER_PAGE,
    MAX_VALID_DAYS,
    NEW_INVOICE_KINDS,
    OFFER_ACTIONS,
    OFFER_STATUSES,
)

TAG = "invoicing"


ID = {"type": "integer", "minimum": 1}
DATE = {"type": "string", "format": "date"}
DATETIME = nullable("string", format="date-time")
AMOUNT = {"type": "string", "pattern": r"^-?\d+\.\d{2}$",
          "description": "Money in EUR with two decimals, e.g. \"12.50\""}
UNIT_PRICE = {"type": "string", "pattern": r"^-?\d+\.\d{2,4}$",
              "description": "Net unit price with two to four decimals"}
PERCENT = {"type": "string", "pattern": r"^\d+\.\d{2}$", "description": "Percent, e.g. \"24.00\""}
DECIMAL_IN = {"type": ["string", "number"],
              "description": "A decimal number; a string keeps every digit"}
UNIT_CODE = {"type": "string", "enum": list(UNIT_LABELS),
             "description": "UN/ECE Recommendation 20 unit code"}


PRODUCT_WRITABLE: dict[str, Any] = {
    "code": {"type": "string", "maxLength": 40, "description": "Unique in the tenant"},
    "name": {"type": "string", "maxLength": 200},
    "name_en": nullable("string", maxLength=200,
                     description="Used on invoices in English; the name when empty"),
    "group_id": nullable("integer", description="A product group"),
    "kind": {"type": "string", "enum": ["goods", "service"], "default": "goods"},
    "unit_code": {**UNIT_CODE, "default": "H87"},
    "price": {**DECIMAL_IN, "description": "Net price in EUR: 0 or more, at most 4 decimals"},
    "vat_code": {"type": "string", "default": "standard",
                 "description": "Code of one of the tenant's VAT rates"},
    "service_minutes": nullable("integer", minimum=1, maximum=7 * 24 * 60,
                             description="For services: how much time an order books"),
    "active": {"type": "boolean", "default": True, "description": "Can be sold"},
}
PRODUCT_OUT: dict[str, Any] = {
    **{k: v for k, v in PRODUCT_WRITABLE.items() if k not in ("price", "unit_code")},
    "id": INTEGER, "group": nullable("string", description="Name of the product group"),
    "unit_code": UNIT_CODE, "unit": {"type": "string", "description": "Short unit label"},
    "price": UNIT_PRICE,
    "vat_percent": nullable("string", description="The rate of the VAT code valid today"),
    "price_with_vat": nullable("string", description="The price with today's VAT, two "
                                                  "decimals; null without a valid rate"),
    "url": {"type": "string", "description": "The product's page"},
}

LINE_IN = obj({
    "product_id": nullable("integer", description="An active product: its name, unit, price "
                                               "and VAT code are the defaults"),
    "description": nullable("string", maxLength=300,
                         description="Required without a product"),
    "quantity": {**DECIMAL_IN, "description": "More than 0, at most 3 decimals; 1 when "
                                              "not given"},
    "unit_price": {**DECIMAL_IN, "description": "Net EUR, at most 4 decimals; required "
                                                "without a product"},
    "discount_percent": {**DECIMAL_IN, "description": "0-100; the client's product-group "
                                                      "discount replaces it"},
    "vat_code": nullable("string", description="One of the tenant's VAT codes"),
    "unit_code": {"anyOf": [UNIT_CODE, {"type": "null"}]},
}, description="A product, or a description with a unit price", closed=True)
LINE_OUT = obj({
    "id": INTEGER, "position": INTEGER, "product_id": nullable("integer"),
    "product_code": nullable("string"), "description": STRING,
    "quantity": {"type": "string", "description": "Three decimals"},
    "unit_code": STRING, "unit_price": UNIT_PRICE, "discount_percent": PERCENT,
    "group_discount": {"type": "boolean",
                       "description": "The discount is the client's product-group discount"},
    "vat_code": STRING, "vat_category": {"type": "string", "description": "UNCL5305"},
    "vat_percent": PERCENT, "net_amount": AMOUNT,
}, ["id", "position", "description", "quantity", "unit_price", "net_amount"])
INVOICE_OUT: dict[str, Any] = {
    "id": INTEGER, "kind": {"type": "string", "enum": list(INVOICE_KINDS)},
    "status": {"type": "string", "enum": list(INVOICE_STATUSES),
               "description": "overdue: confirmed, sent or partly paid and past the due date"},
    "number": nullable("string", description="Given on confirmation"),
    "client_id": INTEGER, "client_name": STRING,
    "language": {"type": "string", "enum": ["et", "en"]},
    "currency": STRING, "issue_date": DATE, "due_date": DATE,
    "delivery_date": nullable("string", format="date"), "payment_term_days": INTEGER,
    "reference_number": nullable("string", description="Estonian (7-3-1) or RF reference; "
                                                    "given on confirmation"),
    "buyer_reference": nullable("string"), "invoice_email": nullable("string"),
    "discount_percent": PERCENT, "total_net": AMOUNT, "total_vat": AMOUNT, "total": AMOUNT,
    "paid_amount": AMOUNT, "open_amount": {**AMOUNT, "description": "total - paid_amount"},
    "credited_invoice_id": nullable("integer"),
    "override_reason": nullable("string", description="The sales block or credit limit the "
                                                   "invoice was confirmed past"),
    "confirmed_at": DATETIME, "sent_at": DATETIME, "created_at": DATETIME,
    "url": {"type": "string", "description": "The invoice's page"},
    "pdf_url": STRING, "ubl_url": nullable("string", description="Null for a draft"),
}
OFFER_OUT: dict[str, Any] = {
    "id": INTEGER,
    "number": {"type": "string", "description": "As shown: the offer series' prefix and "
                                                "number, e.g. P0007"},
    "sequence": {"type": "integer", "description": "The number in the offer series"},
    "status": {"type": "string", "enum": list(OFFER_STATUSES),
               "description": "expired: a draft or sent offer past valid_until"},
    "client_id": INTEGER, "client_name": STRING, "issue_date": DATE, "valid_until": DATE,
    "discount_percent": PERCENT, "total_net": AMOUNT, "total_vat": AMOUNT, "total": AMOUNT,
    "invoice_id": nullable("integer", description="The invoice made of the offer"),
    "created_at": DATETIME, "url": {"type": "string", "description": "The offer's page"},
}
INVOICE_REQUIRED = ["id", "kind", "status", "client_id", "issue_date", "due_date", "total_net",
                    "total_vat", "total", "paid_amount"]

SCHEMAS: dict[str, Any] = {
    "InvError": obj({
        "error": {"type": "string", "description": "What went wrong, in the user's language"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Messages by field name; a line's as lines[i].field"},
        "line": {"type": "integer", "description": "422: index of the first bad line"},
        "existing_id": nullable("integer", description="409: the product with the code"),
        "detail": {"type": "string", "description": "401/403/404 of the core: what to do"},
    }, ["error"], description="Invoicing's own errors always have fields (maybe empty)"),
    "InvProduct": obj(PRODUCT_OUT, ["id", "code", "name", "kind", "unit_code", "price",
                                        "vat_code", "active"]),
    "InvProductList": page_of("InvProduct"),
    "InvProductInput": obj(PRODUCT_WRITABLE, closed=True,
                               description="Only the fields sent change"),
    "InvProductCreate": obj(PRODUCT_WRITABLE, ["code", "name", "price"], closed=True),
    "InvInvoice": obj(INVOICE_OUT, INVOICE_REQUIRED),
    "InvInvoiceDetail": {"allOf": [ref("InvInvoice"), obj({
        "notes": nullable("string"),
        "lines": {"type": "array", "items": LINE_OUT},
        "vat": {"type": "array", "description": "VAT breakdown by category and rate",
                "items": obj({"category": STRING, "percent": PERCENT,
                                  "taxable_amount": AMOUNT, "tax_amount": AMOUNT})},
    }, ["lines", "vat"])]},
    "InvInvoiceList": page_of("InvInvoice"),
    "InvInvoiceCreate": obj({
        "client_id": {**ID, "description": "A client visible to the user"},
        "issue_date": {**DATE, "description": "Today (the tenant's time zone) when not given"},
        "kind": {"type": "string", "enum": list(NEW_INVOICE_KINDS), "default": "invoice"},
        "lines": {"type": "array", "items": LINE_IN, "maxItems": MAX_LINES},
    }, ["client_id"], closed=True),
    "InvOffer": obj(OFFER_OUT, ["id", "number", "status", "client_id", "issue_date",
                                    "valid_until", "total_net", "total_vat", "total"]),
    "InvOfferDetail": {"allOf": [ref("InvOffer"), obj({
        "notes": nullable("string"),
        "lines": {"type": "array", "items": LINE_OUT},
        "vat": {"type": "array", "description": "VAT breakdown by category and rate",
                "items": obj({"category": STRING, "percent": PERCENT,
                                  "taxable_amount": AMOUNT, "tax_amount": AMOUNT})},
    }, ["lines", "vat"])]},
    "InvOfferList": page_of("InvOffer"),
    "InvOfferCreate": obj({
        "client_id": {**ID, "description": "A client visible to the user"},
        "issue_date": {**DATE, "description": "Today (the tenant's time zone) when not given"},
        "valid_until": {**DATE, "description": f"From the issue date up to {MAX_VALID_DAYS} "
                                               "days on; the tenant's offer validity when "
                                               "not given"},
        "notes": nullable("string", maxLength=MAX_NOTES),
        "lines": {"type": "array", "items": LINE_IN, "maxItems": MAX_LINES,
                  "description": "Offer lines cannot have a negative price"},
    }, ["client_id"], closed=True),
    "InvOfferStatus": obj({
        "status": {"type": "string", "enum": list(OFFER_ACTIONS),
                   "description": "sent: a draft with lines; accepted or rejected: a sent "
                                  "offer (an expired one cannot be accepted)"},
    }, ["status"], closed=True),
    "InvConfirm": obj({
        "override": {"type": "boolean", "default": False,
                     "description": "Confirm past a sales block or the credit limit (needs "
                                    "the override permission)"},
    }, closed=True),
}


def _json_content(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": ref(schema)}}


ERROR_TEXTS = {
    400: "The body is not a JSON object, or a query parameter is bad: nothing was changed",
    401: "Missing or invalid token",
    403: "The user lacks the permission (or may not set a field that was sent)",
    404: "Not found, or not visible to the user",
    422: "Some values are not valid (messages in fields): nothing was changed",
}


def _errors(*codes: int, conflict: str | None = None) -> dict[str, Any]:
    texts = {**ERROR_TEXTS, 409: conflict or "Conflict"}
    return {str(code): {"description": texts[code], "content": _json_content("InvError")}
            for code in codes}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or STRING}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999}}


PAGING = [
    _query("page", "Page number, from 1", {"type": "integer", "minimum": 1, "default": 1}),
    _query("per_page", "Rows per page",
           {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 50}),
]
CODE_TAKEN = "The product code is taken (existing_id: that product)"


def _operation(summary: str, operation_id: str, responses: dict[str, Any],
               **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "operationId": operation_id, "tags": [TAG], **extra,
            "responses": responses}


def _ok(description: str, schema: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": _json_content(schema)}}


def _request(schema: str, required: bool = True) -> dict[str, Any]:
    return {"requestBody": {"required": required, "content": _json_content(schema)}}


def _product_paths() -> dict[str, Any]:
    return {
        "/api/v1/products": {
            "get": _operation(
                "Products by code", "listInvProducts",
                {**_ok("One page of products", "InvProductList"), **_errors(400, 401, 403)},
                parameters=[
                    _query("q", "Search in the code and the names (case ignored)"),
                    _query("active", "true: only active products, false: only inactive; "
                                     "all when not given", BOOLEAN),
                    _query("group_id", "Only this product group's products", INTEGER),
                    *PAGING]),
            "post": _operation(
                "Add a product (validated like the product form)", "createInvProduct",
                {**_ok("The new product; Location is its URL", "InvProduct", "201"),
                 **_errors(400, 401, 403, 409, 422, conflict=CODE_TAKEN)},
                **_request("InvProductCreate")),
        },
        "/api/v1/products/{product_id}": {
            "parameters": [_path_id("product_id")],
            "get": _operation("One product", "getInvProduct",
                              {**_ok("The product", "InvProduct"), **_errors(401, 403, 404)}),
            "patch": _operation(
                "Change the fields sent of a product", "updateInvProduct",
                {**_ok("The changed product", "InvProduct"),
                 **_errors(400, 401, 403, 404, 409, 422, conflict=CODE_TAKEN)},
                **_request("InvProductInput")),
        },
    }


def _invoice_paths() -> dict[str, Any]:
    invoice = "/api/v1/invoices/{invoice_id}"
    return {
        "/api/v1/invoices": {
            "get": _operation(
                "Invoices of the clients visible to the user, newest first",
                "listInvInvoices",
                {**_ok("One page of invoices", "InvInvoiceList"), **_errors(400, 401, 403)},
                parameters=[
                    _query("client_id", "Only this client's invoices", INTEGER),
                    _query("status", "Status as shown: overdue invoices are not confirmed, "
                                     "sent or partly_paid",
                           {"type": "string", "enum": list(INVOICE_STATUSES)}),
                    _query("kind", "Kind of invoice",
                           {"type": "string", "enum": list(INVOICE_KINDS)}),
                    *PAGING]),
            "post": _operation(
                "Create a draft invoice with its lines; one bad line (422, its index in "
                "line) creates nothing", "createInvInvoice",
                {**_ok("The new draft; Location is its URL", "InvInvoiceDetail", "201"),
                 **_errors(400, 401, 403, 422)},
                **_request("InvInvoiceCreate")),
        },
        invoice: {
            "parameters": [_path_id("invoice_id")],
            "get": _operation(
                "One invoice with its lines, totals, VAT breakdown, reference number and "
                "paid amount", "getInvInvoice",
                {**_ok("The invoice", "InvInvoiceDetail"), **_errors(401, 403, 404)}),
        },
        f"{invoice}/confirm": {
            "parameters": [_path_id("invoice_id")],
            "post": _operation(
                "Confirm a draft: its number, reference number and frozen seller and buyer "
                "details", "confirmInvInvoice",
                {**_ok("The confirmed invoice", "InvInvoiceDetail"),
                 **_errors(400, 401, 403, 404, 409, 422,
                           conflict="Refused (the reason in error): not a draft, no lines, "
                                    "no valid VAT rate, the client's sales are blocked or "
                                    "the credit limit would be exceeded. Nothing was "
                                    "changed and no number was used")},
                **_request("InvConfirm", required=False)),
        },
        f"{invoice}/pdf": {
            "parameters": [_path_id("invoice_id")],
            "get": _operation(
                "The invoice as PDF in the client's language", "getInvInvoicePdf",
                {"200": {"description": "The PDF",
                         "content": {"application/pdf": {"schema": {
                             "type": "string", "contentMediaType": "application/pdf"}}}},
                 **_errors(401, 403, 404)}),
        },
        f"{invoice}/ubl": {
            "parameters": [_path_id("invoice_id")],
            "get": _operation(
                "A confirmed invoice as an EN 16931 UBL 2.1 e-invoice (Peppol BIS Billing "
                "3.0): an Invoice, or a CreditNote for a credit invoice", "getInvInvoiceUbl",
                {"200": {"description": "The UBL XML",
                         "content": {"application/xml": {"schema": {
                             "type": "string", "contentMediaType": "application/xml"}}}},
                 **_errors(401, 403, 404, 409, conflict="The invoice is a draft")}),
        },
    }


def _offer_paths() -> dict[str, Any]:
    offer = "/api/v1/offers/{offer_id}"
    refused = "Refused by the offer rules (the reason in error): nothing was changed"
    return {
        "/api/v1/offers": {
            "get": _operation(
                "Offers of the clients visible to the user, newest first", "listInvOffers",
                {**_ok("One page of offers", "InvOfferList"), **_errors(400, 401, 403)},
                parameters=[
                    _query("client_id", "Only this client's offers", INTEGER),
                    _query("status", "Status as shown: expired offers are not draft or sent",
                           {"type": "string", "enum": list(OFFER_STATUSES)}),
                    *PAGING]),
            "post": _operation(
                "Create a draft offer with its lines, numbered in the offer series; one bad "
                "line (422, its index in line) creates nothing", "createInvOffer",
                {**_ok("The new offer; Location is its URL", "InvOfferDetail", "201"),
                 **_errors(400, 401, 403, 422)},
                **_request("InvOfferCreate")),
        },
        offer: {
            "parameters": [_path_id("offer_id")],
            "get": _operation(
                "One offer with its lines, totals and VAT breakdown", "getInvOffer",
                {**_ok("The offer", "InvOfferDetail"), **_errors(401, 403, 404)}),
        },
        f"{offer}/status": {
            "parameters": [_path_id("offer_id")],
            "post": _operation(
                "Mark the offer sent, accepted or rejected", "setInvOfferStatus",
                {**_ok("The offer", "InvOfferDetail"),
                 **_errors(400, 401, 403, 404, 409, 422, conflict=refused)},
                **_request("InvOfferStatus")),
        },
        f"{offer}/invoice": {
            "parameters": [_path_id("offer_id")],
            "post": _operation(
                "Make a draft invoice of a sent or accepted offer (the offer becomes "
                "invoiced); needs the right to edit invoices too", "invoiceInvOffer",
                {**_ok("The new draft invoice; Location is its URL", "InvInvoiceDetail",
                       "201"),
                 **_errors(401, 403, 404, 409,
                           conflict="Refused (the reason in error): already invoiced, a "
                                    "draft or rejected offer, an expired sent offer or one "
                                    "without lines. Nothing was created")}),
        },
    }


def openapi_paths() -> dict[str, Any]:
    """Path items of ``/api/v1/products``, ``/api/v1/invoices`` and ``/api/v1/offers``
    and their schemas."""
    return {**_product_paths(), **_invoice_paths(), **_offer_paths(),
            "components": {"schemas": SCHEMAS}}
