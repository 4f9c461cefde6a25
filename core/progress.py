"""Progress of a long copy (the sync's calls, the demo's call records) as one line of text.

On a terminal the line is redrawn in place; into a log (not a terminal) a line goes out
every few seconds; given a `say` callback (the demo's messages, the app's status box), the
line is handed to it every couple of seconds. The last update is always shown (`force`).
"""
from __future__ import annotations

import sys
import time
from typing import Callable


class Progress:
    def __init__(self, total: int = 0, label: str = "calls", *, stream=None,
                 say: Callable[[str], None] | None = None):
        self.total = max(int(total), 0)
        self.label = label
        self.say = say
        self.stream = None if say is not None else (stream if stream is not None else sys.stderr)
        self.tty = self.stream is not None and getattr(self.stream, "isatty", lambda: False)()
        self.every = 0.2 if self.tty else (2.0 if say is not None else 5.0)
        self.started = time.monotonic()
        self.last_line = 0.0
        self.drawn = False

    def text(self, done: int, elapsed: float) -> str:
        """'calls [####------] 400/1,000 40.0% 2,000/s ETA 0s', or without a total
        'calls: 400 2,000/s'."""
        rate = done / max(elapsed, 1e-9)
        if not self.total:
            return f"{self.label}: {done:,} {rate:,.0f}/s"
        share = min(done / self.total, 1.0)
        width = 30
        bar = "#" * int(share * width) + "-" * (width - int(share * width))
        eta = (self.total - done) / rate if rate > 0 else 0
        return (f"{self.label} [{bar}] {done:,}/{self.total:,} {share:5.1%} "
                f"{rate:,.0f}/s ETA {eta:4.0f}s")

    def update(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_line < self.every:
            return
        self.last_line = now
        line = self.text(done, now - self.started)
        if self.say is not None:
            self.say(line)
            return
        self.stream.write("\r" + line if self.tty else line + "\n")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """End the redrawn line on a terminal."""
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
