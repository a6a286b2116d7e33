"""A small closed-loop HTTP load generator (standard library only).

Run by ``bench/http_load.py`` in a separate process, so that the load generator and the
server under test do not share a Python interpreter::

    python bench/loadgen.py --port 8000 --path / --concurrency 16 --seconds 15 \\
        --warmup 3 --cookie 'kh_session=...'

``concurrency`` threads each keep their own ``http.client.HTTPConnection`` (reopened only
when the server closes it) and send GET requests back to back. Requests started during the
warm-up are counted separately and left out of the statistics; requests started during the
measured window are timed from sending the request to reading the whole body. The summary
is printed to standard output as one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ERROR_SAMPLES = 5
"""How many non-200 responses / exceptions to keep (first few) for diagnosis."""


@dataclass
class ThreadResult:
    """What one load thread observed."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    warmup_statuses: Counter[int] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    samples: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0


@dataclass(frozen=True)
class Target:
    """Where and what to request."""

    host: str
    port: int
    path: str
    headers: dict[str, str]
    timeout: float


def percentile(sorted_values: list[float], pct: float) -> float:
    """The nearest-rank percentile of already sorted values (0.0 for no values)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def run_thread(target: Target, go: threading.Event, window: list[float],
               result: ThreadResult) -> None:
    """Send requests back to back until the end of the window (``[warm_end, end]``)."""
    go.wait()
    warm_end, end = window
    conn: http.client.HTTPConnection | None = None
    while True:
        started = time.perf_counter()
        if started >= end:
            break
        measured = started >= warm_end
        if conn is None:
            conn = http.client.HTTPConnection(target.host, target.port, timeout=target.timeout)
            result.connections += 1
        status = 0
        body = b""
        try:
            conn.request("GET", target.path, headers=target.headers)
            response = conn.getresponse()
            body = response.read()
            status = response.status
            if response.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            conn = None
            result.exceptions[f"{type(exc).__name__}: {exc}"] += 1
            if len(result.samples) < ERROR_SAMPLES:
                result.samples.append({"exception": f"{type(exc).__name__}: {exc}"})
        elapsed = time.perf_counter() - started
        if measured:
            result.latencies.append(elapsed)
            result.statuses[status] += 1
        else:
            result.warmup_statuses[status] += 1
        if status not in (0, 200) and len(result.samples) < ERROR_SAMPLES:
            result.samples.append({"status": status, "measured": measured,
                                   "body": body[:300].decode("utf-8", "replace")})
        if status == 0:
            time.sleep(0.01)  # the server is unreachable: do not spin


def run(target: Target, concurrency: int, seconds: float, warmup: float) -> dict[str, Any]:
    """Load ``target`` with ``concurrency`` threads; return the summary."""
    results = [ThreadResult() for _ in range(concurrency)]
    go = threading.Event()
    window = [0.0, 0.0]
    threads = [
        threading.Thread(target=run_thread, args=(target, go, window, r), daemon=True)
        for r in results
    ]
    for thread in threads:
        thread.start()
    begin = time.perf_counter()
    window[0] = begin + warmup
    window[1] = begin + warmup + seconds
    go.set()
    for thread in threads:
        thread.join(timeout=warmup + seconds + target.timeout + 10)
    stuck = sum(thread.is_alive() for thread in threads)

    latencies = sorted(x for r in results for x in r.latencies)
    statuses: Counter[int] = Counter()
    warmup_statuses: Counter[int] = Counter()
    exceptions: Counter[str] = Counter()
    samples: list[dict[str, Any]] = []
    for r in results:
        statuses.update(r.statuses)
        warmup_statuses.update(r.warmup_statuses)
        exceptions.update(r.exceptions)
        samples.extend(r.samples)
    count = len(latencies)
    return {
        "path": target.path,
        "concurrency": concurrency,
        "seconds": seconds,
        "warmup": warmup,
        "requests": count,
        "rps": count / seconds if seconds else 0.0,
        "latency_ms": {
            "p50": percentile(latencies, 50) * 1000,
            "p95": percentile(latencies, 95) * 1000,
            "p99": percentile(latencies, 99) * 1000,
            "max": (latencies[-1] if latencies else 0.0) * 1000,
            "mean": (sum(latencies) / count if count else 0.0) * 1000,
        },
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": count - statuses.get(200, 0),
        "warmup_requests": sum(warmup_statuses.values()),
        "warmup_statuses": {str(k): v for k, v in sorted(warmup_statuses.items())},
        "exceptions": dict(exceptions.most_common(10)),
        "connections": sum(r.connections for r in results),
        "samples": samples[:ERROR_SAMPLES],
        "stuck_threads": stuck,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--cookie", default="", help="Cookie header to send (optional).")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0, help="Measured duration.")
    parser.add_argument("--warmup", type=float, default=3.0, help="Unmeasured lead-in.")
    parser.add_argument("--timeout", type=float, default=30.0, help="Per-request timeout.")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the load generator only targets the loopback interface")
    if not 1 <= args.concurrency <= 256 or not 0 < args.seconds <= 600 or args.warmup < 0:
        parser.error("need 1 <= concurrency <= 256, 0 < seconds <= 600, warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the load and print the JSON summary."""
    args = parse_args(argv)
    headers = {"Accept": "text/html,application/json"}
    if args.cookie:
        headers["Cookie"] = args.cookie
    target = Target(args.host, args.port, args.path, headers, args.timeout)
    summary = run(target, args.concurrency, args.seconds, args.warmup)
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
