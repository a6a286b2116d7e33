"""Database foundation: declarative base, column types, engines, sessions and tenant scoping.

Every model that belongs to a tenant inherits :class:`TenantScoped`. The session guard in
this module then adds ``tenant_id = <current tenant>`` to every ORM SELECT, UPDATE and
DELETE touching such a model and stamps the tenant on every insert, so a view cannot forget
the filter. The current tenant lives in ``session.info["tenant_id"]``; a query on a
tenant-scoped model without a tenant raises :class:`TenantContextError` unless the statement
(or the session) is explicitly marked with ``all_tenants``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import zope.sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.sql import util as sql_util

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ALL_TENANTS = "all_tenants"
"""Execution option / session info key that lifts tenant scoping (CLI, worker, migrations)."""


class TenantContextError(RuntimeError):
    """A tenant-scoped model was queried or written without a current tenant."""


class AwareDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware: stored in UTC, returned in UTC.

    SQLite keeps no offset, so naive values are refused on the way in and the UTC offset is
    restored on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        """Convert an aware datetime to UTC (naive for SQLite); refuse naive ones."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        """Return the stored value as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every model, the core's and every plugin's."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: AwareDateTime(),
        Decimal: sa.Numeric(14, 2),
        dict[str, Any]: sa.JSON(),
        list[Any]: sa.JSON(),
    }


