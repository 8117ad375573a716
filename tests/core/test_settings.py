"""Production settings: checked in child processes, since settings load once per process."""

import json
import os
import secrets
import subprocess
import sys

from cryptography.fernet import Fernet
from django.conf import settings

ROOT = settings.BASE_DIR


def run_manage(*args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE is set for the browser tests only; a deployment never has it.
    dropped = {"SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_requires_secret_key():
    result = run_manage("check", DJANGO_ENV="production", ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_requires_allowed_hosts():
    result = run_manage("check", DJANGO_ENV="production", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_unknown_environment_name_fails_loudly():
    result = run_manage("check", DJANGO_ENV="prod")
    assert result.returncode != 0
    assert "DJANGO_ENV must be" in result.stderr


def test_deploy_check_is_clean_in_production():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="example.com",
        FINHUB_ENCRYPTION_KEY=Fernet.generate_key().decode(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_development_default_is_embedded():
    """Without DATABASE_URL / CELERY_BROKER_URL / REDIS_URL: SQLite, a filesystem broker and
    a local-memory cache. Checked in a child process with them unset, so a run of the suite
    against PostgreSQL and Redis checks the defaults too."""
    code = (
        "import json, os; from django.conf import settings as s; "
        "db = s.DATABASES['default']; "
        "print(json.dumps([db['ENGINE'], str(db['NAME']), db['TEST']['NAME'], os.getpid(), "
        "s.CELERY_BROKER_URL, s.CACHES['default']['BACKEND']]))"
    )
    unset = {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_ENV", "FINHUB_VAR_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["DJANGO_SETTINGS_MODULE"] = "finhub.settings"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    engine, name, test_name, pid, broker, cache = json.loads(result.stdout.splitlines()[-1])
    assert engine == "django.db.backends.sqlite3"
    assert name == str(ROOT / "var" / "finhub.sqlite3")
    # A file per pytest process: worker processes see the test data, two runs never share it.
    assert test_name == str(ROOT / "var" / f"test-{pid}.sqlite3")
    assert broker == "filesystem://"
    assert cache == "django.core.cache.backends.locmem.LocMemCache"
