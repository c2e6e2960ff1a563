"""Followed residents' journeys: each episode, where it went and what it cost.

`model.follow(ids)` marks residents in a boolean mask; each day the model hands this
recorder the day's new episodes and, after care, the queue, the transfers and the ward, and
only the followed rows are read. An episode stays open while its patient waits, is
transferred up or lies in a bed; what the patient pays on a day goes to their latest
episode (`paid` adds up to `people.oop`, from day 0).
"""

from __future__ import annotations

import numpy as np

from sim.engine.episodes import Batch
from sim.scenario.schema import TIERS

KINDS = ("acute", "chronic follow-up")


class Journeys:
    """Episodes of the followed residents, as dicts."""

    def __init__(self, people, world):
        self.people, self.world = people, world
        self.followed = np.zeros(people.n, dtype=bool)
        self.ids = np.zeros(0, np.int64)
        self.records: dict[int, list[dict]] = {}
        self.open: dict[int, list[dict]] = {}
        self.before = (np.zeros(0), np.zeros(0))

    def follow(self, ids) -> None:
        """Start recording the episodes of residents `ids`."""
        ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        self.followed[ids] = True
        self.ids = np.flatnonzero(self.followed)
        for i in ids.tolist():
            self.records.setdefault(i, [])
            self.open.setdefault(i, [])

    @property
    def active(self) -> bool:
        """Anyone followed at all (the stages skip the recorder otherwise)."""
        return len(self.ids) > 0

    def journey(self, i: int) -> list[dict]:
        """The episodes recorded for resident `i`, oldest first."""
        return [{k: v for k, v in r.items() if not k.startswith("_")} for r in self.records.get(int(i), [])]

    def _where(self, f: int) -> str:
        return f"{self.world.fac_name[int(f)]} ({TIERS[int(self.world.fac_tier[int(f)])]})"

    def start_day(self) -> None:
        """Keep the followed residents' accounts at the day's start (for what they pay today)."""
        ppl = self.people
        self.before = (ppl.oop[self.ids].astype(np.float64), ppl.reimbursed_setting[self.ids].sum(axis=1))

    def onsets(self, day: int, eps: Batch, went: Batch) -> None:
        """Today's new episodes of followed residents, and where each went first (or forgone)."""
        rows = np.flatnonzero(self.followed[eps.person])
        gone = {}
        for r in np.flatnonzero(self.followed[went.person]).tolist():
            gone.setdefault(int(went.person[r]), []).append(int(went.facility[r]))
        for r in rows.tolist():
            p = int(eps.person[r])
            first = gone.get(p, [])
            f = first.pop(0) if first else None
            rec = {"day": day, "kind": KINDS[int(eps.chronic[r])], "severity": int(eps.severity[r]),
                   "inpatient_need": bool(eps.inpatient[r]), "first_seen": None if f is None else self._where(f),
                   "outcome": "forgone" if f is None else "in care", "treated_at": None, "referred_to": [],
                   "days_waited": 0, "billed": 0.0, "paid": 0.0, "_at": f}
            self.records[p].append(rec)
            if f is not None:
                self.open[p].append(rec)

    def after_care(self, day: int, queue: Batch, transfers: Batch, ward: np.ndarray) -> None:
        """Follow open episodes through the day's care, and book what each resident paid today."""
        waiting = self._by_person(queue.person, queue.facility)
        sent = self._by_person(transfers.person, transfers.facility)
        in_bed = self._by_person(ward["person"], ward["facility"])
        ppl = self.people
        paid = ppl.oop[self.ids].astype(np.float64) - self.before[0]
        fund = ppl.reimbursed_setting[self.ids].sum(axis=1) - self.before[1]
        for k, p in enumerate(self.ids.tolist()):
            spent = float(paid[k])
            for rec in list(self.open[p]):
                if p in sent:
                    rec["referred_to"].append(self._where(sent[p]))
                    rec["_at"] = sent[p]
                elif p in waiting:
                    rec["days_waited"] += 1
                    rec["_at"] = waiting[p]
                else:
                    admitted = p in in_bed
                    at = in_bed[p] if admitted else rec["_at"]
                    gave_up = not admitted and spent == 0 and rec["days_waited"] > 0
                    rec["outcome"] = "admitted" if admitted else ("gave up waiting" if gave_up else "treated")
                    rec["treated_at"] = None if gave_up else self._where(at)
                    self.open[p].remove(rec)
            if spent or fund[k]:
                self._book(p, day, spent, spent + max(float(fund[k]), 0.0))

    def _book(self, p: int, day: int, paid: float, billed: float) -> None:
        """Add a day's payment to the resident's latest episode (a stay from before following
        or the warm-up gets an entry of its own)."""
        recs = [r for r in self.records[p] if r["outcome"] != "forgone"]
        if not recs:
            recs = self.records[p]
            recs.append({"day": day, "kind": "care begun earlier", "severity": None, "inpatient_need": None,
                         "first_seen": None, "outcome": "treated", "treated_at": None, "referred_to": [],
                         "days_waited": 0, "billed": 0.0, "paid": 0.0, "_at": None})
        recs[-1]["paid"] += paid
        recs[-1]["billed"] += billed

    def _by_person(self, person: np.ndarray, facility: np.ndarray) -> dict[int, int]:
        rows = np.flatnonzero(self.followed[person])
        return {int(person[r]): int(facility[r]) for r in rows.tolist()}

    def reset_accounts(self) -> None:
        """Day 0: accounts start from zero, and so do the journeys' payments."""
        for recs in self.records.values():
            recs.clear()
        for opened in self.open.values():
            opened.clear()