class TenantScoped:
    """Mixin for rows owned by a tenant: adds ``tenant_id`` and automatic scoping.

    Put ``tenant_id`` first in the model's composite indexes and unique constraints so the
    schema can later be sharded by tenant.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(
            sa.ForeignKey("core_tenant.id", ondelete="CASCADE"), index=True, nullable=False
        )


def _is_unscoped(session: Session, execution_options: Any) -> bool:
    return bool(execution_options.get(ALL_TENANTS) or session.info.get(ALL_TENANTS))


def _tenant_tables() -> frozenset[str]:
    return frozenset(
        mapper.local_table.name
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, TenantScoped)
    )


def _touches_tenant_scoped(state: ORMExecuteState) -> bool:
    """True when any table of the statement (also in subqueries) is tenant-scoped."""
    if any(m is not None and issubclass(m.class_, TenantScoped) for m in state.all_mappers):
        return True
    scoped = _tenant_tables()
    return any(
        getattr(table, "name", None) in scoped
        for table in sql_util.find_tables(
            state.statement, include_aliases=True, include_joins=True, include_selects=True,
            include_crud=True, check_columns=True,
        )
    )


def _scope_orm_execute(state: ORMExecuteState) -> None:
    """Add the current tenant as criteria to every ORM statement.

    The criteria apply to every occurrence of a tenant-scoped entity in the statement,
    including ``select_from``, joins, ``EXISTS`` and ``IN`` subqueries.
    """
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the criteria option already propagates to these loads
    if _is_unscoped(state.session, state.execution_options):
        return
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None:
        if _touches_tenant_scoped(state):
            raise TenantContextError("query on a tenant-scoped model without a current tenant")
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
            track_closure_variables=False,
        )
    )


def _stamp_tenant_before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    """Set ``tenant_id`` on new rows and refuse rows of another tenant."""
    unscoped = bool(session.info.get(ALL_TENANTS))
    tenant_id = session.info.get("tenant_id")
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                raise TenantContextError(
                    f"cannot save {type(obj).__name__} without a current tenant"
                )
            obj.tenant_id = tenant_id
        elif not unscoped and tenant_id is not None and obj.tenant_id != tenant_id:
            raise TenantContextError(
                f"refusing to save {type(obj).__name__} of another tenant"
            )
        elif not unscoped and tenant_id is None:
            raise TenantContextError(
                f"cannot save {type(obj).__name__} without a current tenant"
            )
    for obj in session.deleted:
        if (
            isinstance(obj, TenantScoped)
            and not unscoped
            and obj.tenant_id != tenant_id
        ):
            raise TenantContextError(f"refusing to delete {type(obj).__name__} of another tenant")


def install_tenant_guard(session_class: type[Session]) -> None:
    """Attach the tenant-scoping listeners to a session class."""
    event.listen(session_class, "do_orm_execute", _scope_orm_execute)
    event.listen(session_class, "before_flush", _stamp_tenant_before_flush)


class AppSession(Session):
    """The session class of the product: tenant guard and audit log attached."""


install_tenant_guard(AppSession)


@contextmanager
def all_tenants(session: Session) -> Iterator[Session]:
    """Lift tenant scoping on ``session`` inside the block (system work only)."""
    previous = session.info.get(ALL_TENANTS)
    session.info[ALL_TENANTS] = True
    try:
        yield session
    finally:
        if previous is None:
            session.info.pop(ALL_TENANTS, None)
        else:
            session.info[ALL_TENANTS] = previous


@contextmanager
def tenant_scope(session: Session, tenant_id: int) -> Iterator[Session]:
    """Scope ``session`` to ``tenant_id`` inside the block (lifting ``all_tenants``), then
    restore the previous scope."""
    previous = session.info.get("tenant_id")
    unscoped = session.info.pop(ALL_TENANTS, None)
    session.info["tenant_id"] = tenant_id
    try:
        yield session
    finally:
        session.info["tenant_id"] = previous
        if unscoped is not None:
            session.info[ALL_TENANTS] = unscoped


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


SQLITE_IMMEDIATE = "sqlite_immediate"
"""Execution option: on SQLite, take the write lock at BEGIN (queue workers use it)."""


def _sqlite_begin(conn: sa.Connection) -> None:
    # SQLAlchemy, not pysqlite, starts transactions, so reads are transactional too.
    if conn.get_execution_options().get(SQLITE_IMMEDIATE):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the product's connection settings."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin) instead of pysqlite.
    dbapi_connection.isolation_level = None
    _sqlite_pragmas(dbapi_connection, connection_record)


def make_session_factory(engine: Engine) -> sessionmaker[AppSession]:
    """A session factory bound to ``engine`` producing :class:`AppSession` objects."""
    return sessionmaker(bind=engine, class_=AppSession, expire_on_commit=False)


def session_for_transaction(
    factory: sessionmaker[AppSession], transaction_manager: Any
) -> AppSession:
    """A session joined to a ``transaction`` manager (commit/abort follow the manager)."""
    session = factory()
    zope.sqlalchemy.register(session, transaction_manager=transaction_manager)
    return session


def mark_changed(session: Session) -> None:
    """Tell the transaction manager that ``session`` wrote with plain SQL (``execute`` of an
    insert/update without ORM objects): otherwise a request that changed nothing through the
    ORM is rolled back at its end as read-only."""
    zope.sqlalchemy.mark_changed(session)


TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
"""PostgreSQL serialization failure and deadlock: the transaction may simply be run again."""


def is_transient_db_error(exc: BaseException) -> bool:
    """True for database errors that a retry of the whole transaction can cure.

    SQLite reports a concurrent writer as "database is locked" (also when a read snapshot
    became stale in WAL mode); PostgreSQL as a serialization failure or deadlock.
    """
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in TRANSIENT_SQLSTATES:
        return True
    message = str(orig).lower()
    return "database is locked" in message or "database table is locked" in message


def retry_tween_factory(handler: Any, registry: Any) -> Any:
    """Tween (over pyramid_tm) marking transient database errors retryable, so pyramid_retry
    runs the request again in a fresh transaction instead of answering 500.

    It sees errors raised at commit and errors an exception view already rendered.
    """
    from pyramid_retry import mark_error_retryable

    def retry_transient(request: Any) -> Any:
        try:
            response = handler(request)
        except sa.exc.DBAPIError as exc:
            if is_transient_db_error(exc):
                mark_error_retryable(exc)
            raise
        exc = getattr(request, "exception", None)
        if exc is not None and is_transient_db_error(exc):
            mark_error_retryable(exc)
        return response

    return retry_transient


def includeme(config: Any) -> None:
    """Wire the engine, the session factory and ``request.dbsession`` into Pyramid."""
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    # Annotating transactions with the user would authenticate every request, including
    # static files and /healthz, which need neither a tenant nor a session.
    settings.setdefault("tm.annotate_user", "false")
    config.include("pyramid_tm")
    config.include("pyramid_retry")
    engine = make_engine(settings["sqlalchemy.url"])
    factory = make_session_factory(engine)
    config.registry["dbsession_factory"] = factory
    config.registry["db_engine"] = engine

    def dbsession(request: Any) -> AppSession:
        session = request.environ.get("app.dbsession")
        if session is None:
            session = session_for_transaction(factory, request.tm)
            session.info["request"] = request
        return session

    config.add_request_method(dbsession, reify=True)
    config.add_tween("core.db.retry_tween_factory", over="pyramid_tm.tm_tween_factory")
