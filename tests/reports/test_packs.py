"""Report packs and on-demand report files: generated, rendered and archived."""

import hashlib
import io

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook
from pypdf import PdfReader

from reports.building import ReportParamError, report_params_from_query
from reports.definitions import REPORTS
from reports.models import ArchivedReport, PackItem, ReportPack
from reports.services import pack_generate, report_generate
from tests.reports.factories import (
    MARCH_2026,
    QUICK_REPORTS,
    PackItemFactory,
    ReportPackFactory,
    reports_storage_at,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _storage(monkeypatch, tmp_path):
    reports_storage_at(monkeypatch, tmp_path)


def _bytes(archived: ArchivedReport) -> bytes:
    with archived.file.open("rb") as handle:
        return handle.read()


def test_pack_generate_gives_one_pdf_and_one_xlsx_with_a_sheet_per_report(finance_viewer):
    pack = ReportPackFactory(name="Board pack", reports=QUICK_REPORTS)

    files = pack_generate(pack=pack, period=MARCH_2026, user=finance_viewer)

    assert [f.format for f in files] == ["pdf", "xlsx"]
    assert ArchivedReport.objects.count() == 2
    pdf, xlsx = files
    workbook = load_workbook(io.BytesIO(_bytes(xlsx)))
    # The renderer's "About" sheet, then one sheet per report in the pack's order.
    assert workbook.sheetnames == ["About", "Roadmap status", "Product ROI"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(_bytes(pdf))).pages)
    assert "Roadmap status" in text
    assert "Product ROI" in text
    for archived in files:
        content = _bytes(archived)
        assert archived.size == len(content)
        assert archived.checksum == hashlib.sha256(content).hexdigest()
        assert archived.pack == pack
        assert archived.report == ""
        assert archived.title == "Board pack — March 2026"
        assert (archived.period_start, archived.period_end) == (MARCH_2026.start, MARCH_2026.end)
        assert archived.generated_by == finance_viewer
        assert archived.trigger == "manual"
        assert archived.parameters["period"]["start"] == "2026-03-01"
        assert [r["report"] for r in archived.parameters["reports"]] == list(QUICK_REPORTS)


def test_the_default_pack_holds_every_report_in_order():
    pack = ReportPack.objects.get(name="Month-end pack")
    assert [item.report for item in pack.items.order_by("order")] == list(REPORTS)


def test_a_pack_without_reports_is_refused_and_archives_nothing():
    pack = ReportPackFactory()
    with pytest.raises(ValidationError, match="has no reports"):
        pack_generate(pack=pack, period=MARCH_2026)
    assert not ArchivedReport.objects.exists()


def test_a_pack_item_with_a_bad_parameter_is_refused_and_archives_nothing():
    pack = ReportPackFactory()
    PackItemFactory(pack=pack, report="product_roi", params={"department": "1"})
    with pytest.raises(ReportParamError, match="department"):
        pack_generate(pack=pack, period=MARCH_2026)
    assert not ArchivedReport.objects.exists()


def test_an_unknown_format_is_refused_before_anything_is_built():
    pack = ReportPackFactory(reports=QUICK_REPORTS)
    with pytest.raises(ValidationError, match="docx"):
        pack_generate(pack=pack, period=MARCH_2026, formats=("pdf", "docx"))
    assert not ArchivedReport.objects.exists()


def test_report_generate_archives_the_file_with_its_parameters(finance_viewer):
    params = report_params_from_query(
        key="roadmap_status", query={"period": "month", "month": "2026-03"}, today=MARCH_2026.end
    )

    archived = report_generate(key="roadmap_status", params=params, fmt="csv", user=finance_viewer)

    content = _bytes(archived)
    assert content  # a CSV with at least the report's title line
    assert archived.format == "csv"
    assert archived.report == "roadmap_status"
    assert archived.pack is None
    assert archived.checksum == hashlib.sha256(content).hexdigest()
    assert archived.parameters == params.as_dict()
    assert archived.filename == "roadmap-status-march-2026-2026-03-01-2026-03-31.csv"


def test_a_pack_item_names_a_report_and_only_its_parameters():
    pack = ReportPackFactory()
    with pytest.raises(ValidationError, match="not a report"):
        PackItem(pack=pack, report="payroll", params={}).full_clean()
    with pytest.raises(ValidationError, match="team: not a parameter of this report"):
        PackItem(pack=pack, report="campaign_roi", params={"team": "1"}).full_clean()
    PackItem(pack=pack, report="campaign_roi", params={"model": "linear"}).full_clean()
