"""Login brute force (django-axes): lockout per username and per address on both login pages,
the lockout page, no user enumeration, and the audited unlock."""

import os
import re
import subprocess
import sys

import pytest
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings as django_settings
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command

from tests.conftest import forget_login_failures
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]
HANDLERS = {
    "database": "axes.handlers.database.AxesDatabaseHandler",
    "cache": "axes.handlers.cache.AxesCacheHandler",  # Redis when REDIS_URL is set
}
LIMIT = django_settings.AXES_FAILURE_LIMIT
HOME = "192.0.2.10"


@pytest.fixture(params=sorted(HANDLERS))
def axes_handler(request, settings):
    """Each lockout test runs with the counters in the database and in the cache."""
    settings.AXES_HANDLER = HANDLERS[request.param]
    AxesProxyHandler.get_implementation(force=True)
    forget_login_failures()
    yield request.param
    forget_login_failures()
    AxesProxyHandler.implementation = None  # the next test loads the configured handler


@pytest.fixture
def alice(axes_handler):
    return UserFactory(username="alice", is_superuser=True)


def attempt(client, page, username, password, address=HOME):
    return client.post(page, {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def without_tokens(content: bytes) -> str:
    # CSRF tokens differ on every page; nothing else may.
    return re.sub(r"[A-Za-z0-9]{64}", "<token>", content.decode())


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_wrong_passwords_lock_the_login_even_for_the_right_password(client, alice, page):
    statuses = [attempt(client, page, "alice", f"guess-{i}").status_code for i in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 1) + [429]
    refused = attempt(client, page, "alice", "pw-for-tests")
    assert refused.status_code == 429
    assert not logged_in(client)
    assert b"Too many failed logins" in refused.content
    assert int(refused["Retry-After"]) == django_settings.AXES_COOLOFF_TIME.total_seconds()


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_a_username_is_locked_whatever_the_address(client, alice, page):
    for i in range(LIMIT):
        attempt(client, page, "alice", "wrong", address=f"198.51.100.{i + 1}")
    assert attempt(client, page, "alice", "pw-for-tests", address="203.0.113.1").status_code == 429
    assert not logged_in(client)
    # Another account from a fresh address is not affected.
    UserFactory(username="bob")
    assert attempt(client, page, "bob", "pw-for-tests", address="203.0.113.2").status_code == 302
    assert logged_in(client)


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_an_address_is_locked_whatever_the_username(client, alice, page):
    for i in range(LIMIT):
        attempt(client, page, f"spray-{i}", "wrong")
    assert attempt(client, page, "alice", "pw-for-tests").status_code == 429
    assert not logged_in(client)
    assert attempt(client, page, "alice", "pw-for-tests", address="203.0.113.3").status_code == 302


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_an_unknown_user_and_a_wrong_password_look_the_same(client, alice, page):
    unknown = attempt(client, page, "ghost", "wrong", address="198.51.100.1")
    wrong = attempt(client, page, "alice", "wrong", address="198.51.100.2")
    assert unknown.status_code == wrong.status_code == 200
    assert without_tokens(unknown.content).replace("ghost", "<user>") == without_tokens(
        wrong.content
    ).replace("alice", "<user>")


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_the_lockout_page_is_the_same_for_an_unknown_user(client, alice, page):
    for username, address in (("ghost", "198.51.100.1"), ("alice", "198.51.100.2")):
        for _ in range(LIMIT):
            attempt(client, page, username, "wrong", address=address)
    unknown = attempt(client, page, "ghost", "wrong", address="198.51.100.1")
    real = attempt(client, page, "alice", "wrong", address="198.51.100.2")
    assert unknown.status_code == real.status_code == 429
    assert without_tokens(unknown.content) == without_tokens(real.content)


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_a_wrong_password_keeps_the_username_in_the_form(client, alice, page):
    response = attempt(client, page, "alice", "wrong")
    assert re.search(
        rb'name="username"[^>]*value="alice"|value="alice"[^>]*name="username"', response.content
    )


def test_an_admin_unlocks_a_user_and_the_unlock_is_recorded(client, alice):
    victim = UserFactory(username="victim")
    for i in range(LIMIT):
        attempt(client, "/accounts/login/", "victim", "wrong", address=f"198.51.100.{i + 1}")
    assert attempt(client, "/accounts/login/", "victim", "pw-for-tests").status_code == 429

    client.force_login(alice)
    response = client.post(
        "/admin/auth/user/",
        {"action": "unlock_login", "_selected_action": [victim.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"Unlocked 1 login" in response.content
    entry = LogEntry.objects.get(object_id=str(victim.pk))
    assert entry.user == alice
    assert entry.is_change()
    assert "Unlocked login for username 'victim'" in entry.get_change_message()
    client.logout()
    assert attempt(client, "/accounts/login/", "victim", "pw-for-tests").status_code == 302


def test_unlock_login_clears_an_address_and_records_who(client, alice):
    for i in range(LIMIT):
        attempt(client, "/accounts/login/", f"spray-{i}", "wrong", address="198.51.100.50")
    assert (
        attempt(client, "/accounts/login/", "alice", "pw-for-tests", "198.51.100.50").status_code
        == 429
    )
    call_command("unlock_login", ip="198.51.100.50", by="alice")
    entry = LogEntry.objects.get()
    assert (entry.user, entry.content_type) == (alice, None)
    assert "address 198.51.100.50" in entry.get_change_message()
    assert (
        attempt(client, "/accounts/login/", "alice", "pw-for-tests", "198.51.100.50").status_code
        == 302
    )


def test_unlock_login_needs_a_target_and_a_staff_user(alice):
    with pytest.raises(CommandError, match="--username, --ip"):
        call_command("unlock_login", by="alice")
    UserFactory(username="outsider", is_staff=False)
    with pytest.raises(CommandError, match="not a staff user"):
        call_command("unlock_login", username="alice", by="outsider")
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize(
    ("redis_url", "handler"),
    [("", HANDLERS["database"]), ("redis://127.0.0.1:6399/0", HANDLERS["cache"])],
)
def test_the_counters_live_in_redis_when_it_is_configured(redis_url, handler):
    # Settings load once per process: read them in a child process.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.AXES_HANDLER, settings.CACHES['default']['BACKEND'])",
        ],
        cwd=django_settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "finhub.settings",
            "REDIS_URL": redis_url,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    configured_handler, cache_backend = result.stdout.split()[-2:]
    assert configured_handler == handler
    if redis_url:
        assert cache_backend == "django.core.cache.backends.redis.RedisCache"
