import pytest

from finhub.core import selectors


@pytest.mark.django_db
def test_healthz_is_public_and_says_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_each_check(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "ok"
    assert body["checks"]["scheduler"] == "unknown"  # no heartbeat yet


@pytest.mark.django_db
def test_readyz_is_503_when_broker_is_down_and_names_nothing(client, monkeypatch, settings):
    monkeypatch.setattr(selectors, "broker_ready", lambda: False)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"] == "unavailable"
    text = response.content.decode()
    for secret_ish in ("127.0.0.1", "redis", "postgres", "sqlite", settings.SECRET_KEY):
        assert secret_ish not in text


@pytest.mark.django_db
def test_readyz_is_503_when_database_is_down(client, monkeypatch):
    monkeypatch.setattr(selectors, "database_ready", lambda: False)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable"


@pytest.mark.django_db
def test_readyz_reports_stale_scheduler(client, settings):
    from datetime import timedelta

    from django.utils import timezone

    from finhub.core.models import Heartbeat

    Heartbeat.objects.create(
        source="beat", last_seen=timezone.now() - timedelta(seconds=600), beats=3
    )
    body = client.get("/readyz").json()
    assert body["checks"]["scheduler"] == "stale"
    assert body["scheduler_heartbeat_age_seconds"] >= 600


def test_broker_ready_fails_for_unreachable_broker(monkeypatch):
    import functools

    from finhub.celery import app

    # Nothing listens on port 1: the real connection attempt must fail.
    unreachable = functools.partial(app.connection_for_write, url="redis://127.0.0.1:1/0")
    monkeypatch.setattr(app, "connection_for_write", unreachable)
    assert selectors.broker_ready() is False
