"""FinHub ships its own metric definitions: docs/metrics.md, served at /docs/metrics/ and
linked from every dashboard (issue #18, 2)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from finhub.core.docs import METRICS_DOC, heading_anchor, render_markdown
from metrics.computations.attribution import MODELS

URL = reverse("docs-metrics")
ROOT = Path(settings.BASE_DIR)

# The formulas' key terms, each as the page must state it.
KEY_TERMS = (
    # conventions and periods
    "rounded half-up to cents",
    "FX rate of its own transaction date",
    "no fallback to a nearby day",
    "never shown as 0 or as infinity",
    "every month the period touches, each month in full",
    "prior period",
    "same period last year",
    "12 full calendar months before the current one",
    # attribution
    "lookback",
    "unattributed",
    "40% to t1, 40% to tn",
    "half-life 7 days",
    "largest remainders",
    "removal effect",
    "1/m",
    # campaign ROI
    "ROI** = (revenue − cost) / cost",  # noqa: RUF001 - the page writes a minus sign
    "ROAS** = revenue / cost",
    "cost missing",
    "Campaign ROI tracking capability",
    # subscriptions
    "Net new MRR",
    "ARPA",
    "Logo churn rate",
    "NRR",
    "GRR",
    "Trailing-12-month NRR",
    # CAC
    "Blended CAC",
    "Paid CAC",
    "CAC per channel",
    "LTV:CAC",
    "CAC payback (months)",
    "pooled churn rate",
    "last complete month",
    # budget
    "variance %",
    "favourable",
    "Full-year outturn",
    "operating margin",
    "percentage points",
    # sales
    "Win rate",
    "Average deal size",
    "fractional days",
    "Quota attainment",
    "first day of its quota period",
    "Sales ROI",
    "Sales-finance consistency",
    "0.5% of the deal amount, and at least 1 cent",
    # scorecard
    "Data synchronization accuracy",
    "API reliability",
    "Revenue attribution accuracy",
    "only when the\nvalue or its period changes",
)


def doc_text() -> str:
    return METRICS_DOC.read_text(encoding="utf-8")


def test_the_page_needs_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_anyone_logged_in_reads_every_heading_with_its_anchor(client, no_role_user):
    client.force_login(no_role_user)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    headings = re.findall(r"^(#{1,4}) (.+)$", doc_text(), flags=re.MULTILINE)
    assert len(headings) > 30
    for _hashes, title in headings:
        title = title.replace("`", "")
        assert f'id="{heading_anchor(title)}">{title.replace("&", "&amp;")}</h' in body, title
    assert '<nav class="doc-toc' in body


def test_every_formula_key_term_is_stated():
    text = " ".join(doc_text().split())
    missing = [term for term in KEY_TERMS if " ".join(term.split()) not in text]
    assert missing == []
    for model in MODELS:  # the identifiers the API, the command and the URLs use
        assert f"`{model}`" in text


def test_the_dashboards_links_land_on_their_section():
    anchors = {heading.anchor for heading in render_markdown(doc_text()).headings}
    for page in ("executive", "marketing", "sales", "cac", "retention", "product"):
        assert f"{page}-dashboard" in anchors
    # Links inside the document point at its own headings.
    for target in re.findall(r"\]\(#([^)]+)\)", doc_text()):
        assert target in anchors, target


@pytest.mark.django_db
def test_every_dashboard_and_the_home_page_link_to_it(client, finance_viewer):
    client.force_login(finance_viewer)
    page = client.get(reverse("dashboards:executive")).content.decode()
    assert f'href="{URL}#executive-dashboard"' in page
    assert "How is this computed?" in page
    assert f'href="{URL}"' in client.get(reverse("home")).content.decode()


def test_anchors_follow_github_and_raw_html_is_not_rendered():
    doc = render_markdown(
        "# A title\n\n## CAC, LTV and payback\n\n## Sales\n\n## Sales\n\n<b>x</b>"
    )
    assert [h.anchor for h in doc.headings] == [
        "a-title",
        "cac-ltv-and-payback",
        "sales",
        "sales-1",
    ]
    assert "<b>" not in doc.html and "&lt;b&gt;" in doc.html


def product_files() -> list[Path]:
    """README, docs, templates and the apps' code (migrations keep the text they replace)."""
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "templates").rglob("*")]
    for package in ("finhub", "records", "connectors", "roadmap", "metrics", "dashboards"):
        files += [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    return [path for path in files if path.is_file()]


# Still citing it, to be reworded by the metrics restructuring (issue #11).
NOT_YET_REWORDED: tuple[str, ...] = ()


def test_the_product_no_longer_cites_a_file_it_does_not_ship():
    citing = [
        name
        for path in product_files()
        if re.search(r"METRICS\.md|§", path.read_text(encoding="utf-8"))
        and not (name := str(path.relative_to(ROOT))).startswith(NOT_YET_REWORDED)
    ]
    assert citing == []


def test_every_reference_to_a_section_of_the_definitions_names_one_that_exists():
    headings = render_markdown(doc_text()).headings
    anchors, titles = {h.anchor for h in headings}, {h.title for h in headings}
    broken = []
    for path in product_files():
        # One line of prose, even where a comment or docstring wraps the reference.
        text = re.sub(r"\s*\n\s*(?:# ?)?", " ", path.read_text(encoding="utf-8"))
        for anchor in re.findall(r"(?:/docs/metrics/|metrics\.md)#([\w-]+)", text):
            if anchor not in anchors:
                broken.append((path.name, anchor))
        for title in re.findall(r'docs/metrics\.md, "([^"]+)"', text):
            if title not in titles:
                broken.append((path.name, title))
    assert broken == []
