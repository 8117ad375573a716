"""The records move on an existing PostgreSQL database with data.

An installation that ran every migration up to ``metrics`` 0007 has its canonical rows
in ``metrics_*`` tables, its content types and permissions under app ``metrics``. After
``manage.py migrate`` the same rows, content types and permission rows serve
``records.models`` (``records`` 0001 moves only Django's state; ``metrics`` 0008 drops it
from metrics), and ``migrate records zero`` takes it back to metrics 0007.

The database is a scratch one created beside the configured PostgreSQL database and
dropped afterwards; each step runs in its own process, as an operator's ``migrate`` would.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import quote

import psycopg2
import pytest
from django.conf import settings
from psycopg2 import sql

pytestmark = pytest.mark.services

SCRATCH_DB = "finhub_migrate_test"
MOVED_PERMISSION = "records.view_glline"


def _server_params() -> dict:
    cfg = settings.DATABASES["default"]
    return {
        "host": cfg.get("HOST") or "127.0.0.1",
        "port": cfg.get("PORT") or 5432,
        "user": cfg.get("USER") or "postgres",
        "password": cfg.get("PASSWORD") or None,
    }


def _admin(statement: sql.Composable) -> None:
    conn = psycopg2.connect(dbname="postgres", **_server_params())
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


@pytest.fixture
def scratch_env() -> Iterator[dict[str, str]]:
    """Environment for child processes whose DATABASE_URL is a new, empty database."""
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(SCRATCH_DB))
    _admin(drop)
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(SCRATCH_DB)))
    params = _server_params()
    password = f":{quote(params['password'])}" if params["password"] else ""
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{quote(params['user'])}{password}@{params['host']}:{params['port']}"
        f"/{SCRATCH_DB}"
    )
    env["DJANGO_SETTINGS_MODULE"] = "finhub.settings"
    try:
        yield env
    finally:
        _admin(drop)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return _run(env, "manage.py", *args)


def _step(env: dict[str, str], name: str) -> dict:
    output = _run(env, "-m", "tests.records.migration_steps", name).stdout
    return json.loads(output.strip().splitlines()[-1])


def test_records_move_keeps_rows_content_types_and_permissions(scratch_env):
    before = _step(scratch_env, "before")
    assert ["metrics", "0007_soft_delete"] in before["targets"]
    # connectors' newest migration does not need records: it is applied before the move.
    assert "connectors" in {app for app, _name in before["targets"]}
    assert not [target for target in before["targets"] if target[0] == "records"]

    seeded = _step(scratch_env, "seed")
    ids = seeded["ids"]
    # What the roles code granted before the move: view permissions of app metrics.
    assert seeded["group_view_codenames"] == ["metrics.view_account", "metrics.view_glline"]
    assert {label for _, label, _ in seeded["content_types"]} == {"metrics"}
    content_type_ids = {model: pk for model, _, pk in seeded["content_types"]}

    _manage(scratch_env, "migrate", "--noinput")
    after = _step(scratch_env, "read_current")

    assert after["line"] == {
        "id": ids["line"],
        "amount": "1234.56",
        "currency": "EUR",
        "posting_date": "2026-03-31",
        "account": [ids["account"], "6100", "expense"],
        "department": [ids["department"], "MKT"],
        "source": "ledger",
        "batch": ids["batch"],
    }
    assert after["reject"] == {
        "id": ids["reject"],
        "batch": ids["batch"],
        "status": "open",
        "errors": {"currency": ["unknown currency"]},
        "batch_rejected": 1,
    }
    # The same content type rows, relabelled; none left (or newly made) under metrics.
    assert after["content_types"] == [
        [model, "records", pk] for model, pk in sorted(content_type_ids.items())
    ]
    assert after["glline_content_type"] == ["records", content_type_ids["glline"]]
    # One view_glline permission: the old row, now under records.
    assert after["view_glline"] == [[seeded["view_glline"], "records"]]
    assert after["dora_can_view"] is True
    assert after["fiona_can_view"] is True

    check = _manage(scratch_env, "makemigrations", "--check", "--dry-run")
    assert "No changes detected" in check.stdout

    # The way back: records 0001 takes metrics 0008 (which depends on it) with it.
    # (``migrate metrics 0007_soft_delete`` alone unapplies only metrics 0008.)
    _manage(scratch_env, "migrate", "records", "zero", "--noinput")
    back = _step(scratch_env, "read_historical")
    assert back["last_applied"] == {"metrics": ["0007_soft_delete"], "records": []}
    assert back["line"] == [ids["line"], "1234.56", "EUR", "6100"]
    assert back["reject_batch"] == ids["batch"]
    assert back["content_types"] == [
        [model, "metrics", pk] for model, pk in sorted(content_type_ids.items())
    ]
