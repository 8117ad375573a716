"""Dashboard filters kept in the URL: department, channel, campaign, team, segment.

Each filter's value is the record's id (``?department=3``), so a shared link selects the
same record whatever its name; a customer segment is no record, only a name on the
customers, so its value is that name (``?segment=SMB``). The options of each filter are
read in one query; a value that is not an option is a :class:`FilterError` (400, naming the
filter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from metrics import selectors


class FilterError(ValueError):
    """An invalid filter value; the message names the filter and why."""


@dataclass(frozen=True)
class Option:
    """One choice of a filter. ``code`` is the record's business key where it has one
    (department code), ``extra`` carries what a page may need (a campaign's channel id)."""

    id: int
    label: str
    code: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)
    #: The URL value when it is not the id (a segment's name).
    key: str = ""

    @property
    def value(self) -> str:
        return self.key or str(self.id)


@dataclass
class Filter:
    name: str
    label: str
    all_label: str
    options: list[Option]
    selected: Option | None = None


def _departments() -> list[Option]:
    return [Option(pk, name, code or "") for pk, name, code in selectors.departments()]


def _channels() -> list[Option]:
    return [Option(pk, name, extra={"is_paid": paid}) for pk, name, paid in selectors.channels()]


def _campaigns() -> list[Option]:
    return [
        Option(pk, name, extra={"channel_id": channel_id})
        for pk, name, channel_id in selectors.campaigns()
    ]


def _teams() -> list[Option]:
    return [Option(pk, name) for pk, name in selectors.sales_teams()]


def _segments() -> list[Option]:
    return [
        Option(index, name, key=name)
        for index, name in enumerate(selectors.customer_segments(), start=1)
    ]


# name -> (label, "all" label, options loader). A page lists the names it supports.
FILTERS = {
    "department": ("Department", "All departments", _departments),
    "channel": ("Channel", "All channels", _channels),
    "campaign": ("Campaign", "All campaigns", _campaigns),
    "team": ("Team", "All teams", _teams),
    "segment": ("Segment", "All segments", _segments),
}
#: Filters whose URL value is the option's name (``Option.key``), not an id.
BY_NAME = frozenset({"segment"})


@dataclass
class Filters:
    """The filters a page supports, their options and the selected values."""

    items: list[Filter]

    def __iter__(self):
        return iter(self.items)

    def get(self, name: str) -> Filter | None:
        return next((item for item in self.items if item.name == name), None)

    def selected(self, name: str) -> Option | None:
        """The selected option of filter ``name`` (None: all, or the page has no such filter)."""
        item = self.get(name)
        return item.selected if item else None

    def query(self) -> dict[str, str]:
        """The URL parameters of the selected filters."""
        return {item.name: item.selected.value for item in self.items if item.selected}

    @property
    def active(self) -> list[Filter]:
        return [item for item in self.items if item.selected]


def filters_from_params(params, names: Sequence[str]) -> Filters:
    """Read the options of each named filter (one query each) and the selected values from
    the query parameters (``request.GET``)."""
    items = []
    for name in names:
        if name not in FILTERS:
            raise ValueError(f"unknown dashboard filter {name!r}")
        label, all_label, load = FILTERS[name]
        item = Filter(name, label, all_label, load())
        raw = str(params.get(name, "") or "").strip()
        if raw and name in BY_NAME:
            item.selected = next((o for o in item.options if o.key == raw), None)
            if item.selected is None:
                raise FilterError(
                    f"{name}: no customer has the {label.lower()} {raw!r}; pick one from the list."
                )
        elif raw:
            if not raw.isdigit():
                raise FilterError(f"{name}: {raw!r} is not a {label.lower()} id.")
            item.selected = next((o for o in item.options if o.id == int(raw)), None)
            if item.selected is None:
                raise FilterError(
                    f"{name}: no {label.lower()} has id {raw}; pick one from the list."
                )
        items.append(item)
    return Filters(items)
