"""Rule evaluation (alerts.evaluation): instances and transitions stored per tick, claims,
idempotent ticks, no-data / error handling, manual resolve and query bounds."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from alerts import evaluation
from alerts.evaluation import SAMPLES_KEPT, instance_resolve, rule_evaluate, rules_evaluate
from alerts.models import AlertInstance, AlertRule, AlertTransition
from alerts.sources import SourceError
from connectors.models import Connector
from tests.alerts.factories import AlertRuleFactory
from tests.factories import PullConnectorFactory, UserFactory

D = Decimal
T0 = dt.datetime(2026, 5, 15, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def failures_rule(**kwargs) -> AlertRule:
    """Watches failed syncs in a row per connector: fires at 3 or more."""
    defaults = {
        "metric": "sync_failures",
        "scope": "connector",
        "comparator": "gte",
        "threshold": D("3"),
        "evaluation_interval_seconds": 60,
        "next_evaluation_at": T0,
        "labels": {"team": "integration"},
    }
    return AlertRuleFactory(**{**defaults, **kwargs})


def source(slug: str, failures: int = 0) -> Connector:
    return PullConnectorFactory(name=slug.upper(), slug=slug, consecutive_failures=failures)


def set_failures(slug: str, failures: int) -> None:
    Connector.objects.filter(slug=slug).update(consecutive_failures=failures)


def states(alert_rule) -> dict[str, str]:
    return dict(alert_rule.instances.values_list("scope_key", "state"))


def history(instance) -> list[tuple[str, str, Decimal | None]]:
    return [
        (t.from_state, t.to_state, t.value) for t in instance.transitions.order_by("tick", "id")
    ]


@pytest.mark.django_db
def test_first_tick_creates_instances_with_labels_value_and_transition():
    source("erp", failures=4)
    source("crm", failures=0)
    alert_rule = failures_rule(name="Sync failing", severity="critical")
    rule_evaluate(alert_rule, tick=T0)
    erp = AlertInstance.objects.get(rule=alert_rule, scope_key="erp")
    crm = AlertInstance.objects.get(rule=alert_rule, scope_key="crm")
    assert (erp.state, erp.value, erp.breaches) == ("firing", D("4"), 1)
    assert (erp.fired_at, erp.last_tick, erp.state_since) == (T0, T0, T0)
    assert erp.labels == {
        "team": "integration",
        "alertname": "Sync failing",
        "rule": str(alert_rule.pk),
        "severity": "critical",
        "metric": "sync_failures",
        "scope": "connector",
        "scope_key": "erp",
        "item": "ERP",
    }
    assert erp.samples == [[T0.isoformat(), "4.0000"]]
    assert history(erp) == [("normal", "firing", D("4"))]
    assert erp.transitions.get().tick == T0
    assert (crm.state, crm.fired_at) == ("normal", None)
    assert history(crm) == []


@pytest.mark.django_db
def test_pending_then_firing_then_resolved_over_ticks():
    source("erp", failures=3)
    alert_rule = failures_rule(pending_evaluations=3)
    for i in range(3):
        rule_evaluate(alert_rule, tick=T0 + i * MINUTE)
        assert states(alert_rule) == {"erp": ["pending", "pending", "firing"][i]}
    set_failures("erp", 0)
    rule_evaluate(alert_rule, tick=T0 + 3 * MINUTE)
    erp = alert_rule.instances.get()
    assert history(erp) == [
        ("normal", "pending", D("3")),
        ("pending", "firing", D("3")),
        ("firing", "resolved", D("0")),
    ]
    assert (erp.fired_at, erp.resolved_at) == (T0 + 2 * MINUTE, T0 + 3 * MINUTE)


@pytest.mark.django_db
def test_hysteresis_holds_back_flapping_across_evaluations():
    source("erp", failures=5)
    alert_rule = failures_rule(threshold=D("3"), recovery_threshold=D("1"))
    for i, failures in enumerate([5, 2, 3, 2, 1, 0]):
        set_failures("erp", failures)
        rule_evaluate(alert_rule, tick=T0 + i * MINUTE)
    # 2 is under the threshold but above the recovery threshold: still firing; 1 resolves.
    assert history(alert_rule.instances.get()) == [
        ("normal", "firing", D("5")),
        ("firing", "resolved", D("1")),
    ]


@pytest.mark.django_db
def test_an_item_gone_from_the_source_is_no_data():
    source("erp", failures=4)
    alert_rule = failures_rule()
    rule_evaluate(alert_rule, tick=T0)
    Connector.objects.filter(slug="erp").update(enabled=False)
    rule_evaluate(alert_rule, tick=T0 + MINUTE)
    erp = alert_rule.instances.get()
    assert (erp.state, erp.value, erp.scope_label) == ("no_data", None, "ERP")
    assert erp.samples[-1] == [(T0 + MINUTE).isoformat(), None]
    assert history(erp)[-1] == ("firing", "no_data", None)


@pytest.mark.django_db
def test_no_data_keep_leaves_the_state():
    source("erp", failures=4)
    alert_rule = failures_rule(no_data_action="keep")
    rule_evaluate(alert_rule, tick=T0)
    Connector.objects.filter(slug="erp").update(enabled=False)
    rule_evaluate(alert_rule, tick=T0 + MINUTE)
    assert states(alert_rule) == {"erp": "firing"}


@pytest.mark.django_db
def test_a_failed_read_is_error_state_with_the_reason(monkeypatch):
    source("erp", failures=4)
    alert_rule = failures_rule()
    rule_evaluate(alert_rule, tick=T0)

    def broken(rule, **kwargs):
        raise SourceError("OperationalError: database is locked")

    monkeypatch.setattr("alerts.evaluation.metric_values", broken)
    rule_evaluate(alert_rule, tick=T0 + MINUTE)
    erp = alert_rule.instances.get()
    assert (erp.state, erp.error) == ("error", "OperationalError: database is locked")
    last = erp.transitions.order_by("-tick").first()
    assert (last.from_state, last.to_state, last.note) == (
        "firing",
        "error",
        "OperationalError: database is locked",
    )
    monkeypatch.undo()
    rule_evaluate(alert_rule, tick=T0 + 2 * MINUTE)
    erp.refresh_from_db()
    assert (erp.state, erp.error) == ("firing", "")


@pytest.mark.django_db
def test_error_on_a_company_rule_without_instances_creates_one(monkeypatch):
    def broken(rule, **kwargs):
        raise SourceError("boom")

    monkeypatch.setattr("alerts.evaluation.metric_values", broken)
    alert_rule = failures_rule(scope="all", error_action="firing")
    rule_evaluate(alert_rule, tick=T0)
    assert states(alert_rule) == {"": "firing"}


@pytest.mark.django_db
def test_the_same_tick_twice_changes_nothing():
    source("erp", failures=4)
    alert_rule = failures_rule(pending_evaluations=2)
    assert len(rule_evaluate(alert_rule, tick=T0)) == 1
    before = alert_rule.instances.values().get()
    set_failures("erp", 9)
    assert rule_evaluate(alert_rule, tick=T0) == []
    assert alert_rule.instances.values().get() == before
    assert AlertTransition.objects.count() == 1


@pytest.mark.django_db
def test_samples_are_bounded():
    source("erp", failures=1)
    alert_rule = failures_rule()
    rule_evaluate(alert_rule, tick=T0)
    instance = alert_rule.instances.get()
    instance.samples = [[f"t{i}", "1"] for i in range(SAMPLES_KEPT)]
    instance.save()
    rule_evaluate(alert_rule, tick=T0 + MINUTE)
    instance.refresh_from_db()
    assert len(instance.samples) == SAMPLES_KEPT
    assert instance.samples[0] == ["t1", "1"]
    assert instance.samples[-1] == [(T0 + MINUTE).isoformat(), "1.0000"]
    assert (instance.state, instance.last_tick) == ("normal", T0 + MINUTE)


@pytest.mark.django_db
def test_rules_evaluate_claims_due_rules_and_advances_them():
    source("erp", failures=4)
    due = failures_rule(name="Due")
    later = failures_rule(name="Later", next_evaluation_at=T0 + dt.timedelta(hours=1))
    failures_rule(name="Off", enabled=False)
    summary = rules_evaluate(now=T0 + dt.timedelta(seconds=30))
    assert summary == {
        "rules_evaluated": "1",
        "rules_skipped": "0",
        "rules_failed": "0",
        "instances": "1",
        "transitions": "1",
    }
    due.refresh_from_db()
    assert due.next_evaluation_at == T0 + MINUTE
    assert states(due) == {"erp": "firing"}
    assert states(later) == {}
    # Nothing is due any more at the same moment.
    assert rules_evaluate(now=T0 + dt.timedelta(seconds=30))["rules_evaluated"] == "0"


@pytest.mark.django_db
def test_a_backlog_is_skipped_not_replayed():
    source("erp", failures=4)
    alert_rule = failures_rule(pending_evaluations=3)
    rules_evaluate(now=T0 + dt.timedelta(minutes=10, seconds=5))
    alert_rule.refresh_from_db()
    instance = alert_rule.instances.get()
    assert instance.last_tick == T0 + dt.timedelta(minutes=10)
    assert alert_rule.next_evaluation_at == T0 + dt.timedelta(minutes=11)
    assert instance.state == "pending"  # one evaluation, not ten


@pytest.mark.django_db
def test_a_rule_claimed_by_another_worker_is_skipped(monkeypatch):
    source("erp", failures=4)
    alert_rule = failures_rule()

    # Another worker moves next_evaluation_at after this one read the due rules.
    original_filter = AlertRule.objects.filter

    def racing_filter(*args, **kwargs):
        if "next_evaluation_at" in kwargs and "pk" in kwargs:
            AlertRule.objects.all().update(next_evaluation_at=T0 + MINUTE)
        return original_filter(*args, **kwargs)

    monkeypatch.setattr(AlertRule.objects, "filter", racing_filter)
    summary = rules_evaluate(now=T0)
    assert (summary["rules_evaluated"], summary["rules_skipped"]) == ("0", "1")
    assert states(alert_rule) == {}


@pytest.mark.django_db
def test_a_failing_rule_does_not_stop_the_others(monkeypatch):
    source("erp", failures=4)
    failures_rule(name="A broken one", comparator="gt")
    failures_rule(name="B fine")
    real = evaluation._evaluate

    def flaky(rule, *, tick):
        if rule.name.startswith("A"):
            raise RuntimeError("bug")
        return real(rule, tick=tick)

    monkeypatch.setattr("alerts.evaluation._evaluate", flaky)
    summary = rules_evaluate(now=T0)
    assert (summary["rules_evaluated"], summary["rules_failed"]) == ("1", "1")
    broken = AlertRule.objects.get(name="A broken one")
    assert (broken.last_error, broken.last_error_at) == ("RuntimeError: bug", T0)
    assert AlertRule.objects.get(name="B fine").last_error == ""

    # Fixed: the next successful evaluation clears the error.
    monkeypatch.setattr("alerts.evaluation._evaluate", real)
    rules_evaluate(now=T0 + dt.timedelta(hours=1))
    broken.refresh_from_db()
    assert (broken.last_error, broken.last_error_at) == ("", None)


@pytest.mark.django_db
def test_manual_resolve_records_the_user_and_note():
    source("erp", failures=4)
    alert_rule = failures_rule(pending_evaluations=2)
    rule_evaluate(alert_rule, tick=T0)
    rule_evaluate(alert_rule, tick=T0 + MINUTE)
    instance = alert_rule.instances.get()
    resolved = instance_resolve(instance, user=UserFactory(username="ana"), note=" fixed creds ")
    assert (resolved.state, resolved.breaches) == ("resolved", 0)
    last = resolved.transitions.order_by("-id").first()
    assert (last.from_state, last.to_state, last.note) == (
        "firing",
        "resolved",
        "Resolved by ana: fixed creds",
    )
    with pytest.raises(ValidationError):
        instance_resolve(resolved, user=UserFactory(username="bo"), note="")
    # Still breaching: back through pending, then firing.
    rule_evaluate(alert_rule, tick=T0 + 2 * MINUTE)
    assert states(alert_rule) == {"erp": "pending"}
    rule_evaluate(alert_rule, tick=T0 + 3 * MINUTE)
    assert states(alert_rule) == {"erp": "firing"}


@pytest.mark.django_db
@pytest.mark.parametrize("items", [3, 40])
def test_rule_evaluation_queries_do_not_grow_with_items(django_assert_max_num_queries, items):
    for i in range(items):
        source(f"s{i}", failures=i % 5)
    alert_rule = failures_rule(pending_evaluations=2)
    # read values, read instances, savepoint x2, insert instances, insert transitions
    with django_assert_max_num_queries(6):
        rule_evaluate(alert_rule, tick=T0)
    for i in range(items):
        set_failures(f"s{i}", (i + 1) % 5)
    # read values, read instances, savepoint x2, update the instances that changed state,
    # update value / breaches / samples of the others, set their tick, insert transitions
    with django_assert_max_num_queries(8):
        rule_evaluate(alert_rule, tick=T0 + MINUTE)
    assert alert_rule.instances.count() == items


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_apply_each_tick_once():
    """Two threads (each with its own connection) run the beat tick at the same moment:
    every due rule is evaluated once and every instance gets one sample and one transition."""
    for i in range(20):
        source(f"s{i}", failures=5)
    rules = [failures_rule(name=f"Rule {i}") for i in range(10)]
    start = threading.Barrier(2)
    summaries, errors = [], []

    def worker():
        try:
            start.wait()
            summaries.append(rules_evaluate(now=T0 + dt.timedelta(seconds=5)))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(int(s["rules_evaluated"]) for s in summaries) == len(rules)
    assert sum(int(s["transitions"]) for s in summaries) == 200
    assert AlertInstance.objects.count() == 200
    assert AlertTransition.objects.count() == 200
    assert {
        len(samples) for samples in AlertInstance.objects.values_list("samples", flat=True)
    } == {1}
    advanced = AlertRule.objects.filter(pk__in=[r.pk for r in rules])
    assert set(advanced.values_list("next_evaluation_at", flat=True)) == {T0 + MINUTE}
