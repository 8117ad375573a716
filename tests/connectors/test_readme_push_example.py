"""The README's push example works against the demo as written (#18, item 3): its curl
command is read out of README.md and sent, with a token of the demo's *Manual entries*
connector, after the demo connectors' syncs brought the sandbox company in. The line is
stored with nothing pending and shows where the README says it does; naming an account the
demo ERP does not have ("4000") is answered with the waiting reference."""

import json
import re
import shlex
from pathlib import Path

import pytest
from django.conf import settings

from connectors.demo import demo_connectors_ensure, demo_manual_connector_ensure, demo_syncs_request
from connectors.services import api_token_create
from records.models import GLLine, IngestBatch

pytestmark = pytest.mark.django_db

README = Path(settings.BASE_DIR) / "README.md"


def readme_push_example() -> dict:
    """Method, path, headers and JSON body of the curl block after "Try it on the demo"."""
    text = README.read_text()
    section = text[text.index("Try it on the demo") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    words = shlex.split(block.replace("\\\n", " "))
    assert words[0] == "curl"
    request = {"headers": {}}
    options = iter(words[1:])
    for word in options:
        if word == "-X":
            request["method"] = next(options)
        elif word == "-H":
            name, value = next(options).split(": ", 1)
            request["headers"][name] = value
        elif word == "-d":
            request["body"] = next(options)
        else:
            request["url"] = word
    request["path"] = re.sub(r"^https?://[^/]+", "", request["url"])
    return request


def readme_links() -> list[str]:
    """The dashboard and API paths the README says the line shows in."""
    text = README.read_text()
    section = text[text.index("The answer is 201") :][:800]
    return re.findall(r"`(?:GET )?(/[^`\s]+)`", section)


@pytest.fixture
def demo(sandbox, django_capture_on_commit_callbacks):
    """What `make run` leaves: the demo connectors synced, and the manual one."""
    from connectors.sync.engine import sync_run_execute

    connectors = [d.connector for d in demo_connectors_ensure(base_url=sandbox.url)]
    with django_capture_on_commit_callbacks(execute=False):
        runs = demo_syncs_request(connectors)
    for run in runs:
        sync_run_execute(run.pk)
    manual, _ = demo_manual_connector_ensure(demo=connectors)
    return manual


def push(client, token: str, body: str):
    example = readme_push_example()
    headers = {
        f"HTTP_{name.upper().replace('-', '_')}": value.replace("$FINHUB_TOKEN", token)
        for name, value in example["headers"].items()
        if name != "Content-Type"
    }
    return client.generic(
        example["method"], example["path"], body, content_type="application/json", **headers
    )


def test_the_readme_push_example_stores_a_line_that_shows(client, demo, finance_viewer):
    # What the README tells the user to do in the admin: a token of Manual entries, gl_lines.
    _, token = api_token_create(connector=demo, name="readme", allowed_entities=["gl_lines"])
    example = readme_push_example()
    (record,) = json.loads(example["body"])

    response = push(client, token, example["body"])

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created"], body["pending"], body["waiting"]) == (1, 0, [])
    line = GLLine.objects.select_related("account", "department").get(
        source=demo, external_id=record["external_id"]
    )
    assert (line.account.external_id, line.account.type) == ("ACC-4100", "revenue")
    assert line.department.external_id == "DEP-CS"

    links = readme_links()
    drill = next(link for link in links if link.startswith("/dashboards/drill/gl-lines/"))
    api = next(link for link in links if link.startswith("/api/v1/gl_lines/"))
    client.force_login(finance_viewer)
    page = client.get(drill)
    assert page.status_code == 200
    assert record["external_id"] in page.content.decode()
    listed = client.get(api).json()
    assert [row["external_id"] for row in listed["results"]] == [record["external_id"]]
    # The executive figures of that month (computed for the page: the sandbox company's data
    # ends in October 2026, so November's revenue is this line alone).
    executive = client.get("/dashboards/executive/?period=month&month=2026-11")
    assert executive.status_code == 200
    assert "1,250.00" in executive.content.decode()


def test_an_account_the_demo_does_not_have_is_answered_as_waiting(client, demo):
    _, token = api_token_create(connector=demo, name="readme", allowed_entities=["gl_lines"])
    (record,) = json.loads(readme_push_example()["body"])
    record["account"] = "4000"

    response = push(client, token, json.dumps([record]))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["pending"] == 1
    assert body["waiting"] == [
        {
            "index": 0,
            "external_id": record["external_id"],
            "field": "account",
            "reference": "4000",
        }
    ]
    assert IngestBatch.objects.get(pk=body["batch_id"]).pending == 1
