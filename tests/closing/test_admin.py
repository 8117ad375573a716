"""The close admin: templates with their tasks, closes read-only, the tick action."""

import datetime as dt

import pytest

from closing import services
from tests.closing.factories import CloseTemplateFactory, CloseTemplateTaskFactory

pytestmark = pytest.mark.django_db


def test_template_and_close_pages_render(client, superuser, close_queue):
    template = CloseTemplateFactory(name="Admin")
    CloseTemplateTaskFactory(template=template, key="review")
    close = services.close_create(month=dt.date(2026, 9, 1), template=template, user=None)
    client.force_login(superuser)
    for url in [
        "/admin/closing/closetemplate/",
        f"/admin/closing/closetemplate/{template.pk}/change/",
        "/admin/closing/close/",
        f"/admin/closing/close/{close.pk}/change/",
        "/admin/closing/closetask/",
    ]:
        assert client.get(url).status_code == 200, url


def test_the_tick_action_marks_ready_manual_tasks_done(client, superuser, close_queue):
    template = CloseTemplateFactory(name="Admin tick")
    CloseTemplateTaskFactory(template=template, key="review")
    close = services.close_create(month=dt.date(2026, 9, 1), template=template, user=None)
    task = close.tasks.get()
    client.force_login(superuser)
    response = client.post(
        "/admin/closing/closetask/", {"action": "tick", "_selected_action": [task.pk]}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "done" and task.done_by == superuser
