"""The file storage service: where uploaded files (document versions) live.

:class:`FileStorage` is the interface; :class:`LocalFileStorage` keeps files in a local
folder (the setting ``storage.path``; empty means ``var/files`` under the current
directory). An S3-compatible implementation can replace it at scale by setting
``registry["file_storage"]`` to another :class:`FileStorage` after this module's
``includeme``.

Keys look like ``<tenant id>/<year>/<32 random hex digits>[.ext]``: the uploaded file name
is never used for paths (only a short, sanitised extension is kept, for the administrator's
convenience), and :meth:`LocalFileStorage.open` refuses any key not of that shape.

Files are written before the database rows that point at them. :func:`store_in_transaction`
removes the file again when the request's transaction is aborted or its commit fails, so
neither a row without a file nor an orphan file is left behind.

Other plugins reach the service with :func:`get_storage` (``request.registry["file_storage"]``)
and the upload helpers :func:`read_upload` and :func:`max_upload_bytes`.
"""

from __future__ import annotations

import abc
import logging
import mimetypes
import os
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pyramid.request import Request

from core.db import utcnow
from core.settings import as_int
from plugins.crm_register.i18n import _

log = logging.getLogger(__name__)

REGISTRY_KEY = "file_storage"
"""The key of the storage service in the Pyramid registry."""
MAX_UPLOAD_SETTING = "storage.max_upload_mb"
DEFAULT_MAX_UPLOAD_MB = 25
CHUNK = 64 * 1024
KEY_RE = re.compile(r"^(\d{1,12})/(\d{4})/([0-9a-f]{32})(\.[a-z0-9]{1,10})?$")
EXTENSION_RE = re.compile(r"^[a-z0-9]{1,10}$")
CONTENT_TYPE_MAX = 100
"""The length of ``DocumentVersion.content_type``."""
CONTENT_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")


class StorageError(Exception):
    """The storage could not save, read or delete a file."""


class MissingFile(StorageError):
    """No file is stored under the key (or the key is not a valid key)."""


class FileStorage(abc.ABC):
    """Where files live: save bytes under a new key, read them back, delete them."""

    @abc.abstractmethod
    def save(self, data: bytes, suggested_name: str = "", *, tenant_id: int) -> str:
        """Store ``data`` as a new file of ``tenant_id``; returns its key.

        ``suggested_name`` (the uploaded file name) may give the key a short extension; it
        is never used as a path. Raises :class:`StorageError` when the file cannot be
        written (then nothing is left behind).
        """

    @abc.abstractmethod
    def open(self, key: str) -> IO[bytes]:
        """The stored file as a binary file object (close it after reading).

        Raises :class:`MissingFile` for an unknown or malformed key.
        """

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the file; a missing file is not an error."""

    def read(self, key: str) -> bytes:
        """The whole content of the stored file."""
        with self.open(key) as handle:
            return handle.read()


def _extension(suggested_name: str) -> str:
    suffix = Path(suggested_name.replace("\\", "/").rsplit("/", 1)[-1]).suffix.lower()
    suffix = suffix.removeprefix(".")
    return f".{suffix}" if EXTENSION_RE.match(suffix) else ""


class LocalFileStorage(FileStorage):
    """Files in a local folder: ``<root>/<tenant id>/<year>/<random>[.ext]``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise MissingFile(f"not a storage key: {key!r}")
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):  # pragma: no cover - KEY_RE prevents it
            raise MissingFile(f"not a storage key: {key!r}")
        return path

    def save(self, data: bytes, suggested_name: str = "", *, tenant_id: int) -> str:
        """Write ``data`` to a new file (never overwriting one) and return its key."""
        if not isinstance(tenant_id, int) or tenant_id < 0:
            raise ValueError("tenant_id must be a non-negative int")
        extension = _extension(suggested_name)
        year = f"{utcnow().year:04d}"
        folder = self.root / str(tenant_id) / year
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {folder}: {exc}") from exc
        for _attempt in range(5):
            key = f"{tenant_id}/{year}/{secrets.token_hex(16)}{extension}"
            path = self._path(key)
            try:
                handle = open(path, "xb")  # noqa: SIM115 - closed below
            except FileExistsError:  # pragma: no cover - 128 random bits
                continue
            except OSError as exc:
                raise StorageError(f"cannot create {path}: {exc}") from exc
            try:
                with handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as exc:
                path.unlink(missing_ok=True)
                raise StorageError(f"cannot write {path}: {exc}") from exc
            return key
        raise StorageError("no free file name found")  # pragma: no cover

    def open(self, key: str) -> IO[bytes]:
        """The stored file, opened for reading."""
        path = self._path(key)
        try:
            return open(path, "rb")  # the caller closes it
        except FileNotFoundError as exc:
            raise MissingFile(f"no file {key}") from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def delete(self, key: str) -> None:
        """Remove the file if it is there."""
        try:
            path = self._path(key)
        except MissingFile:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc}") from exc


