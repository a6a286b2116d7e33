"""The worker: runs due jobs and delivers queued e-mail (interface; delivery in core.mail)."""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from core.db import make_engine, make_session_factory
from core.plugins import PluginSet
from core.settings import as_int


class Worker:
    """Processes the job table and the mail outbox until stopped."""

    def __init__(self, settings: dict[str, Any], plugins: PluginSet) -> None:
        self.settings = settings
        self.plugins = plugins
        self.engine = make_engine(settings["sqlalchemy.url"])
        self.session_factory = make_session_factory(self.engine)
        self.name = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"
        self.poll_interval = as_int(settings, "jobs.poll_interval", 1)
        self._stop = threading.Event()

    @classmethod
    def from_settings(cls, settings: dict[str, Any], plugins: PluginSet) -> Worker:
        """A worker for the database and mail settings given."""
        return cls(settings, plugins)

    def run_once(self) -> int:
        """Process everything due now; returns the number of jobs and messages handled."""
        return 0

    def run_forever(self) -> None:
        """Loop until :meth:`stop` is called."""
        while not self._stop.is_set():
            if self.run_once() == 0:
                self._stop.wait(self.poll_interval)

    def stop(self) -> None:
        """Ask the loop to stop after the current item."""
        self._stop.set()
