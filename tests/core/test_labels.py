"""Labels every page carries (issue #18, item 14): a title on every admin and app page, a
favicon, one colour theme for the app and the admin, a wrong password keeps the username."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.urls import reverse

from finhub.core import theme
from tests.factories import ChecklistItemFactory, ConnectorFactory, UserFactory

pytestmark = pytest.mark.django_db
CSS = Path(settings.BASE_DIR) / "static" / "css" / "finhub.css"
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def title_of(response) -> str:
    match = TITLE.search(response.content.decode())
    assert match, f"{response.request['PATH_INFO']}: no <title>"
    return " ".join(match.group(1).split())


def admin_pages() -> list[str]:
    """The admin's index, every app index, and every registered model's list and add page."""
    urls = [reverse("admin:index"), reverse("admin:password_change")]
    apps = set()
    for model in admin.site._registry:
        meta = model._meta
        apps.add(meta.app_label)
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    urls += [reverse("admin:app_list", args=[app]) for app in sorted(apps)]
    # Extra pages of the admins: imports and exports (django-import-export).
    urls += [
        reverse(f"admin:{p.name}")
        for p in _flat(admin.site.get_urls())
        if p.name
        and p.name.endswith(("_import", "_export"))
        and not p.name.endswith("process_import")  # the import form's POST target
        and "<" not in str(p.pattern)
    ]
    return urls


def _flat(patterns):
    for p in patterns:
        if hasattr(p, "url_patterns"):
            yield from _flat(p.url_patterns)
        else:
            yield p


def test_every_admin_page_has_a_title_naming_the_page_and_the_site(client):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    item = ChecklistItemFactory()
    connector = ConnectorFactory()
    pages = [
        *admin_pages(),
        reverse("admin:roadmap_checklistitem_change", args=[item.pk]),
        reverse("admin:roadmap_checklistitem_history", args=[item.pk]),
        reverse("admin:connectors_connector_change", args=[connector.pk]),
    ]
    # The connector's object actions that answer a GET with a confirmation page.
    actions = ("sync_now", "full_refresh", "backfill", "reset_state", "reprocess_rejected")
    confirms = [
        reverse(f"admin:connectors_connector_{action}_detail", args=[connector.pk])
        for action in actions
    ]
    untitled = {}
    for url in pages + confirms:
        response = client.get(url)
        if response.status_code == 403 or (url in confirms and response.status_code != 200):
            continue  # an add page refused to everyone; an action that only takes a POST
        assert response.status_code == 200, url
        title = title_of(response)
        page, _, site = title.rpartition(" | ")
        if site != "FinHub admin" or not page.strip() or "Django" in title:
            untitled[url] = title
    assert not untitled


def test_the_admin_login_page_has_a_title(client):
    assert title_of(client.get(reverse("admin:login"))) == "Log in | FinHub admin"


@pytest.mark.parametrize("name", ["home", "docs-metrics", "connectors:health", "roadmap:dashboard"])
def test_app_pages_have_a_title(client, name, superuser):
    client.force_login(superuser)
    title = title_of(client.get(reverse(name)))
    assert title.endswith(" · FinHub") and title != "FinHub · FinHub", title


# --- favicon ---------------------------------------------------------------------------


def test_favicon_ico_leads_to_the_svg_icon_without_login(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/img/favicon.svg"
    svg = (Path(settings.BASE_DIR) / "static" / "img" / "favicon.svg").read_text()
    assert svg.startswith("<svg") and theme.BRAND in svg


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_app_and_admin_pages_link_the_favicon(client, url):
    html = client.get(url).content.decode()
    assert re.search(r'<link [^>]*rel="icon"[^>]*href="/static/img/favicon.svg"', html), url


# --- one colour theme ------------------------------------------------------------------


def test_the_app_and_the_admin_share_the_brand_colour(client):
    brand = re.search(r"--brand:\s*(#[0-9a-fA-F]{6})", CSS.read_text()).group(1)
    assert brand.lower() == theme.BRAND == "#0b5394"
    # unfold paints buttons and links with primary-600: the app's brand, as rgb(11, 83, 148).
    html = client.get("/admin/login/").content.decode()
    assert re.search(r"--color-primary-600:\s*rgb\(11,\s*83,\s*148\)", html), "admin theme"
    assert "302.321" not in html  # unfold's default purple is gone


# --- a wrong password keeps the username -------------------------------------------------


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_a_wrong_password_keeps_the_username(client, url):
    UserFactory(username="fiona.finance", is_staff=True)
    response = client.post(url, {"username": "fiona.finance", "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    field = re.search(r'<input[^>]*name="username"[^>]*>', html).group(0)
    assert 'value="fiona.finance"' in field
