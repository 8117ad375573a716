"""Fault injection for the sandbox source: which request gets which failure.

Rules come from ``POST /_sandbox/faults``, ``SandboxServer.faults(...)`` or the CLI
(``--fault http_503:0.05``). Each request asks the book once; the first rule that matches
the request (path prefix and the request kind) and fires wins. A rule fires on every
matching request unless ``every`` (each n-th match), ``probability`` (seeded, so a demo
is repeatable) or ``times`` (at most n firings) narrow it.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

KINDS = (
    "http_500",
    "http_503",
    "http_429",
    "slow",
    "timeout",
    "drop",
    "truncate",
    "html",
    "invalid_rows",
    "duplicate_rows",
    "stuck_cursor",
    "unauthorized",
)
#: Kinds that only make sense on a list request (they change the rows or the paging).
LIST_KINDS = frozenset({"invalid_rows", "duplicate_rows", "stuck_cursor"})
DEFAULT_SECONDS = {"slow": 2.0, "timeout": 30.0}


class FaultConfigError(ValueError):
    """A fault rule is malformed; the message says which and why."""


@dataclass
class Rule:
    fault: str
    path: str = "/"
    times: int | None = None
    every: int | None = None
    probability: float | None = None
    seconds: float | None = None
    retry_after: int = 1
    rows: int = 1  # invalid_rows: how many rows of the page to break
    matched: int = field(default=0, repr=False)
    fired: int = field(default=0, repr=False)

    @property
    def delay(self) -> float:
        return self.seconds if self.seconds is not None else DEFAULT_SECONDS.get(self.fault, 0.0)

    def as_dict(self) -> dict:
        return {
            "fault": self.fault,
            "path": self.path,
            "times": self.times,
            "every": self.every,
            "probability": self.probability,
            "seconds": self.seconds,
            "retry_after": self.retry_after,
            "rows": self.rows,
            "matched": self.matched,
            "fired": self.fired,
        }


def rule_from_dict(data: dict, index: int = 0) -> Rule:
    if not isinstance(data, dict):
        raise FaultConfigError(f"rule {index}: must be an object")
    kind = data.get("fault")
    if kind not in KINDS:
        raise FaultConfigError(f"rule {index}: fault {kind!r} is not one of {', '.join(KINDS)}")
    unknown = set(data) - {
        "fault",
        "path",
        "times",
        "every",
        "probability",
        "seconds",
        "retry_after",
        "rows",
    }
    if unknown:
        raise FaultConfigError(f"rule {index}: unknown keys {sorted(unknown)}")

    def num(key, cast, minimum):
        value = data.get(key)
        if value is None:
            return None
        try:
            value = cast(value)
        except (TypeError, ValueError):
            raise FaultConfigError(f"rule {index}: {key} must be a number") from None
        if value < minimum:
            raise FaultConfigError(f"rule {index}: {key} must be >= {minimum}")
        return value

    probability = num("probability", float, 0.0)
    if probability is not None and probability > 1:
        raise FaultConfigError(f"rule {index}: probability must be between 0 and 1")
    path = data.get("path") or "/"
    if not isinstance(path, str) or not path.startswith("/"):
        raise FaultConfigError(f"rule {index}: path must be a prefix starting with /")
    return Rule(
        fault=kind,
        path=path,
        times=num("times", int, 0),
        every=num("every", int, 1),
        probability=probability,
        seconds=num("seconds", float, 0.0),
        retry_after=num("retry_after", int, 0) if data.get("retry_after") is not None else 1,
        rows=num("rows", int, 1) or 1,
    )


def parse_cli(spec: str) -> Rule:
    """``kind[:probability][@path]``, e.g. ``http_503:0.05`` or ``http_429:0.1@/crm``."""
    spec, _, path = spec.partition("@")
    kind, _, probability = spec.partition(":")
    data: dict = {"fault": kind, "path": path or "/"}
    if probability:
        data["probability"] = probability
    return rule_from_dict(data)


@dataclass(frozen=True)
class Fired:
    """The fault chosen for one request."""

    kind: str
    rule: Rule


class FaultBook:
    """The active rules and what fired; thread-safe."""

    def __init__(self, seed: int = 7):
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._seed = seed
        self._rng = random.Random(seed)
        self.fired: Counter[str] = Counter()

    def set(self, rules: list[Rule | dict]) -> list[Rule]:
        parsed = [r if isinstance(r, Rule) else rule_from_dict(r, i) for i, r in enumerate(rules)]
        with self._lock:
            self._rules = parsed
            self._rng = random.Random(self._seed)
        return parsed

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def reset(self) -> None:
        with self._lock:
            self._rules = []
            self.fired.clear()
            self._rng = random.Random(self._seed)

    def rules(self) -> list[dict]:
        with self._lock:
            return [r.as_dict() for r in self._rules]

    def pick(
        self, path: str, *, is_list: bool, has_previous_page: bool = False, can_stick: bool = True
    ) -> Fired | None:
        """The fault for this request, or None. Control paths never get one."""
        if path.startswith("/_sandbox"):
            return None
        with self._lock:
            for rule in self._rules:
                if not path.startswith(rule.path):
                    continue
                if rule.fault in LIST_KINDS and not is_list:
                    continue
                if rule.fault == "duplicate_rows" and not has_previous_page:
                    continue
                if rule.fault == "stuck_cursor" and not can_stick:
                    continue
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                rule.matched += 1
                if rule.every is not None and rule.matched % rule.every:
                    continue
                if rule.probability is not None and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                self.fired[rule.fault] += 1
                return Fired(rule.fault, rule)
        return None
