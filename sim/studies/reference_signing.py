"""The family doctor's first contact for the per-agent reference model (sim/studies/reference.py),
one episode at a time: the engine's `Choice.first_contact`.

Not covered: the chronic-care package (`signing.chronic_care`).
"""

from __future__ import annotations

import math

from sim.engine.behaviour import top_up


def own_clinic(m, patient) -> int:
    """The facility of the patient's family-doctor team (their own village clinic), -1 none."""
    return int(m.engine.world.own_village_clinic[int(m.engine.people.settlement[patient.i])])


def first_contact(m, patient, ep, utils: list[float], facilities: list[int], pick: int) -> int:
    """A served resident's episode within the team's reach that chose elsewhere (not forgone) goes
    to the team instead with the `top_up` chance; returns the (possibly new) pick."""
    share = m.engine.params.signing.first_contact.share
    clinic = own_clinic(m, patient)
    if (share <= 0.0 or not patient.signed or ep.chronic or ep.inpatient or clinic < 0 or pick == len(facilities)
            or facilities[pick] == clinic or ep.severity > m.engine.fac.capability[clinic]
            or clinic not in facilities):
        return pick
    options = utils[:len(facilities)]
    top = max(options)
    weights = [math.exp(u - top) for u in options]
    k = facilities.index(clinic)
    go = patient.random.random() < float(top_up(weights[k] / sum(weights), share))
    return k if go else pick

