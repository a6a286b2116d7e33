"""The embedded demo: a tenant with realistic Estonian users, filled by every plugin once."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import tenant_scope
from core.models import Tenant, User
from core.plugins import PluginSet
from core.security import passwords_from_settings
from core.settings import as_list
from core.tenancy import create_tenant, default_plugin_names, enabled_plugins

DEMO_SLUG = "demo"
DEMO_LOGIN = "mari.tamm@demo.ee"
DEMO_PASSWORD = "demo-parool"  # noqa: S105 - the published demo login

DEMO_USERS = (
    ("Mari Tamm", DEMO_LOGIN, "admin", "+372 5123 4567", dt.date(1980, 3, 14)),
    ("Jaan Kask", "jaan.kask@demo.ee", "manager", "+372 5234 5678", dt.date(1975, 11, 2)),
    ("Kadri Saar", "kadri.saar@demo.ee", "sales", "+372 5345 6789", dt.date(1988, 6, 21)),
    ("Tõnu Mägi", "tonu.magi@demo.ee", "sales", "+372 5456 7890", dt.date(1983, 1, 9)),
    ("Piret Lepik", "piret.lepik@demo.ee", "accountant", "+372 5567 8901", dt.date(1979, 9, 30)),
    ("Liis Õunapuu", "liis.ounapuu@demo.ee", "secretary", "+372 5678 9012", dt.date(1992, 4, 17)),
)


def load(session: Session, plugins: PluginSet, settings: dict[str, Any]) -> bool:
    """Create the demo tenant and its data unless it exists; True when created now."""
    if session.scalar(sa.select(Tenant.id).where(Tenant.slug == DEMO_SLUG)) is not None:
        return False
    names = default_plugin_names(plugins, as_list(settings, "kliendihaldus.default_plugins"))
    tenant = create_tenant(
        session, plugins, name="Demo Kaubandus OÜ", slug=DEMO_SLUG,
        hosts=["localhost", "127.0.0.1"], plugin_names=names,
    )
    hasher = passwords_from_settings(settings)
    password_hash = hasher.hash(DEMO_PASSWORD)
    with tenant_scope(session, tenant.id):
        for name, email, role, phone, birthday in DEMO_USERS:
            session.add(User(name=name, email=email, role=role, phone=phone,
                             birthday=birthday, password_hash=password_hash, locale="et"))
        session.flush()
        enabled = set(enabled_plugins(session, tenant.id))
        # One plugin at a time in dependency order (pluggy itself calls the last registered
        # first), so a plugin sees the data of the plugins it depends on.
        for name in plugins.order:
            if name in enabled:
                plugins.call_for(name, "demo_data", dbsession=session, tenant=tenant)
    return True


class BackgroundWorker:
    """The worker loop in a daemon thread, so the demo delivers mail without a second command."""

    def __init__(self, settings: dict[str, Any], plugins: PluginSet) -> None:
        from core.worker import Worker

        self.worker = Worker.from_settings(settings, plugins)
        self.thread = threading.Thread(target=self.worker.run_forever, name="kh-worker",
                                       daemon=True)

    def start(self) -> BackgroundWorker:
        """Start the thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Ask the loop to finish and wait briefly for it."""
        self.worker.stop()
        self.thread.join(timeout=5)


def start_background_worker(settings: dict[str, Any], plugins: PluginSet) -> BackgroundWorker:
    """Start a worker thread for the demo server."""
    return BackgroundWorker(settings, plugins).start()
