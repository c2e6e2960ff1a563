"""The dashboard's "follow one resident" panel: one resident's episodes, day by day.

A few residents of different kinds (old and chronic, signed or not, young) are followed from
the moment the panel first shows (`TierFlowModel.follow`); the panel lists the chosen one's
journey: where each episode was first seen, referred, treated or forgone, the days waited,
the bill and what the resident paid.
"""

from __future__ import annotations

import numpy as np

from sim.county.population import OLDER_BANDS

FOLLOWED = 12  # residents followed per classroom model


def pick_residents(model, k: int = FOLLOWED) -> list[int]:
    """Up to `k` residents of different kinds, the same ones for the same county and seed:
    old chronic signed, old chronic unsigned, chronic, old, and the rest."""
    ppl = model.people
    older = np.isin(ppl.band, OLDER_BANDS)
    kinds = [older & ppl.chronic & ppl.signed, older & ppl.chronic & ~ppl.signed, ppl.chronic & ~older,
             older & ~ppl.chronic, ~older & ~ppl.chronic]
    per_kind = max(1, k // len(kinds))
    picked: list[int] = []
    for mask in kinds:
        picked += np.flatnonzero(mask)[:per_kind].tolist()
    return picked[:k]


def ensure_followed(model, k: int = FOLLOWED) -> list[int]:
    """The residents the panel shows, followed from the first call on."""
    ids = getattr(model, "_panel_residents", None)
    if ids is None:
        ids = pick_residents(model, k)
        model.follow(ids)
        model._panel_residents = ids
    return ids


def describe(model, i: int) -> str:
    """One line about resident `i`: who they are and their family-doctor team."""
    p = model.patient(i)
    team = int(model.teams.team_of[i])
    if team >= 0:
        t = model.teams
        service = (f"team of {model.world.fac_name[team]}: panel {int(t.panel[team])}/{t.capacity[team]:.0f}, "
                   f"delivery {t.delivery[team]:.0%}")
    else:
        service = "no family-doctor team"
    status = "signed and served" if p.served else ("signed, not served" if p.signed else "not signed")
    return (f"Resident {i}: age {p.age}, {p.scheme} insurance, {'chronic' if p.chronic else 'no chronic disease'}, "
            f"{status}; {service}; paid {p.out_of_pocket:,.0f} yuan since day 0")


def journey_lines(model, i: int) -> list[str]:
    """Resident `i`'s episodes as text lines, oldest first."""
    out = []
    for r in model.journey(i):
        sev = "" if r["severity"] is None else f", severity {r['severity']}"
        path = f"first seen at {r['first_seen']}" if r["first_seen"] else ""
        if r["referred_to"]:
            path += "; referred to " + " then ".join(r["referred_to"])
        where = f" at {r['treated_at']}" if r["treated_at"] else ""
        waited = f", waited {r['days_waited']} d" if r["days_waited"] else ""
        out.append(f"Day {r['day']}: {r['kind']}{sev}. {path + '. ' if path else ''}{r['outcome']}{where}{waited}; "
                   f"billed {r['billed']:,.0f}, paid {r['paid']:,.0f} yuan")
    return out or ["No episode since the resident was followed."]


def component():
    """The panel as a Solara component for the dashboard, called as `Panel(model=..., lang=...)`."""
    import solara
    from mesa.visualization.utils import update_counter

    @solara.component
    def FollowOneResident(model, lang: str = "en"):
        update_counter.get()
        ids = ensure_followed(model)
        chosen, set_chosen = solara.use_state(ids[0] if ids else None)
        with solara.Card("跟随一位居民 Follow one resident" if lang == "zh" else "Follow one resident"):
            if chosen is None:
                solara.Text("No resident to follow.")
                return
            solara.Select(label="Resident", value=str(chosen), values=[str(i) for i in ids],
                          on_value=lambda v: set_chosen(int(v)))
            lines = [describe(model, chosen)] + journey_lines(model, chosen)[-30:]
            with solara.Column(gap="2px", classes=["tierflow-resident-text"]):  # one line per episode
                for line in lines:
                    solara.Text(line)

    return FollowOneResident
