"""Every page fits at 1440, 1024 and 768 px, as every demo login (issue #18, 13).

One test walks, for each demo login (superuser, finance viewer, project manager,
integration admin), every page it may open: the site's pages found in the URL conf (so a
page added later is walked without touching this file), the drill-downs linked from the
dashboards, one alert's page linked from the Alerts page, and in the admin every registered
model's changelist and change form (an existing object's, else the add form). At each
width a script in the page checks that

* the page itself is not wider than the window (wide tables scroll inside their own box);
* no element sticks out of its container: its right edge stays within its parent (unless
  the parent scrolls sideways) and within the nearest ancestor that clips (overflow
  hidden/clip), which would cut it;
* no text is cut by ``overflow: hidden`` (scrollWidth > clientWidth) without a tooltip
  (``title``/``aria-label`` on it, an ancestor or the child holding the text).

A screenshot per login/site page/width goes to test-artifacts/screenshots/fit-*.png (an admin
page's only when it fails). On PostgreSQL the walk is skipped: the layout does not depend on
the database, and CI walks it once, on the embedded default.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = (1440, 1024, 768)
END_MONTH = dt.date(2026, 10, 1)  # the generated company's last month (deterministic)
PASSWORD = "pw-for-tests"

# URL-conf prefixes that are not pages: the API, probes, the login form, the admin
# (walked per model below) and drill-downs (reached from a link on their dashboard).
NOT_PAGES = ("api/v1/", "api/schema/", "healthz", "readyz", "accounts/", "admin/")
DRILL = "/dashboards/drill/"
# Dashboards open on a period the generated company has data for.
DASHBOARD_QUERY = "?period=ytd&year=2026"
# Pages that render the same for every login: walked once.
SAME_FOR_EVERY_LOGIN = ("/api/docs/", "/docs/metrics/")

CHECK = r"""
async () => {
  // Charts follow a resize on the next frames (ResizeObserver): let them settle.
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  if (document.querySelector('canvas')) await new Promise((done) => setTimeout(done, 100));
  const failures = [];
  if (!document.body) return failures;
  const doc = document.documentElement;
  const name = (el) => {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && e !== document.body && parts.length < 4;
         e = e.parentElement) {
      let part = e.tagName.toLowerCase();
      if (e.id) { parts.unshift(part + '#' + e.id); break; }
      const cls = [...e.classList].filter((c) => /^[\w-]+$/.test(c)).slice(0, 2);
      if (cls.length) part += '.' + cls.join('.');
      const same = e.parentElement
        ? [...e.parentElement.children].filter((s) => s.tagName === e.tagName) : [];
      if (same.length > 1) part += `:nth-of-type(${same.indexOf(e) + 1})`;
      parts.unshift(part);
    }
    return parts.join(' > ');
  };
  const text = (el) => (el.innerText || el.textContent || '').trim().slice(0, 60);
  if (doc.scrollWidth > doc.clientWidth + 1) {
    failures.push({kind: 'page wider than the window', selector: 'html',
                   size: `${doc.scrollWidth}px > ${doc.clientWidth}px`});
  }
  const hidden = (cs) => cs.display === 'none' || cs.visibility === 'hidden'
    || cs.visibility === 'collapse' || cs.opacity === '0';
  const scrolls = (cs) => cs.overflowX === 'auto' || cs.overflowX === 'scroll';
  const clips = (cs) => cs.overflowX === 'hidden' || cs.overflowX === 'clip';
  const controls = new Set(['INPUT', 'SELECT', 'TEXTAREA', 'OPTION', 'IFRAME']);
  const tooltip = (el) => el.closest('[title],[aria-label]')
    || el.querySelector('[title],[aria-label]');
  // reported: an ancestor already sticks out (its descendants are not listed again).
  const walk = (el, floating, reported) => {
    const cs = getComputedStyle(el);
    if (hidden(cs) || el.tagName === 'TEMPLATE' || el.tagName === 'svg') return;
    // The content of a closed <details> is not shown until it is opened.
    if (el.parentElement && el.parentElement.tagName === 'DETAILS' && !el.parentElement.open
        && el.tagName !== 'SUMMARY') return;
    // Out of the flow (popovers, tooltips, off-canvas menus): checked against the window only.
    floating = floating || cs.position === 'absolute' || cs.position === 'fixed';
    const box = el.getBoundingClientRect();
    const tiny = box.width <= 2 || box.height <= 2;  // visually hidden (sr-only) text
    const before = failures.length;
    if (!tiny && !reported) {
      if (box.right > doc.clientWidth + 1 && !el.closest('[data-fit-scroll]')) {
        let scroller = null;
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
          if (scrolls(getComputedStyle(a))) { scroller = a; break; }
        }
        if (!scroller) {
          failures.push({kind: 'past the right edge of the window', selector: name(el),
                         size: `right ${Math.round(box.right)}px > ${doc.clientWidth}px`,
                         text: text(el)});
        }
      }
      const parent = el.parentElement;
      if (!floating && parent && parent !== document.body) {
        const ps = getComputedStyle(parent);
        const pbox = parent.getBoundingClientRect();
        const inner = pbox.left + parent.clientLeft + parent.clientWidth;
        // A deliberate bleed (negative margin into the parent's padding, as the admin's
        // changelist does) is fine while it stays within the grandparent's box.
        const grand = parent.parentElement;
        const gbox = grand && grand.getBoundingClientRect();
        const bleed = (grand && grand !== document.body && !scrolls(getComputedStyle(grand))
          && box.right <= gbox.left + grand.clientLeft + grand.clientWidth + 1)
          || (parseFloat(cs.marginRight) < 0 && box.right <= inner - parseFloat(cs.marginRight) + 1
              && box.right <= doc.clientWidth + 1);
        if (!scrolls(ps) && ps.display !== 'contents' && parent.clientWidth > 0
            && box.right > inner + 1 && cs.display !== 'inline' && !bleed) {
          failures.push({kind: clips(ps) ? 'cut by its container' : 'wider than its container',
                         selector: name(el),
                         size: `right ${Math.round(box.right)}px > container ${Math.round(inner)}px`
                               + ` (width ${Math.round(box.width)} in ${parent.clientWidth})`,
                         text: text(el)});
        }
      }
      // At desktop width a table of up to ten columns fits: a box scrolling sideways hides
      // columns. A wider matrix, or any table on a tablet, may scroll.
      const table = el.querySelector('table');
      if (scrolls(cs) && doc.clientWidth >= 1440 && el.scrollWidth > el.clientWidth + 1
          && table && table.rows.length && table.rows[0].cells.length <= 10) {
        failures.push({kind: 'columns out of sight (scrolls sideways)', selector: name(el),
                       size: `scrollWidth ${el.scrollWidth}px > clientWidth ${el.clientWidth}px`});
      }
      if (clips(cs) && !controls.has(el.tagName) && el.scrollWidth > el.clientWidth + 1
          && text(el) && !tooltip(el)) {
        failures.push({kind: 'text cut without a tooltip', selector: name(el),
                       size: `scrollWidth ${el.scrollWidth}px > clientWidth ${el.clientWidth}px`,
                       text: text(el)});
      }
    }
    const stuckOut = reported
      || failures.slice(before).some((f) => f.kind !== 'text cut without a tooltip');
    for (const child of el.children) walk(child, floating, stuckOut);
  };
  for (const child of document.body.children) walk(child, false, false);
  return failures;
}
"""


@pytest.fixture
def demo_data(settings):
    """The generated company, the demo logins, the demo programme, the demo connectors and
    the metric snapshots: every page has something to show."""
    from django.contrib.auth import get_user_model

    from connectors.demo import demo_connectors_ensure
    from connectors.sandbox.company import generate
    from finhub.core.services import DEMO_USERS, demo_users_ensure
    from records.ingestion.bulk import records_bulk_load
    from roadmap.services import programme_load, programme_preparation_done
    from tests.factories import ConnectorFactory

    company = generate(seed=7, scale=0.05, end_month=END_MONTH)
    settings.FINHUB_REPORTING_CURRENCY = company.reporting_currency
    records_bulk_load(company.entities, source=ConnectorFactory(name="Generated company"))
    demo_users_ensure(password=PASSWORD)
    users = get_user_model().objects.in_bulk([u for u, _r, _n in DEMO_USERS], field_name="username")
    owners = {role: users[name] for name, role, _full in DEMO_USERS if role}
    loaded = programme_load(owners=owners)
    programme_preparation_done(programme=loaded.programme, user=users["pm"])
    demo_connectors_ensure(base_url="http://127.0.0.1:9/sandbox")
    _scorecard_history(loaded.programme)
    _alerts_firing()
    return [name for name, _role, _full in DEMO_USERS]


def _alerts_firing() -> None:
    """A firing alert with its history and a pending one: the Alerts page and an alert's
    page (reached from the list) have rows, a chart and a timeline to lay out."""
    from django.utils import timezone

    from alerts.models import AlertTransition
    from tests.alerts.factories import AlertInstanceFactory, AlertRuleFactory

    now = timezone.now()
    rule = AlertRuleFactory(
        name="Predicted overrun of a department's full-year budget (walk)",
        metric="predicted_overrun_pct",
        comparator="gt",
        threshold=Decimal("5"),
        recovery_threshold=Decimal("3"),
        severity="critical",
    )
    firing = AlertInstanceFactory(
        rule=rule,
        scope_key="MKT",
        scope_label="Marketing and demand generation",
        state="firing",
        value=Decimal("7.25"),
        fired_at=now,
        samples=[
            [(now - dt.timedelta(minutes=5 * (24 - i))).isoformat(), str(Decimal("3.5") + i)]
            for i in range(24)
        ],
    )
    AlertTransition.objects.create(
        instance=firing,
        from_state="pending",
        to_state="firing",
        value=Decimal("7.25"),
        tick=now,
        at=now,
        note="Breached for 2 evaluations in a row",
    )
    AlertInstanceFactory(rule=rule, scope_key="OPS", scope_label="Operations", state="pending")


def _scorecard_history(programme) -> None:
    """Three monthly measurements per success metric: the scorecard has a trend to show."""
    from django.utils import timezone

    from roadmap.models import SuccessMetric
    from roadmap.services import measurement_record

    now = timezone.now()
    for metric in SuccessMetric.objects.filter(programme=programme):
        for months_ago, value in ((3, "41.5"), (2, "57.25"), (1, "73.8")):
            measurement_record(
                metric_key=metric.key,
                value=Decimal(value),
                measured_at=now - dt.timedelta(days=30 * months_ago),
                note="demo history",
            )


def is_form_action(path: str) -> bool:
    """A view answering GET with 405 (``require_POST``, checked before the login) is an
    action a form posts to, not a page; Chromium shows no response to walk."""
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied
    from django.http import Http404
    from django.test import RequestFactory
    from django.urls import resolve

    match = resolve(path)
    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    try:
        return match.func(request, *match.args, **match.kwargs).status_code == 405
    except (PermissionDenied, Http404):
        return False  # a page that refuses the anonymous request


def site_pages() -> list[str]:
    """Paths of the URL conf's pages that take no argument (API, probes, admin excluded)."""
    found = []

    def visit(patterns, prefix):
        for entry in patterns:
            route = str(entry.pattern)
            if isinstance(entry, URLResolver):
                visit(entry.url_patterns, prefix + route)
            elif isinstance(entry, URLPattern):
                path = prefix + route
                if re.search(r"[<(\[^$\\]", path) or path.startswith(NOT_PAGES):
                    continue
                if ("/" + path).startswith(DRILL) or is_form_action("/" + path):
                    continue
                found.append("/" + path)

    visit(get_resolver().url_patterns, "")
    return sorted(set(found))


