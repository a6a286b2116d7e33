"""Gunicorn configuration used by ``bench/http_load.py`` (``gunicorn -c bench/gunicorn_ready.py``).

Each worker loads the application itself after the fork, so the first ``/healthz`` answer
only proves that *one* worker is up. This hook lets the benchmark wait for all of them: when
a worker has loaded the application it creates ``worker-<pid>`` in the folder named by
``KH_BENCH_READY_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

READY_DIR_ENV = "KH_BENCH_READY_DIR"


def post_worker_init(worker: Any) -> None:
    """Gunicorn server hook: mark this worker as ready to serve."""
    folder = os.environ.get(READY_DIR_ENV)
    if folder:
        (Path(folder) / f"worker-{worker.pid}").touch()
