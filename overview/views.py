from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from overview.home import home_page


def home(request: HttpRequest) -> HttpResponse:
    """For each role the person holds, the answers that role comes for (overview/home.py)."""
    return render(request, "overview/home.html", {"page": home_page(request.user)})
