"""Hooks of background work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.hookspecs._marker import hookspec

if TYPE_CHECKING:
    from core.hookspecs.types import JobHandler


@hookspec
def job_handlers() -> list[JobHandler]:
    """Declare the job kinds this plugin can run in the ``worker``.

    Broadcast. Kinds must be unique across plugins (prefix them with the plugin name). A
    job of a plugin that is disabled for the job's tenant is not run and stays queued.
    """
