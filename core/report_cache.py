"""Reports kept for a while, bounded in bytes rather than in entries.

The app reruns a page on every click; a report that ran a moment ago is served from here.
Streamlit's own cache bounds the number of entries, so 128 reports of 2.5M rows would be
hundreds of gigabytes: this one bounds their size. The least recently used report goes
first, a report larger than the whole limit is never kept, and an entry older than the
time-to-live is run again. Keys start with the acting user, so one user's report is never
served to another. Safe to share between the server's threads.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections import OrderedDict
from typing import Callable, Hashable, Mapping

from .report import Report

DEFAULT_MB = 512
ENVIRONMENT = "MOR_REPORT_CACHE_MB"


class CacheLimitError(ValueError):
    """$MOR_REPORT_CACHE_MB is not a size; the message says what is accepted."""


def limit_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The cache's bound: $MOR_REPORT_CACHE_MB megabytes (0 keeps nothing), default 512."""
    text = (os.environ if environ is None else environ).get(ENVIRONMENT, "").strip()
    if not text:
        return DEFAULT_MB * 2**20
    try:
        mb = float(text)
    except ValueError:
        mb = -1.0
    if not 0 <= mb <= 10**7 or mb != mb:
        raise CacheLimitError(f"{ENVIRONMENT}={text!r} is not a size: give megabytes, e.g. 512 "
                              "(0 keeps no report)")
    return int(mb * 2**20)


def report_bytes(report: Report) -> int:
    """What a report holds in memory: its rows (text included) and a little for the rest."""
    return int(report.rows.memory_usage(index=True, deep=True).sum()) + 4096


class ReportCache:
    def __init__(self, max_bytes: int, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic):
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Report, int, float]] = OrderedDict()
        self._bytes = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return self.get(key) is not None

    def get(self, key: Hashable) -> Report | None:
        """The report kept under `key` (now the most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() - entry[2] > self.ttl:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return _handed_out(entry[0])

    def put(self, key: Hashable, report: Report) -> bool:
        """Keep `report`, making room by dropping the least recently used; False when it is
        larger than the whole cache (it is not kept)."""
        size = report_bytes(report)
        with self._lock:
            if key in self._entries:
                self._drop(key)
            if size > self.max_bytes:
                return False
            now = self._clock()
            for old in [k for k, (_, _, at) in self._entries.items() if now - at > self.ttl]:
                self._drop(old)
            while self._entries and self._bytes + size > self.max_bytes:
                self._drop(next(iter(self._entries)))
            self._entries[key] = (report, size, now)
            self._bytes += size
            return True

    def get_or_run(self, key: Hashable, run: Callable[[], Report]) -> Report:
        """The kept report, else run it (outside the lock: other users' reports go on) and keep it."""
        report = self.get(key)
        if report is None:
            report = run()
            self.put(key, report)
            report = _handed_out(report)
        return report

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _drop(self, key: Hashable) -> None:
        _, size, _ = self._entries.pop(key)
        self._bytes -= size


def _handed_out(report: Report) -> Report:
    """A report of its own for each caller, sharing the data (copy-on-write): a page that
    changes its rows, totals or notes never changes the kept one."""
    return dataclasses.replace(report, rows=report.rows.copy(deep=False), totals=dict(report.totals),
                               notes=list(report.notes), key_columns=list(report.key_columns),
                               metric_columns=list(report.metric_columns))
