"""The address a request came from, for per-address limits (webhook failures, login lockout).

``X-Forwarded-For`` is written by the client as much as by proxies, so it is believed only as
far as ``FINHUB_TRUSTED_PROXIES`` says: with N reverse proxies in front of FinHub (each
appending the address it saw), the client is the N-th address from the right. With none
(the default), the socket's address is the client and the header is ignored, so nobody
escapes a limit by sending a new header with each request.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    remote: str = request.META.get("REMOTE_ADDR", "") or ""
    proxies: int = settings.FINHUB_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [part.strip() for part in header.split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote  # not through every proxy: the socket's address is all we know
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
