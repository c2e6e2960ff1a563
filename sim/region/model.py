"""A region run: a prefecture's or province's areas, each a county model, sharing their hospitals.

    region = RegionModel(sim.scenario.loader.load("scenarios/xinxiang_city.yaml"), partitions=2)
    region.run()
    region.summary()          # the region's indicators, and `areas`: each county's and district's

Each day every area steps once, then the areas' reports are coupled (`sim.region.coupling`) into
tomorrow's share of every shared hospital. The areas run in this process (`partitions=None`) or in
groups on Dask workers (`partitions=N`, a local cluster unless `scheduler` names one; with a
scheduler and no `partitions`, one group per worker); the numbers
are the same either way, to the last bit: each area has its own seed and the coupling reads the
reports in area order.
"""

from __future__ import annotations

import re

from sim.county.region_areas import area_runs
from sim.engine.metrics import PersonStats, summarise
from sim.region.coupling import couple
from sim.region.tables import merge_daily, merge_tables
from sim.region.workers import DaskGroups, LocalGroups, partition
from sim.scenario.region_files import region_plan
from sim.scenario.schema import Timeline

AREA_KEYS = ("name", "name_zh", "kind", "pooling_area", "population")


class RegionModel:
    """The areas of a region run together (see the module docstring)."""

    def __init__(self, timeline: Timeline, partitions: int | None = None, scheduler: str | None = None,
                 in_process: bool = False):
        """`partitions` groups of areas on as many Dask workers (None: all in this process, or one group
        per worker of `scheduler`); `in_process` steps the groups here, one after another (tests)."""
        self.timeline, self.params = timeline, timeline.base
        self.plan = region_plan(self.params)
        self.runs = area_runs(timeline, self.plan)
        if in_process or (partitions is None and scheduler is None):
            self.workers = LocalGroups(partition(self.runs, partitions or 1), self.plan)
        else:
            self.workers = DaskGroups(self.runs, self.plan, partitions, scheduler)
        self.members = self.workers.members  # each group's area indices
        self.partitions = len(self.members)
        self.day = -self.params.warmup_days
        self.spans: set[tuple[int, int]] = set()
        self._results: list[dict] | None = None
        self._span_cache: dict[tuple[int, int], list] = {}
        self._settings: list = [None] * self.partitions  # the shared hospitals' settings for the next day

    @property
    def areas(self) -> list:
        """The region's areas (`sim.scenario.region_files.Area`), in order."""
        return self.plan.areas

    def _per_group(self, per_area: list) -> list[list]:
        return [[per_area[i] for i in members] for members in self.members]

    def keep_totals_from(self, day: int) -> None:
        """Ask for a period to start on `day` (before the run reaches it)."""
        if day < self.day:
            raise ValueError(f"day {day} has passed (the region is on day {self.day})")
        self.workers.call("keep_totals_from", [day] * self.partitions)

    def run(self, until: int | None = None) -> "RegionModel":
        """Run every day (or up to, not including, day `until`), coupling the areas through their
        shared hospitals after each."""
        end = self.params.days if until is None else min(until, self.params.days)
        while self.day < end:
            reports = self.workers.call("step", self._settings)
            self._settings = self._per_group(couple(reports))
            self.day += 1
        self._results = None  # what was fetched before is out of date
        self._span_cache = {}
        return self

    def close(self) -> None:
        """Release the workers."""
        self.workers.close()

    # ------------------------------------------------------------------ results

    def results(self) -> list[dict]:
        """Per area: daily ledger, tables and the whole run's reduced totals (fetched once)."""
        if self._results is None:
            spans = sorted({(0, self.day), *self._periods()})
            self._results = self.workers.call("results", [spans] * self.partitions)
            for span in spans:
                self._span_cache[span] = [r["spans"][span] for r in self._results]
        return self._results

    def _periods(self) -> list[tuple[int, int]]:
        first = self.timeline.first_change_day
        return [(0, first), (first, self.day)] if first is not None and 0 < first < self.day else []

    def _span(self, start: int, end: int) -> list:
        self.results()
        if (start, end) not in self._span_cache:
            self._span_cache[(start, end)] = self.workers.call("spans", [[(start, end)]] * self.partitions)
            self._span_cache[(start, end)] = [s[(start, end)] for s in self._span_cache[(start, end)]]
        return self._span_cache[(start, end)]

    def daily(self) -> dict:
        """The region's daily ledger: the areas' added up (rates weighted by residents)."""
        res = self.results()
        return merge_daily([r["daily"] for r in res], [r["residents"] for r in res])

    def summary(self) -> dict:
        """Indicators for the whole run (with `areas`), before/after the first dated change, and
        `area_info` (names, kinds, populations)."""
        out = self.summary_between(0, self.day)
        periods = self._periods()
        if periods:
            out["periods"] = {"before": self.summary_between(*periods[0]), "after": self.summary_between(*periods[1])}
        out["changes"] = [{"day": d, "label": label} for d, label in self.results()[0]["changes"]]
        out["area_info"] = {a.id: {k: getattr(a, k) for k in AREA_KEYS} for a in self.areas}
        return out

    def summary_between(self, start: int, end: int) -> dict:
        """The region's indicators over days [start, end), and each area's under `areas`."""
        res, spans = self.results(), self._span(start, end)
        areas = {a.id: summarise(r["daily"], stats, r["residents"], start, end, fund_reserve_start=reserve)
                 for a, r, (stats, reserve) in zip(self.areas, res, spans)}
        total = summarise(self.daily(), PersonStats.merged([s for s, _ in spans]),
                          sum(r["residents"] for r in res), start, end,
                          fund_reserve_start=sum(reserve for _, reserve in spans))
        total["areas"] = areas
        return total

    def tables(self) -> dict[str, dict[str, list]]:
        """Facilities, referrals and settlements of every area, in the region's coordinates; a shared
        hospital is one row."""
        return merge_tables(self.plan, self.runs, [r["tables"] for r in self.results()])

    def scale_warnings(self) -> list[str]:
        """The areas' notes on lumpy queues at a scale above 1, as one note for the region."""
        notes = [w for r in self.results() for w in r["warnings"]]
        counts = [int(m.group(1)) for m in (re.search(r": (\d+) facilities", w) for w in notes) if m]
        if not counts:
            return notes
        return [re.sub(r": \d+ facilities", f": {sum(counts)} facilities in {len(counts)} areas", notes[0], count=1)]
