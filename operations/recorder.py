"""Each process's request timings, in memory until the next flush (no Django here).

Memory is bounded: one histogram (at most 52 counters) per endpoint, method, financial flag
and clock hour, and endpoints are route names (a bounded set), never raw paths.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from operations.histograms import Histogram

SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class TimingKey:
    endpoint: str
    method: str
    financial: bool
    hour: int  # hours since the Unix epoch (UTC)


@dataclass
class Tally:
    histogram: Histogram = field(default_factory=Histogram)
    errors: int = 0

    def merge(self, other: Tally) -> None:
        self.histogram.merge(other.histogram)
        self.errors += other.errors


class TimingRecorder:
    """Thread-safe tallies per key; ``take`` hands them over for a flush and starts afresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._tallies: dict[TimingKey, Tally] = {}
        self._last_flush = time.monotonic()

    def record(
        self,
        *,
        endpoint: str,
        method: str,
        financial: bool,
        ms: float,
        error: bool,
        at: float | None = None,
    ) -> None:
        hour = int((time.time() if at is None else at) // SECONDS_PER_HOUR)
        key = TimingKey(endpoint=endpoint, method=method, financial=financial, hour=hour)
        with self._lock:
            tally = self._tallies.get(key)
            if tally is None:
                tally = self._tallies[key] = Tally()
            tally.histogram.add(ms)
            tally.errors += int(error)

    def flush_due(self, interval_seconds: float) -> bool:
        return time.monotonic() - self._last_flush >= interval_seconds

    def take(self) -> dict[TimingKey, Tally]:
        """Everything recorded since the last take; the recorder starts empty."""
        with self._lock:
            taken, self._tallies = self._tallies, {}
            self._last_flush = time.monotonic()
        return taken

    def put_back(self, tallies: dict[TimingKey, Tally]) -> None:
        """Return tallies a flush could not store, so the next flush stores them."""
        with self._lock:
            for key, tally in tallies.items():
                mine = self._tallies.get(key)
                if mine is None:
                    self._tallies[key] = tally
                else:
                    mine.merge(tally)

    def flushing(self) -> threading.Lock:
        """Held during a flush: a thread finding it taken skips its flush (one at a time)."""
        return self._flush_lock

    def pending(self) -> int:
        with self._lock:
            return sum(t.histogram.count for t in self._tallies.values())


#: The process's recorder: the middleware records into it, the flush empties it.
RECORDER = TimingRecorder()
