"""Fixtures of the example plugin's tests (the client register's ``make_client`` too)."""

from __future__ import annotations

from plugins.crm_register.tests.conftest import make_client  # noqa: F401 - shared fixture
