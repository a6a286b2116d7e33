"""The documents register (C6): registering documents and uploading their versions.

The file is written to the storage service first (:func:`store_in_transaction`, which
removes it again if the transaction does not commit); only then are the number taken and
the rows added, so a storage failure leaves neither rows nor a used number behind.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pyramid.request import Request

from core.db import utcnow
from plugins.crm_register.access import visible_client_ids
from plugins.crm_register.models import Client, Document, DocumentType, DocumentVersion
from plugins.crm_register.numbering import next_number
from plugins.crm_register.storage import Upload, store_in_transaction

CONTRACT_TYPE_NAMES = ("Leping", "Contract", "Agreement")
"""Names of the document type used for files attached to contracts, in order of preference."""


def visible_document(request: Request, document_id: Any) -> Document | None:
    """The document with this id if its client is visible to the user, else None."""
    try:
        key = int(document_id)
    except (TypeError, ValueError):
        return None
    return request.dbsession.scalar(
        sa.select(Document).where(Document.id == key,
                                  Document.client_id.in_(visible_client_ids(request))))


def add_version(request: Request, document: Document, upload: Upload) -> DocumentVersion:
    """Store ``upload`` as the next version of ``document`` (the older ones stay).

    Raises :class:`plugins.crm_register.storage.StorageError` before anything is added
    to the database when the file cannot be stored.
    """
    key = store_in_transaction(request, upload.data, upload.filename)
    # Lock the document so that two uploads at once get consecutive version numbers.
    request.dbsession.execute(
        sa.select(Document.id).where(Document.id == document.id).with_for_update())
    latest = request.dbsession.scalar(
        sa.select(sa.func.max(DocumentVersion.version))
        .where(DocumentVersion.document_id == document.id)) or 0
    version = DocumentVersion(
        document_id=document.id, version=latest + 1, filename=upload.filename,
        content_type=upload.content_type, size=upload.size,
        sha256=hashlib.sha256(upload.data).hexdigest(), storage_key=key,
        uploaded_by_id=request.user.id, uploaded_at=utcnow())
    request.dbsession.add(version)
    request.dbsession.flush()
    request.dbsession.expire(document, ["versions"])
    return version


def register_document(request: Request, client: Client, upload: Upload,
                      **fields: Any) -> Document:
    """Register a new document of ``client`` with ``upload`` as its first version.

    ``fields`` are Document columns (title, type_id, status, project_id, activity_id,
    description); the number, registrar and registration time are set here.
    """
    key = store_in_transaction(request, upload.data, upload.filename)
    document = Document(number=next_number(request.dbsession, "document"), client_id=client.id,
                        registrar_id=request.user.id, registered_at=utcnow(), **fields)
    request.dbsession.add(document)
    request.dbsession.flush()
    request.dbsession.add(DocumentVersion(
        document_id=document.id, version=1, filename=upload.filename,
        content_type=upload.content_type, size=upload.size,
        sha256=hashlib.sha256(upload.data).hexdigest(), storage_key=key,
        uploaded_by_id=request.user.id, uploaded_at=document.registered_at))
    request.dbsession.flush()
    return document


def contract_document_type(request: Request) -> DocumentType | None:
    """The tenant's document type for contracts ("Leping"), if it has one."""
    types = request.dbsession.scalars(
        sa.select(DocumentType).where(DocumentType.name.in_(CONTRACT_TYPE_NAMES))).all()
    by_name = {t.name: t for t in types}
    return next((by_name[name] for name in CONTRACT_TYPE_NAMES if name in by_name), None)


def format_size(request: Request, size: int | None) -> str:
    """A file size for people: ``532 B``, ``12,3 kB``, ``4,1 MB`` (locale's decimal mark)."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{request.format_number(Decimal(size) / 1024, 1)} kB"
    return f"{request.format_number(Decimal(size) / (1024 * 1024), 1)} MB"
