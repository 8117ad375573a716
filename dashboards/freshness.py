"""Data freshness of each source, from the connectors (``connectors.selectors
.source_freshness``, the contract in issue #5), for the dashboards to show plainly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Freshness:
    """``sources``: the connectors' SourceFreshness rows; ``available``: False while the
    connectors app has no freshness selector (the page says so instead of guessing)."""

    sources: list
    available: bool = True

    @property
    def warnings(self) -> list:
        return [s for s in self.sources if getattr(s, "is_warning", False)]


def sources_freshness() -> Freshness:
    """One query (the selector's); an empty, unavailable result when it does not exist."""
    try:
        from connectors.selectors import source_freshness
    except ImportError:
        return Freshness([], available=False)
    return Freshness(list(source_freshness()))
