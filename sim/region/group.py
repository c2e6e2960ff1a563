"""Some of a region's areas, each a county model, stepped together: one worker's share of a region.

A group builds its areas' models itself (so a worker holds only its own residents), steps them
one day at a time with the shared hospitals' settings the region sends (`step`), reports what
each area's copy of every shared hospital saw (`sim.region.coupling.REPORT`), and at the end
hands back what the region's summaries and tables need (`results`).
"""

from __future__ import annotations

import resource
import time

import numpy as np

from sim.county.region_areas import AreaRun, area_world
from sim.county.routing import TERTIARY
from sim.engine.model import TierFlowModel
from sim.engine.streams import Streams
from sim.region.coupling import REPORT
from sim.region.heap import restore_fast_heap
from sim.scenario.region_files import RegionPlan


class AreaGroup:
    """The county models of some areas of a region (see the module docstring)."""

    def __init__(self, runs: list[AreaRun], plan: RegionPlan):
        restore_fast_heap()  # on a Dask worker (see sim.region.heap)
        self.runs = runs
        self.n_hospitals = len(plan.hospitals)
        self.models: list[TierFlowModel] = []
        self.shared: list[np.ndarray] = []   # facility index of each shared hospital in the area's world
        self.busy = [0.0] * len(runs)        # seconds spent stepping each area (for the benchmark)
        for run in runs:
            world = area_world(run, plan, Streams(run.timeline.base.seed).get("world"))
            self.models.append(TierFlowModel(run.timeline, world=world, agents=False))
            self.shared.append(np.flatnonzero(world.fac_tier == TERTIARY))

    def keep_totals_from(self, day: int) -> list[None]:
        """Keep per-resident totals from `day` in every area (a period's summary starts there)."""
        return [model.keep_totals_from(day) for model in self.models]

    def step(self, settings: list[np.ndarray] | None) -> list[np.ndarray]:
        """Apply the shared hospitals' settings (one array per area, rows by region hospital: capacity,
        beds, load, backlog, expansion; None on the first day; NaN rows are left alone), run one day
        in every area, report."""
        reports = []
        for a, model in enumerate(self.models):
            fac, idx, ks = model.fac, self.shared[a], self.runs[a].shared
            shared = np.flatnonzero(~np.isnan(settings[a][ks, 0])) if settings is not None else []
            if len(shared):  # NaN rows: a hospital no other area reaches keeps its own state
                s, i = settings[a][ks][shared], idx[shared]
                fac.expansion[i] = s[:, 4]
                fac.pin(i, s[:, 0], s[:, 1].astype(np.int64))
                fac.load[i], fac.backlog[i] = s[:, 2], s[:, 3]
            started = time.perf_counter()
            model.step()
            self.busy[a] += time.perf_counter() - started
            report = np.full((self.n_hospitals, len(REPORT)), np.nan)
            report[ks] = np.column_stack([fac.own_capacity[idx], fac.own_beds[idx], fac.capacity[idx],
                                          fac.demand[idx], fac.waiting[idx], fac.bed_demand[idx],
                                          fac.occupied[idx], fac.load[idx], fac.expansion[idx]])
            reports.append(report)
        return reports

    def results(self, spans: list[tuple[int, int]]) -> list[dict]:
        """Per area: the daily ledger, the reduced resident totals and fund reserve for each span,
        the change log, the tables (facilities, referrals, settlements), and for the benchmark the
        seconds spent stepping it and the peak memory of the process it ran in."""
        out = []
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for model, busy in zip(self.models, self.busy):
            daily = model.daily()
            out.append({"daily": daily, "residents": model.residents_count, "agents": model.people.n,
                        "spans": {span: model.span_inputs(*span, daily) for span in spans},
                        "changes": list(model.change_log), "days_run": model.day,
                        "coordinates": model.world.coordinates,
                        "tables": {"facilities": model.facility_table(), "referrals": model.referral_table(),
                                   "settlements": model.settlement_table()},
                        "warnings": model.scale_warnings(), "busy_s": busy, "peak_rss_mb": peak_mb})
        return out

    def spans(self, spans: list[tuple[int, int]]) -> list[dict]:
        """Per area, the reduced resident totals and fund reserve for more spans."""
        return [{span: model.span_inputs(*span) for span in spans} for model in self.models]
