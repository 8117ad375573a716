"""Error bodies of FinHub's API views: ``{"detail": "...", "code": "..."}``."""

from rest_framework import exceptions
from rest_framework.views import exception_handler


def coded_exception_handler(exc, context):
    """DRF's handler, plus the exception's code beside ``detail`` ({"detail", "code"})."""
    response = exception_handler(exc, context)
    if (
        response is not None
        and isinstance(exc, exceptions.APIException)
        and isinstance(response.data, dict)
        and isinstance(exc.detail, str)
    ):
        response.data["code"] = exc.detail.code or exc.default_code
    return response


class CodedErrorsMixin:
    """For views and viewsets: errors carry a stable machine-readable code."""

    def get_exception_handler(self):
        return coded_exception_handler
