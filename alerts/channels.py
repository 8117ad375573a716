"""Delivery of one notification through its channel: email or a signed webhook.

Every failure is raised as ``ChannelError`` whose message is safe to store and show (it never
contains the webhook secret, nor the URL, which for Slack-style hooks is itself a secret).
The payload is the one ``alerts.notifications`` stored on the notification.
"""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Callable

import httpx
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.html import format_html, format_html_join

from alerts.models import NotificationChannel
from connectors.crypto import DecryptionError, decrypt
from connectors.webhooks import SIGNATURE_HEADER, signature_header

TIMEOUT_SECONDS = 10.0
USER_AGENT = "FinHub-alerts/1"
_KIND_TITLES = {"firing": "Firing", "repeat": "Still firing", "resolved": "Resolved"}
_SLACK_COLOURS = {"critical": "#d92d20", "warning": "#f79009", "info": "#2e90fa"}


class ChannelError(Exception):
    """A delivery failed; the message says why (and is safe to store on the channel)."""


# --- Message text ----------------------------------------------------------------------


def subject(payload: dict) -> str:
    """``[CRITICAL] Firing: Budget overrun (3 alerts)``."""
    severity = str(payload.get("severity", "")).upper()
    title = _KIND_TITLES.get(payload.get("kind", ""), "Alert")
    count = len(payload.get("alerts", []))
    noun = "alert" if count == 1 else "alerts"
    return f"[{severity}] {title}: {payload.get('rule', {}).get('name', '')} ({count} {noun})"


def _alert_line(alert: dict) -> str:
    state = "RESOLVED" if alert["state"] == "resolved" else "FIRING"
    item = alert["item"] or "company"
    value = alert["value"] if alert["value"] is not None else "no value"
    return (
        f"- {state} {item}: value {value}, threshold {alert['threshold']} "
        f"({alert['severity']})\n  {alert['link']}"
    )


def text_body(payload: dict) -> str:
    lines = [subject(payload), ""]
    lines += [_alert_line(alert) for alert in payload.get("alerts", [])]
    lines += ["", "Acknowledge, silence or resolve these alerts on the FinHub alerts page."]
    return "\n".join(lines) + "\n"


def html_body(payload: dict) -> str:
    rows = format_html_join(
        "",
        '<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href="{}">open</a></td></tr>',
        (
            (
                alert["state"],
                alert["item"] or "company",
                alert["value"] if alert["value"] is not None else "no value",
                alert["threshold"],
                alert["link"],
            )
            for alert in payload.get("alerts", [])
        ),
    )
    return format_html(
        "<p><strong>{}</strong></p><table><tr><th>State</th><th>Item</th><th>Value</th>"
        "<th>Threshold</th><th></th></tr>{}</table>",
        subject(payload),
        rows,
    )


def slack_payload(payload: dict) -> dict:
    """A Slack incoming-webhook body: one text line and one attachment listing the alerts."""
    return {
        "text": subject(payload),
        "attachments": [
            {
                "color": _SLACK_COLOURS.get(payload.get("severity", ""), "#667085"),
                "text": "\n".join(_alert_line(alert) for alert in payload.get("alerts", [])),
            }
        ],
    }


# --- Senders ---------------------------------------------------------------------------


def email_send(channel: NotificationChannel, *, payload: dict, recipients: list[str]) -> None:
    """One email to all the notification's recipients (text, with an HTML alternative)."""
    if not recipients:
        raise ChannelError("No recipients: the rule has no users or groups with an email.")
    message = EmailMultiAlternatives(
        subject=subject(payload),
        body=text_body(payload),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT or TIMEOUT_SECONDS),
    )
    message.attach_alternative(html_body(payload), "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"Email not sent: {type(exc).__name__}: {exc}"[:500]) from exc


def webhook_send(channel: NotificationChannel, *, payload: dict, recipients: list[str]) -> None:
    """POST the payload as JSON, signed ``X-FinHub-Signature: t=<unix>,v1=<hex>`` (HMAC-SHA256
    over ``"<t>.<body>"``, the push API's scheme) when the channel has a secret."""
    if not channel.url:
        raise ChannelError("The webhook channel has no URL.")
    document = slack_payload(payload) if channel.payload_format == "slack" else payload
    body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    secret = ""
    if channel.secret_encrypted:
        try:
            secret = decrypt(channel.secret_encrypted)
        except DecryptionError as exc:
            raise ChannelError("The webhook secret cannot be decrypted.") from exc
        headers[SIGNATURE_HEADER] = signature_header(
            secret=secret, body=body, timestamp=int(time.time())
        )
    try:
        response = httpx.post(channel.url, content=body, headers=headers, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        # Only the error's type: httpx messages quote the URL.
        raise ChannelError(f"Webhook not delivered: {type(exc).__name__}.") from exc
    if not response.is_success:
        reason = _scrub(response.text[:200], secret, channel.url)
        raise ChannelError(f"Webhook answered HTTP {response.status_code}: {reason}"[:500])


def _scrub(text: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


Sender = Callable[..., None]
SENDERS: dict[str, Sender] = {
    NotificationChannel.Kind.EMAIL: email_send,
    NotificationChannel.Kind.WEBHOOK: webhook_send,
}


def channel_send(channel: NotificationChannel, *, payload: dict, recipients: list[str]) -> None:
    """Deliver through the channel's kind; raises ChannelError."""
    sender = SENDERS.get(channel.kind)
    if sender is None:
        raise ChannelError(f"Unknown channel kind {channel.kind!r}.")
    sender(channel, payload=payload, recipients=recipients)
