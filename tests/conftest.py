"""Shared fixtures: users per role, and the switch between embedded and service runs.

Tests marked ``services`` need PostgreSQL and Redis. They run when DATABASE_URL and
CELERY_BROKER_URL point at them and are skipped otherwise, unless FINHUB_REQUIRE_SERVICES=1,
which turns a missing or unreachable service into a failure.
"""

import os

import pytest
from django.conf import settings

from finhub.core import roles
from tests.factories import UserFactory, user_with_role

REQUIRE_SERVICES = os.environ.get("FINHUB_REQUIRE_SERVICES") == "1"


def services_configured() -> tuple[bool, str]:
    if not settings.DATABASE_IS_POSTGRES:
        return False, "DATABASE_URL does not point at PostgreSQL"
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        return False, "CELERY_BROKER_URL does not point at Redis"
    return True, ""


def redis_reachable() -> tuple[bool, str]:
    import redis

    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return False, f"Redis broker not reachable ({type(exc).__name__})"
    return True, ""


def pytest_collection_modifyitems(config, items):
    # Browser tests run last: their live server flushes the database between tests, and
    # whatever that restore leaves behind must not reach the tests that follow.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    # A transactional test without serialized_rollback flushes with post_migrate, which
    # re-creates the role groups under new ids; the next serialized restore then collides
    # with them (every later transactional test errors). Refuse it at collection.
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: use django_db(transaction=True, serialized_rollback=True)"
            )
    wanted = [item for item in items if item.get_closest_marker("services")]
    if not wanted:
        return
    ok, why = services_configured()
    if ok:
        ok, why = redis_reachable()
    if ok:
        return
    if REQUIRE_SERVICES:
        raise pytest.UsageError(f"FINHUB_REQUIRE_SERVICES=1 but {why}")
    skip = pytest.mark.skip(reason=f"services not configured: {why}")
    for item in wanted:
        item.add_marker(skip)


@pytest.fixture
def finance_viewer(db):
    return user_with_role(roles.FINANCE_VIEWER, username="fiona")


@pytest.fixture
def project_manager(db):
    return user_with_role(roles.PROJECT_MANAGER, username="pat")


@pytest.fixture
def integration_admin(db):
    return user_with_role(roles.INTEGRATION_ADMIN, username="ivan")


@pytest.fixture
def no_role_user(db):
    return UserFactory(username="nobody")


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """Make the serialized test data (for ``serialized_rollback``) visible from every context.

    Django keeps it on the connection object, and connections are context-local: once
    Playwright's sync API has started, tests run in another context with a fresh connection
    object that lacks it, so serialized_rollback silently restored nothing (the seeded
    currencies were then missing). Kept on the connection class, every context sees it.
    """
    from django.db import connections

    for alias in connections:
        connection = connections[alias]
        contents = getattr(connection, "_test_serialized_contents", None)
        if contents is not None:
            type(connection)._test_serialized_contents = contents
    yield


def forget_login_failures() -> None:
    """Drop django-axes' failed-login counters kept in the cache (on Redis: only its keys)."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    if settings.AXES_HANDLER != "axes.handlers.cache.AxesCacheHandler":
        return  # the database handler's rows roll back with each test
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(None, write=True)
        for key in client.scan_iter(match=backend.make_key("axes-*")):
            client.delete(key)
    else:
        backend.clear()


@pytest.fixture(autouse=True)
def _no_login_lockout_carried_over():
    # Counters in Redis outlive a test's rollback: one test's failed logins (all from
    # 127.0.0.1) must not lock the next test out.
    forget_login_failures()
    yield


@pytest.fixture(autouse=True)
def _sequences_follow_restored_rows(request):
    """After a serialized restore on PostgreSQL, move every id sequence past the restored
    rows: Django re-inserts them with their ids (the role groups, the built-in alert rules)
    but leaves the sequences where the flush put them, so the next insert would collide."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("serialized_rollback")):
        yield
        return
    request.getfixturevalue("_django_db_helper")  # the restore happens there
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    if connection.vendor == "postgresql":
        tables = [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]
        statements = connection.ops.sequence_reset_sql(no_style(), tables)
        with connection.cursor() as cursor:
            cursor.execute("\n".join(statements))
    yield


@pytest.fixture(autouse=True)
def _content_types_fresh():
    """A transactional test's flush re-creates content types with new ids; Django's
    ContentType cache would still hand out the old ones (e.g. to an admin LogEntry)."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
