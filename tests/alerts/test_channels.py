"""Channels: email content (locmem and a real SMTP server on loopback) and signed webhooks
received by a local HTTP server."""

import hashlib
import hmac
import json
import socket
import threading
import time
from decimal import Decimal
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from alerts.channels import ChannelError, email_send, webhook_send
from alerts.models import Notification, NotificationChannel
from alerts.notifications import notifications_process
from connectors.crypto import encrypt
from connectors.webhooks import verify_signature
from tests.alerts.factories import (
    AlertInstanceFactory,
    AlertRuleFactory,
    NotificationChannelFactory,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRET = "whsec-test-4f9a"

PAYLOAD = {
    "kind": "firing",
    "severity": "critical",
    "rule": {"id": 1, "name": "Budget overrun", "metric": "predicted_overrun_pct"},
    "group": {"key": "", "labels": {}},
    "firing": 2,
    "resolved": 0,
    "alerts": [
        {
            "id": 11,
            "rule": "Budget overrun",
            "item": "Sales",
            "state": "firing",
            "value": "7.5",
            "threshold": "5",
            "severity": "critical",
            "link": "/alerts/11/",
        },
        {
            "id": 12,
            "rule": "Budget overrun",
            "item": "Marketing",
            "state": "resolved",
            "value": "4.2",
            "threshold": "5",
            "severity": "critical",
            "link": "/alerts/12/",
        },
    ],
    "sent_at": "2026-12-01T09:00:00+00:00",
}

EXPECTED_TEXT = """[CRITICAL] Firing: Budget overrun (2 alerts)

- FIRING Sales: value 7.5, threshold 5 (critical)
  /alerts/11/
- RESOLVED Marketing: value 4.2, threshold 5 (critical)
  /alerts/12/

Acknowledge, silence or resolve these alerts on the FinHub alerts page.
"""


def test_email_content_with_locmem(mailoutbox):
    channel = NotificationChannelFactory(kind="email")
    email_send(channel, payload=PAYLOAD, recipients=["cfo@example.test", "ctl@example.test"])
    (message,) = mailoutbox
    assert message.subject == "[CRITICAL] Firing: Budget overrun (2 alerts)"
    assert message.to == ["cfo@example.test", "ctl@example.test"]
    assert message.body == EXPECTED_TEXT
    (html, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    assert '<td>Sales</td><td>7.5</td><td>5</td><td><a href="/alerts/11/">' in html


def test_email_html_escapes_labels(mailoutbox):
    payload = {**PAYLOAD, "alerts": [{**PAYLOAD["alerts"][0], "item": "<b>R&D</b>"}]}
    email_send(NotificationChannelFactory(kind="email"), payload=payload, recipients=["a@x.test"])
    html = mailoutbox[0].alternatives[0][0]
    assert "&lt;b&gt;R&amp;D&lt;/b&gt;" in html and "<b>R&D" not in html


class _Collector:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    collector = _Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.DEFAULT_FROM_EMAIL = "alerts@finhub.test"
    yield collector
    controller.stop()


def test_alert_email_through_a_real_smtp_server(smtp_server):
    rule = AlertRuleFactory(name="CAC above target", severity="warning", group_wait_seconds=0)
    rule.channels.add(NotificationChannelFactory(name="Mail", kind="email"))
    rule.recipient_users.add(UserFactory(username="cmo", email="cmo@example.test"))
    instance = AlertInstanceFactory(
        rule=rule,
        scope_key="",
        scope_label="",
        state="firing",
        fired_at=timezone.now(),
        value=Decimal("23500.0000"),
    )
    summary = notifications_process()
    assert summary["notifications_sent"] == "1"
    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "alerts@finhub.test"
    assert envelope.rcpt_tos == ["cmo@example.test"]
    message = message_from_bytes(envelope.content)
    assert message["Subject"] == "[WARNING] Firing: CAC above target (1 alert)"
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    body = text.get_payload(decode=True).decode().replace("\r\n", "\n")  # SMTP line ends
    assert f"- FIRING company: value 23500, threshold 5 (warning)\n  /alerts/{instance.pk}/" in body
    assert any(p.get_content_type() == "text/html" for p in message.walk())


def test_smtp_server_down_is_a_channel_error(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _free_port()  # nobody listens
    with pytest.raises(ChannelError, match=r"^Email not sent: ConnectionRefusedError"):
        email_send(NotificationChannelFactory(kind="email"), payload=PAYLOAD, recipients=["a@x.t"])


# --- webhooks --------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    status = 200
    requests: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append((self.path, dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"nope: " + SECRET.encode() if type(self).status >= 400 else b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.requests = []
    _Receiver.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Receiver
    server.shutdown()
    server.server_close()


def _url(server, path="/hooks/finhub"):
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_webhook_is_signed_with_the_documented_scheme(receiver):
    server, handler = receiver
    rule = AlertRuleFactory(name="Sync failing", severity="critical", group_wait_seconds=0)
    channel = NotificationChannelFactory(
        name="Ops hook", kind="webhook", url=_url(server), secret_encrypted=encrypt(SECRET)
    )
    rule.channels.add(channel)
    AlertInstanceFactory(
        rule=rule, scope_label="ERP", state="firing", fired_at=timezone.now(), value=Decimal("3")
    )
    before = int(time.time())
    assert notifications_process()["notifications_sent"] == "1"
    ((path, headers, body),) = handler.requests
    assert path == "/hooks/finhub"
    assert headers["Content-Type"] == "application/json"
    # X-FinHub-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">
    parts = dict(item.split("=", 1) for item in headers["X-FinHub-Signature"].split(","))
    timestamp = int(parts["t"])
    assert before <= timestamp <= int(time.time())
    expected = hmac.new(
        SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    # ... which the push API's verifier accepts too.
    assert verify_signature(secret=SECRET, header=headers["X-FinHub-Signature"], body=body)
    document = json.loads(body)
    assert document["kind"] == "firing" and document["rule"]["name"] == "Sync failing"
    assert [(a["item"], a["value"]) for a in document["alerts"]] == [("ERP", "3")]
    assert Notification.objects.get().status == "sent"


def test_slack_payload_option(receiver):
    server, handler = receiver
    channel = NotificationChannelFactory(kind="webhook", url=_url(server), payload_format="slack")
    webhook_send(channel, payload=PAYLOAD, recipients=[])
    ((_, headers, body),) = handler.requests
    assert "X-FinHub-Signature" not in headers  # no secret: Slack hooks are not signed
    assert json.loads(body) == {
        "text": "[CRITICAL] Firing: Budget overrun (2 alerts)",
        "attachments": [
            {
                "color": "#d92d20",
                "text": "- FIRING Sales: value 7.5, threshold 5 (critical)\n  /alerts/11/\n"
                "- RESOLVED Marketing: value 4.2, threshold 5 (critical)\n  /alerts/12/",
            }
        ],
    }


def test_webhook_error_never_shows_the_secret_nor_the_url(receiver):
    server, handler = receiver
    handler.status = 500
    channel = NotificationChannelFactory(
        kind="webhook",
        url=_url(server, f"/services/{SECRET}"),
        secret_encrypted=encrypt(SECRET),
    )
    with pytest.raises(ChannelError) as error:
        webhook_send(channel, payload=PAYLOAD, recipients=[])
    assert str(error.value) == "Webhook answered HTTP 500: nope: ***"

    server.shutdown()
    server.server_close()
    with pytest.raises(ChannelError) as error:
        webhook_send(channel, payload=PAYLOAD, recipients=[])
    assert str(error.value) == "Webhook not delivered: ConnectError."


def test_a_failing_webhook_is_retried_and_shown(receiver):
    server, handler = receiver
    handler.status = 503
    rule = AlertRuleFactory(group_wait_seconds=0)
    rule.channels.add(NotificationChannelFactory(name="Hook", kind="webhook", url=_url(server)))
    AlertInstanceFactory(rule=rule, state="firing", fired_at=timezone.now())
    now = timezone.now()
    assert notifications_process(now=now)["notifications_retrying"] == "1"
    channel = NotificationChannel.objects.get(name="Hook")
    assert channel.failing and channel.last_error.startswith("Webhook answered HTTP 503")
    handler.status = 200
    later = now + (Notification.objects.get().next_attempt_at - now)
    assert notifications_process(now=later)["notifications_sent"] == "1"
    channel.refresh_from_db()
    assert not channel.failing and channel.last_error == ""
    assert len(handler.requests) == 2
