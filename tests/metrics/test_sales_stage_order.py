"""The pipeline's stage order (issue #18, item 10): pipeline order, not alphabetical."""

from metrics.reports.sales import stage_sort_key


def test_known_stages_in_pipeline_order_unknown_after_blank_last():
    stages = ["Closed Lost", "", "Proposal", "Zebra", "closed won", "Qualification", "Alpha"]
    assert sorted(stages, key=stage_sort_key) == [
        "Qualification",
        "Proposal",
        "closed won",
        "Closed Lost",
        "Alpha",
        "Zebra",
        "",
    ]
