"""The public API for plugin authors: import what a plugin needs from here.

This module is the stable surface of the core. Names exported here keep their meaning and
signature across minor releases; everything else under :mod:`core` is an implementation
detail that may change without notice. A plugin typically needs::

    from core.sdk import (
        Audited, Base, Field, Form, MenuItem, Permission, TenantScoped, Widget,
        flash, hookimpl, translation_factory, utcnow,
    )

    _ = translation_factory("acme")   # translation domain = plugin name

- :data:`hookimpl` marks the functions of the plugin's hooks module (see
  ``docs/plugins.md`` for every hook specification).
- :class:`MenuItem`, :class:`Permission`, :class:`Widget` and :class:`JobHandler` are the
  value objects the hooks return.
- :class:`Base`, :class:`TenantScoped`, :class:`Audited` and :func:`utcnow` are for models:
  every plugin table is tenant-scoped and named ``<plugin>_<thing>``.
- :class:`Field` and :class:`Form` build forms with translated field errors;
  :func:`flash` queues a message for the next page.
- :data:`NO_PERMISSION_REQUIRED` is the explicit marker for public views (every view must
  declare a permission).
"""

from __future__ import annotations

from pyramid.i18n import TranslationStringFactory
from pyramid.security import NO_PERMISSION_REQUIRED

from core.db import Base, TenantScoped, utcnow
from core.forms import Field, Form, Invalid
from core.hookspecs import hookimpl
from core.hookspecs.types import (
    CardFact,
    CardTab,
    EInvoiceChannel,
    JobHandler,
    MenuItem,
    OrderStep,
    Permission,
    StatementParser,
    Widget,
)
from core.models import Audited
from core.web import flash

__all__ = [
    "NO_PERMISSION_REQUIRED",
    "Audited",
    "Base",
    "CardFact",
    "CardTab",
    "EInvoiceChannel",
    "Field",
    "Form",
    "Invalid",
    "JobHandler",
    "MenuItem",
    "OrderStep",
    "Permission",
    "StatementParser",
    "TenantScoped",
    "Widget",
    "flash",
    "hookimpl",
    "translation_factory",
    "utcnow",
]


def translation_factory(domain: str) -> TranslationStringFactory:
    """A translation string factory for ``domain`` (by convention the plugin's name).

    Use it as ``_ = translation_factory("acme")`` and mark every user-facing text with
    ``_("...")``; the plugin's catalogue ``locale/<lang>/LC_MESSAGES/<domain>.mo`` is
    registered automatically when the plugin is loaded.
    """
    return TranslationStringFactory(domain)