def admin_pages(username: str) -> list[tuple[str, bool]]:
    """(path, editable) of each registered model's changelist and change form (the add
    form when there is no row) that the user may view; editable: the user may change it
    (the admin renders a read-only form otherwise)."""
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from django.urls import reverse

    user = get_user_model().objects.get(username=username)
    request = RequestFactory().get("/admin/")
    request.user = user
    pages = [("/admin/", True)]
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_or_change_permission(request):
            continue
        info = model._meta.app_label, model._meta.model_name
        editable = model_admin.has_change_permission(request)
        pages.append((reverse("admin:{}_{}_changelist".format(*info)), editable))
        obj = model_admin.get_queryset(request).order_by("pk").first()
        if obj is not None:
            url = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
            pages.append((url, model_admin.has_change_permission(request, obj)))
        elif model_admin.has_add_permission(request):
            pages.append((reverse("admin:{}_{}_add".format(*info)), True))
    return pages


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


def test_every_page_fits_at_every_width_for_every_login(page, live_server, demo_data):
    from django.conf import settings

    from tests.browser.conftest import ARTIFACTS

    if settings.DATABASE_IS_POSTGRES:
        # The layout does not depend on the database; CI walks it on the embedded default.
        pytest.skip("the page walk runs on the embedded default (SQLite) only")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    walked: set[tuple] = set()  # what was checked already (see ``key`` below)
    shown = 0  # failures already screenshotted
    for username in demo_data:
        page.context.clear_cookies()
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        # The site's pages differ per login (home, navigation); a few are the same for all.
        # An admin page looks the same for every login that may edit it, and for every
        # login that may only view it: each rendering is walked once.
        queue = [
            (p + (DASHBOARD_QUERY if p.startswith("/dashboards/") else ""), None)
            for p in site_pages()
        ]
        queue += admin_pages(username)
        drills: set[str] = set()
        while queue:
            path, editable = queue.pop(0)
            bare = path.split("?")[0]
            if editable is not None:
                key = (bare, editable)
            elif bare in SAME_FOR_EVERY_LOGIN:
                key = (bare,)
            else:
                key = (bare, username)
            if key in walked:
                continue
            response = page.goto(f"{live_server.url}{path}")
            if response is None or response.status in (403, 404) or "/accounts/login/" in page.url:
                continue  # not this login's page
            assert response.status == 200, f"{username} {path}: HTTP {response.status}"
            if "text/html" not in response.headers.get("content-type", ""):
                continue  # a download linked as a drill-down
            walked.add(key)
            # One alert's page, linked from the Alerts page.
            for href in page.eval_on_selector_all(
                "main a[href^='/alerts/']", "links => links.map(a => a.getAttribute('href'))"
            ):
                if re.fullmatch(r"/alerts/\d+/", href):
                    queue.append((href, None))
                    break
            # One drill-down of each kind linked from the page.
            for href in page.eval_on_selector_all(
                f"main a[href^='{DRILL}']", "links => links.map(a => a.getAttribute('href'))"
            ):
                kind = href.split("?")[0]
                if kind not in drills and "format=" not in href:
                    drills.add(kind)
                    queue.append((href, None))
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                for failure in page.evaluate(CHECK):
                    failures.append(
                        f"{username} {path} @{width}: {failure['kind']}: "
                        f"{failure['selector']} — {failure['size']}"
                        + (f" «{failure['text']}»" if failure.get("text") else "")
                    )
                # Every site page's screenshot is kept; an admin page's when it failed (the
                # admin's pages share one layout, and a screenshot costs more than the check).
                if editable is None or len(failures) > shown:
                    page.screenshot(
                        path=str(ARTIFACTS / f"fit-{username}-{slug(bare)}-{width}.png"),
                        full_page=True,
                    )
                shown = len(failures)
            page.set_viewport_size({"width": 1440, "height": 900})
    assert not failures, f"{len(failures)} layout failures:\n" + "\n".join(failures)