def storage_root(settings: Mapping[str, Any]) -> Path:
    """The folder of the local storage: ``storage.path``, else ``./var/files``."""
    configured = str(settings.get("storage.path") or "").strip()
    return Path(configured) if configured else Path.cwd() / "var" / "files"


def storage_from_settings(settings: Mapping[str, Any]) -> FileStorage:
    """A :class:`LocalFileStorage` for the settings (e.g. for the command line or demo)."""
    return LocalFileStorage(storage_root(settings))


def get_storage(request: Request) -> FileStorage:
    """The storage service of the application."""
    return request.registry[REGISTRY_KEY]


def max_upload_bytes(settings: Mapping[str, Any]) -> int:
    """The upload size limit in bytes (``storage.max_upload_mb``, default 25 MB)."""
    if str(settings.get(MAX_UPLOAD_SETTING) or "").strip() == "":
        return DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    return as_int(settings, MAX_UPLOAD_SETTING, 1) * 1024 * 1024


def _forget(storage: FileStorage, key: str) -> None:
    try:
        storage.delete(key)
    except Exception:  # a cleanup must not hide the original problem
        log.exception("Could not remove the orphan file %s", key)


def _after_commit(status: bool, storage: FileStorage, key: str) -> None:
    if not status:
        _forget(storage, key)


def store_in_transaction(request: Request, data: bytes, suggested_name: str = "") -> str:
    """Save ``data`` for the request's tenant; the file is removed again if the request's
    transaction is aborted or fails to commit. Raises :class:`StorageError`."""
    storage = get_storage(request)
    key = storage.save(data, suggested_name, tenant_id=request.tenant.id)
    transaction = request.tm.get()
    transaction.addAfterCommitHook(_after_commit, args=(storage, key))
    transaction.addAfterAbortHook(_forget, args=(storage, key))
    return key


def delete_after_commit(request: Request, key: str) -> None:
    """Remove the stored file once the request's transaction has committed."""
    storage = get_storage(request)
    request.tm.get().addAfterCommitHook(
        lambda status: _forget(storage, key) if status else None)


# --- uploads ------------------------------------------------------------------------------

class UploadError(ValueError):
    """An unacceptable upload; the argument is a translation string for the user."""


@dataclass(frozen=True)
class Upload:
    """An uploaded file, read and measured."""

    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


def safe_filename(name: str | None, fallback: str = "file") -> str:
    """A file name without folders, control characters or quotes, at most 255 characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in '"<>|:*?')
    name = name.strip(" .")
    if not name:
        return fallback
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        keep_ext = dot and 0 < len(ext) <= 20
        name = stem[: 254 - len(ext)] + "." + ext if keep_ext else name[:255]
    return name


def guess_content_type(filename: str, declared: str | None = None) -> str:
    """The content type by the file name's extension, else the declared one if well-formed,
    else ``application/octet-stream``."""
    guessed, _encoding = mimetypes.guess_type(filename, strict=False)
    if guessed:
        return guessed
    declared = (declared or "").split(";", 1)[0].strip().lower()
    if (CONTENT_TYPE_RE.match(declared) and len(declared) <= CONTENT_TYPE_MAX
            and not declared.startswith("multipart/")):
        return declared
    return "application/octet-stream"


def read_upload(field: Any, limit: int) -> Upload:
    """Read a multipart file field, measuring the real size while reading.

    Raises :class:`UploadError` when no file was sent, the file is empty or larger than
    ``limit`` bytes (the client's ``Content-Length`` is not trusted).
    """
    handle = getattr(field, "file", None)
    if handle is None:
        raise UploadError(_("Choose a file to upload."))
    if getattr(handle, "seekable", lambda: False)():
        handle.seek(0)
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise UploadError(_("The file is too large: at most ${mb} MB is allowed.",
                                mapping={"mb": _megabytes(limit)}))
        chunks.append(chunk)
    if size == 0:
        raise UploadError(_("The file is empty."))
    filename = safe_filename(getattr(field, "filename", None))
    return Upload(filename=filename,
                  content_type=guess_content_type(filename, getattr(field, "type", None)),
                  data=b"".join(chunks))


def _megabytes(limit: int) -> str:
    value = limit / (1024 * 1024)
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def includeme(config: Any) -> None:
    """Put the local folder storage into the registry (unless a storage is already set)."""
    settings = config.get_settings()
    max_upload_bytes(settings)  # refuse a bad size limit at start-up
    if config.registry.get(REGISTRY_KEY) is None:
        config.registry[REGISTRY_KEY] = storage_from_settings(settings)
