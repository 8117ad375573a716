"""Grouping, silence matching and the send decision (pure, hand-worked cases)."""

import datetime as dt

import pytest

from alerts.computations import grouping
from alerts.computations.grouping import GroupState, Policy, group_decide

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
POLICY = Policy(
    group_wait=dt.timedelta(seconds=30),
    group_interval=dt.timedelta(minutes=5),
    repeat_interval=dt.timedelta(hours=4),
)
NONE = frozenset()


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


# --- group key -------------------------------------------------------------------------


def test_empty_group_by_is_one_group_per_rule():
    assert grouping.group_key({"item": "Sales"}, []) == ""
    assert grouping.group_key({"item": "Marketing"}, []) == ""


def test_group_key_uses_the_group_by_labels_in_name_order_and_quotes_values():
    labels = {"item": "Sales", "team": "fin", "severity": "warning"}
    assert grouping.group_key(labels, ["team", "item"]) == 'item="Sales",team="fin"'
    # A missing label is "", and a comma or quote in a value cannot fake another group.
    assert grouping.group_key({"item": 'a",team="b'}, ["item", "team"]) == (
        'item="a\\",team=\\"b",team=""'
    )
    assert grouping.group_labels(labels, ["team"]) == {"team": "fin"}


def test_group_by_all_labels_and_long_keys_are_hashed():
    assert grouping.group_key({"b": "2", "a": "1"}, ["..."]) == 'a="1",b="2"'
    key = grouping.group_key({"item": "x" * 400}, ["item"])
    assert key.startswith("sha256:") and len(key) == 7 + 64


# --- silences --------------------------------------------------------------------------

LABELS = {"alertname": "Budget overrun", "item": "Sales EMEA", "severity": "critical"}


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        ([{"label": "item", "op": "=", "value": "Sales EMEA"}], True),
        ([{"label": "item", "op": "=", "value": "Sales"}], False),
        ([{"label": "severity", "op": "!=", "value": "info"}], True),
        ([{"label": "severity", "op": "!=", "value": "critical"}], False),
        # =~ must match the whole value, not a part of it.
        ([{"label": "item", "op": "=~", "value": "Sales.*"}], True),
        ([{"label": "item", "op": "=~", "value": "Sales"}], False),
        # A missing label reads as "".
        ([{"label": "team", "op": "!=", "value": "ops"}], True),
        ([{"label": "team", "op": "=", "value": ""}], True),
        # Every matcher must match.
        (
            [
                {"label": "item", "op": "=~", "value": "Sales.*"},
                {"label": "severity", "op": "=", "value": "warning"},
            ],
            False,
        ),
        ([], False),
    ],
)
def test_matchers(matchers, expected):
    assert grouping.matchers_match(matchers, LABELS) is expected


def test_matcher_problems_name_the_bad_matcher():
    assert grouping.matcher_problems([{"label": "item", "op": "=", "value": "x"}]) == []
    assert grouping.matcher_problems([]) == ["At least one matcher is required."]
    problems = grouping.matcher_problems(
        [
            {"label": "item", "op": "=", "value": "x"},
            {"label": " ", "op": "=", "value": "x"},
            {"label": "item", "op": "~", "value": "x"},
            {"label": "item", "op": "=~", "value": "("},
        ]
    )
    assert problems[0] == "Matcher 2: the label name is empty."
    assert problems[1].startswith("Matcher 3: operator '~' is not one of")
    assert problems[2].startswith("Matcher 4: the regular expression does not compile")
    assert len(problems) == 3


# --- the send decision -----------------------------------------------------------------


def test_a_new_group_waits_group_wait_from_its_first_alert():
    first = group_decide(GroupState(), POLICY, firing=frozenset({1}), muted=NONE, now=at(0))
    assert first.kind is None
    assert first.due_at == at(30)
    assert first.state == GroupState(active_since=at(0), last_notified_at=None, notified=NONE)
    # A second alert joining during the wait does not restart it.
    still = group_decide(first.state, POLICY, firing=frozenset({1, 2}), muted=NONE, now=at(29))
    assert still.kind is None and still.due_at == at(30)
    sent = group_decide(first.state, POLICY, firing=frozenset({1, 2}), muted=NONE, now=at(30))
    assert sent.kind == "firing"
    assert sent.firing == {1, 2} and sent.resolved == NONE
    assert sent.state == GroupState(at(0), at(30), frozenset({1, 2}))


