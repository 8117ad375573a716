"""Notification grouping, silence matching and the send decision (Alertmanager's semantics).

Pure: plain data in, plain data out. The planner (alerts.notifications) feeds these from the
database and stores what they return.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

MATCH_OPS = ("=", "!=", "=~")
# group_by ["..."]: every label, i.e. one group per instance (Alertmanager's spelling).
GROUP_BY_ALL = "..."
_GROUP_KEY_MAX = 300

FIRING = "firing"
REPEAT = "repeat"
RESOLVED = "resolved"


# --- Group key -------------------------------------------------------------------------


def group_labels(labels: Mapping[str, str], group_by: Sequence[str]) -> dict[str, str]:
    """The labels that name an instance's group (a missing label counts as "")."""
    if GROUP_BY_ALL in group_by:
        return dict(sorted(labels.items()))
    return {name: str(labels.get(name, "")) for name in sorted(set(group_by))}


def group_key(labels: Mapping[str, str], group_by: Sequence[str]) -> str:
    """A stable text key of the group (``""`` when ``group_by`` is empty: one group per rule).

    ``name="value"`` pairs in name order, values quoted so that a comma inside a value cannot
    make two groups collide; hashed when too long for the column."""
    pairs = group_labels(labels, group_by)
    key = ",".join(f'{name}="{_escape(value)}"' for name, value in pairs.items())
    if len(key) > _GROUP_KEY_MAX:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


# --- Silences --------------------------------------------------------------------------


def matcher_problems(matchers: object) -> list[str]:
    """What is wrong with a silence's matchers (empty list: valid).

    Each matcher is ``{"label": name, "op": "=" | "!=" | "=~", "value": text}``; at least one
    is required (a silence without matchers would mute everything)."""
    if not isinstance(matchers, list) or not matchers:
        return ["At least one matcher is required."]
    problems = []
    for number, matcher in enumerate(matchers, start=1):
        if not isinstance(matcher, Mapping):
            problems.append(f"Matcher {number} must be an object with label, op and value.")
            continue
        label, op, value = matcher.get("label"), matcher.get("op"), matcher.get("value")
        if not isinstance(label, str) or not label.strip():
            problems.append(f"Matcher {number}: the label name is empty.")
        if op not in MATCH_OPS:
            problems.append(
                f"Matcher {number}: operator {op!r} is not one of {', '.join(MATCH_OPS)}."
            )
        if not isinstance(value, str):
            problems.append(f"Matcher {number}: the value must be text.")
        elif op == "=~":
            try:
                re.compile(value)
            except re.error as exc:
                problems.append(
                    f"Matcher {number}: the regular expression does not compile ({exc})."
                )
    return problems


def matcher_matches(matcher: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """One matcher against an instance's labels; a missing label reads as "" (so
    ``team != "ops"`` matches an instance without a team label). ``=~`` must match the
    whole value."""
    actual = str(labels.get(matcher["label"], ""))
    op, expected = matcher["op"], matcher["value"]
    if op == "=":
        return actual == expected
    if op == "!=":
        return actual != expected
    if op == "=~":
        return re.fullmatch(expected, actual) is not None
    raise ValueError(f"Unknown matcher operator {op!r}")


def matchers_match(matchers: Iterable[Mapping[str, str]], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches (and there is at least one)."""
    matchers = list(matchers)
    return bool(matchers) and all(matcher_matches(m, labels) for m in matchers)


# --- The send decision -----------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The rule's timing: wait before a new group's first message, between messages of a
    changed group, and before repeating an unchanged one."""

    group_wait: dt.timedelta
    group_interval: dt.timedelta
    repeat_interval: dt.timedelta


@dataclass(frozen=True)
class GroupState:
    """What is stored per group between runs."""

    active_since: dt.datetime | None = None
    last_notified_at: dt.datetime | None = None
    notified: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Decision:
    """``kind`` is None when nothing is sent now (``due_at`` says when it could be);
    otherwise the message lists ``firing`` and ``resolved`` instances. ``state`` is the
    group's state to store either way."""

    kind: str | None
    state: GroupState
    firing: frozenset[int] = field(default_factory=frozenset)
    resolved: frozenset[int] = field(default_factory=frozenset)
    due_at: dt.datetime | None = None


def fingerprint(instance_ids: Iterable[int]) -> str:
    """A hash of a set of instances (the firing set last notified)."""
    text = ",".join(str(i) for i in sorted(set(instance_ids)))
    return hashlib.sha256(text.encode()).hexdigest()


def group_decide(
    state: GroupState,
    policy: Policy,
    *,
    firing: frozenset[int],
    muted: frozenset[int],
    now: dt.datetime,
) -> Decision:
    """What to send for one group at ``now``.

    ``firing``: its firing instances that may be notified; ``muted``: firing ones that a
    silence or an acknowledgement holds back. Instances notified earlier that are neither
    (they resolved, went back to normal, lost their data) get one resolved notice; a muted
    one simply leaves the group's notified set, so it is notified again when the mute ends.

    - a new group (nothing notified in this episode) waits ``group_wait`` from when the
      episode began;
    - a changed group (new firing or resolved instances) is sent no sooner than
      ``group_interval`` after the last message;
    - an unchanged group that still fires is repeated after ``repeat_interval``.
    """
    notified = state.notified - muted
    resolved = notified - firing
    if not firing and not resolved:
        # Nothing fires and nothing is left to report: the episode is over.
        return Decision(None, GroupState(None, state.last_notified_at, frozenset()))
    active_since = state.active_since or now
    if not notified:
        kind, due_at = FIRING, active_since + policy.group_wait
    elif firing != notified:
        kind = FIRING if firing - notified else RESOLVED
        due_at = _after(state.last_notified_at, policy.group_interval, active_since)
    else:
        kind = REPEAT
        due_at = _after(state.last_notified_at, policy.repeat_interval, active_since)
    if now < due_at:
        return Decision(
            None, GroupState(active_since, state.last_notified_at, notified), due_at=due_at
        )
    return Decision(
        kind,
        GroupState(active_since if firing else None, now, firing),
        firing=firing,
        resolved=resolved,
        due_at=due_at,
    )


def _after(moment: dt.datetime | None, delay: dt.timedelta, fallback: dt.datetime) -> dt.datetime:
    return (moment or fallback) + delay


def message_key(
    *,
    group_id: int,
    channel_id: int,
    kind: str,
    firing: Iterable[int],
    resolved: Iterable[int],
    previous_sent_at: dt.datetime | None,
) -> str:
    """The dedup key of one message to one channel: the same group state (the previous send
    and what is firing and resolved now) always gives the same key, so two planners that
    read the same state cannot queue it twice."""
    content = f"{kind}|{fingerprint(firing)}|{fingerprint(resolved)}"
    digest = hashlib.sha256(content.encode()).hexdigest()[:32]
    previous = int(previous_sent_at.timestamp() * 1_000_000) if previous_sent_at else 0
    return f"g{group_id}:c{channel_id}:{previous}:{digest}"


def retry_delay(attempts: int, *, base_seconds: int = 60, cap_seconds: int = 3600) -> dt.timedelta:
    """Exponential backoff after the ``attempts``-th failed try: 1, 2, 4, 8… minutes, at most
    an hour."""
    exponent = max(attempts - 1, 0)
    return dt.timedelta(seconds=min(base_seconds * 2 ** min(exponent, 20), cap_seconds))