def test_a_changed_group_waits_group_interval_after_the_last_message():
    state = GroupState(at(0), at(30), frozenset({1}))
    early = group_decide(state, POLICY, firing=frozenset({1, 2}), muted=NONE, now=at(329))
    assert early.kind is None and early.due_at == at(330)
    assert early.state == state
    sent = group_decide(state, POLICY, firing=frozenset({1, 2}), muted=NONE, now=at(330))
    assert sent.kind == "firing" and sent.firing == {1, 2}
    assert sent.state.last_notified_at == at(330)


def test_an_unchanged_group_is_repeated_after_the_repeat_interval_only():
    state = GroupState(at(0), at(30), frozenset({1, 2}))
    for seconds in (60, 330, 30 + 4 * 3600 - 1):
        quiet = group_decide(state, POLICY, firing=frozenset({1, 2}), muted=NONE, now=at(seconds))
        assert quiet.kind is None
    repeat = group_decide(
        state, POLICY, firing=frozenset({1, 2}), muted=NONE, now=at(30 + 4 * 3600)
    )
    assert repeat.kind == "repeat" and repeat.firing == {1, 2}


def test_resolved_notice_once_then_the_episode_ends():
    state = GroupState(at(0), at(30), frozenset({1, 2}))
    partial = group_decide(state, POLICY, firing=frozenset({2}), muted=NONE, now=at(330))
    assert partial.kind == "resolved"
    assert partial.firing == {2} and partial.resolved == {1}
    everything = group_decide(partial.state, POLICY, firing=NONE, muted=NONE, now=at(630))
    assert everything.kind == "resolved" and everything.resolved == {2}
    assert everything.state == GroupState(None, at(630), NONE)
    after = group_decide(everything.state, POLICY, firing=NONE, muted=NONE, now=at(5000))
    assert after.kind is None
    # A new firing later is a new group again: group wait from its first alert.
    again = group_decide(after.state, POLICY, firing=frozenset({1}), muted=NONE, now=at(9000))
    assert again.kind is None and again.due_at == at(9030)


def test_a_muted_instance_leaves_quietly_and_returns_as_new():
    state = GroupState(at(0), at(30), frozenset({1}))
    muted = group_decide(state, POLICY, firing=NONE, muted=frozenset({1}), now=at(60))
    assert muted.kind is None  # no resolved notice for an acknowledged alert
    assert muted.state.notified == NONE and muted.state.active_since is None
    back = group_decide(muted.state, POLICY, firing=frozenset({1}), muted=NONE, now=at(7200))
    assert back.kind is None and back.due_at == at(7230)
    assert group_decide(back.state, POLICY, firing=frozenset({1}), muted=NONE, now=at(7230)).kind
    assert back.state.active_since == at(7200)


def test_message_key_and_fingerprint_are_stable():
    key = grouping.message_key(
        group_id=3, channel_id=4, kind="firing", firing=[2, 1], resolved=[], previous_sent_at=None
    )
    assert key == grouping.message_key(
        group_id=3, channel_id=4, kind="firing", firing={1, 2}, resolved=(), previous_sent_at=None
    )
    assert key.startswith("g3:c4:0:")
    later = grouping.message_key(
        group_id=3, channel_id=4, kind="repeat", firing=[1, 2], resolved=[], previous_sent_at=T0
    )
    assert later.startswith(f"g3:c4:{int(T0.timestamp()) * 1_000_000}:") and later != key
    assert grouping.fingerprint([2, 1]) == grouping.fingerprint({1, 2}) != grouping.fingerprint([1])


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (40, 3600)]
)
def test_retry_delay_doubles_up_to_an_hour(attempts, seconds):
    assert grouping.retry_delay(attempts) == dt.timedelta(seconds=seconds)
