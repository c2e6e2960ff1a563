"""Classroom dashboard: a Mesa SolaraViz page to watch policies move patients between tiers.

    python run.py dashboard [--port 8765]

Choose a scenario and a county size in the sidebar (Reset builds it), then Step (a week
at a time by default) or play. Move the policy levers at any time: the change takes
effect from the next day, is marked on the chart, and the shares, the flow between tiers
and the referral network (last 30 days) follow. Works offline: Solara's web assets come
from the `solara-assets` package, telemetry is off (see `serve`).

Needs the optional extra: `pip install -e ".[dashboard]"`.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from pathlib import Path
from typing import Any

# Solara reads these when it is imported: no calls home, no CDN (assets are served locally).
OFFLINE_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_ASSETS_PROXY": "True",
    "SOLARA_THEME_SHOW_BANNER": "False",
    "SOLARA_THEME_TITLE": "TierFlow",
}
for _key, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_key, _value)

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from sim.engine.metrics import group  # noqa: E402
from sim.engine.model import TierFlowModel  # noqa: E402
from sim.outputs.plots.flows import draw_flow, draw_network, flow_facts  # noqa: E402
from sim.outputs import resident_panel  # noqa: E402
from sim.outputs.plots.style import TIER_COLOURS, resolve_lang, rolling, tier_label, tier_visits  # noqa: E402
from sim.scenario.fields import parameter  # noqa: E402
from sim.scenario.loader import ScenarioError, load  # noqa: E402
from sim.scenario.overrides import with_overrides  # noqa: E402
from sim.scenario.schema import TIERS, Scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = Path(os.environ.get("TIERFLOW_SCENARIOS", ROOT / "scenarios"))
DEFAULT_SCENARIO = "xinxiang_2025.yaml"
CLASS_SIZE = 20_000          # residents: a year runs in about a second, so a class sees it move
WINDOW = 30                  # days the flow and the network summarise
STYLE = resolve_lang("en")[1]  # the figures' look, with a CJK fallback for Chinese place names
SIGNING_RAMP_DAYS = 90       # a signing campaign started from the dashboard reaches its target in a quarter
SLIDER_MAX = 0.95            # no slider reaches a full 100% (within each parameter's own range)

# The levers a class moves: name -> (label, the parameter paths it sets).
LEVERS = {
    "tertiary_outpatient": ("Tertiary outpatient reimbursement, residents",
                            ("insurance.resident.outpatient.tertiary.rate",
                             "insurance.resident.outpatient.tertiary.pooled")),
    "grassroots_outpatient": ("Grassroots outpatient reimbursement, residents",
                              ("insurance.resident.outpatient.village.rate",
                               "insurance.resident.outpatient.township.rate")),
    "signing_target": ("Family-doctor signing target", ("signing.target_rate", "signing.ramp_days")),
    "medical_community": ("County medical community (医共体)", ("medical_community.enabled",)),
}


def scenario_files() -> list[str]:
    """The scenario files a class can choose from: those in the scenarios folder that load."""
    good = []
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        try:
            load(path)
        except ScenarioError:
            continue  # a broken file is `run.py validate`'s business, not the class's
        good.append(path.name)
    return good or [DEFAULT_SCENARIO]


def lever_values(params: Scenario) -> dict[str, Any]:
    """Where each lever stands in a parameter set."""
    op = params.insurance.resident.outpatient
    return {
        "tertiary_outpatient": op.tertiary.rate if op.tertiary.pooled else 0.0,
        "grassroots_outpatient": op.village.rate,
        "signing_target": params.signing.target_rate,
        "medical_community": params.medical_community.enabled,
    }


def lever_settings(name: str, value: Any) -> dict[str, Any]:
    """The parameter values a lever position sets."""
    if name == "tertiary_outpatient":
        return {"insurance.resident.outpatient.tertiary.rate": float(value),
                "insurance.resident.outpatient.tertiary.pooled": float(value) > 0}
    if name == "grassroots_outpatient":
        return {"insurance.resident.outpatient.village.rate": float(value),
                "insurance.resident.outpatient.township.rate": float(value)}
    if name == "signing_target":
        return {"signing.target_rate": float(value), "signing.ramp_days": SIGNING_RAMP_DAYS}
    if name == "medical_community":
        return {"medical_community.enabled": bool(value)}
    raise KeyError(f"unknown lever {name!r}; allowed: {', '.join(LEVERS)}")


def with_settings(params: Scenario, settings: dict[str, Any]) -> Scenario:
    """A copy of a parameter set with dotted paths set (validated like a scenario file)."""
    return with_overrides(params, settings, where="dashboard lever")


def slider_range(name: str) -> tuple[float, float]:
    """A slider's ends: its first parameter's range in the schema, the top end at most SLIDER_MAX."""
    lo, hi, _ = parameter(LEVERS[name][1][0]).bounds
    return float(lo if lo is not None else 0.0), min(float(hi) if hi is not None else SLIDER_MAX, SLIDER_MAX)


class ClassroomModel(TierFlowModel):
    """TierFlow for class: built from a scenario file, warmed up, levers movable while it runs."""

    # Not `scenario`: Mesa's SolaraViz fills a parameter of that name with its own Scenario object.
    def __init__(self, scenario_file: str = DEFAULT_SCENARIO, residents: int = CLASS_SIZE, seed: int = 1):
        """Load `scenario_file` from the scenarios folder with about `residents` agents; run the warm-up.

        A synthetic county is generated at that size; a county loaded from CSV files keeps its
        real population, one agent standing for several residents.
        """
        path = SCENARIO_DIR / scenario_file
        own = load(path, seed=int(seed)).base
        if own.world.files is not None:
            sizing = [f"scale={max(1, round(own.world.population / int(residents)))}"]
        else:
            sizing = [f"world.population={int(residents)}"]
        timeline = load(path, sizing, seed=int(seed))
        super().__init__(timeline, agents=False)
        self.scenario_file = scenario_file
        self.scheduled = dict(self.changes)  # the scenario's own dated changes
        self.lever_settings: dict[str, Any] = {}
        self.recent: deque = deque(maxlen=WINDOW + 1)  # (visits, admissions, referrals) at the end of each day
        while self.day < 0:  # the warm-up is not the class's business: start at day 0
            TierFlowModel.step(self)
        # Accounts start from zero on day 0 (the warm-up is not recorded).
        self.recent.append((np.zeros(self.world.n_facilities), np.zeros(self.world.n_facilities), {}))

    def step(self) -> None:
        """One day, then remember the totals the last-30-days views need."""
        super().step()
        self._remember()

    def _remember(self) -> None:
        ref = self.referral_table()  # the public table, scaled to residents
        pairs = {(a, b): c for a, b, c in zip(ref["from_id"], ref["to_id"], ref["count"])}
        self.recent.append((self.fac.visits.copy(), self.fac.admissions.copy(), pairs))

    # ---------------------------------------------------------------- levers

    def levers(self) -> dict[str, Any]:
        """Where the levers stand, a change waiting for tomorrow included."""
        pending = self.changes.get(self.day)
        return lever_values(pending[1] if pending else self.params)

    def move_lever(self, name: str, value: Any) -> None:
        """Set a lever from the next day on (a dated change, like a scenario's own)."""
        if self.day >= self.params.days:
            return
        self.lever_settings.update(lever_settings(name, value))
        label = f"{LEVERS[name][0]}: " + (("on" if value else "off") if isinstance(value, bool) else f"{value:.0%}")
        pending = self.changes.get(self.day)
        current = pending[1] if pending else self.params
        if pending and pending[0] != label:
            label = f"{pending[0]}; {label}"
        self.changes[self.day] = (label, with_settings(current, self.lever_settings))
        # The scenario's later changes keep the class's levers where the class put them.
        for day, (own_label, own) in self.scheduled.items():
            if day > self.day:
                self.changes[day] = (own_label, with_settings(own, self.lever_settings))

    # ------------------------------------------------------------- what shows

    def window_tables(self) -> dict[str, dict[str, list]]:
        """Facility, referral and settlement tables over the last WINDOW days."""
        fac = self.facility_table()
        if len(self.recent) > 1:
            v0, a0, r0 = self.recent[0]
            v1, a1, r1 = self.recent[-1]
            k = self.params.scale
            fac["visits"] = ((v1 - v0) * k).tolist()
            fac["admissions"] = ((a1 - a0) * k).tolist()
            pairs = sorted(p for p in r1 if r1[p] - r0.get(p, 0) > 0)
            tier = dict(zip(self.world.fac_id, self.world.fac_tier))
            ref = {"from_id": [a for a, _ in pairs], "to_id": [b for _, b in pairs],
                   "direction": ["up" if tier[b] > tier[a] else "down" for a, b in pairs],
                   "count": [r1[p] - r0.get(p, 0) for p in pairs]}
        else:
            ref = {"from_id": [], "to_id": [], "direction": [], "count": []}
        return {"facilities": fac, "referrals": ref, "settlements": self.settlement_table()}

    def recorded(self) -> dict[str, np.ndarray]:
        """The daily columns of the days run so far."""
        return {c: v[: max(self.day, 0)] for c, v in self.daily().items()}


# ------------------------------------------------------------------ drawings

def shares_figure(model: ClassroomModel) -> tuple[Figure, str]:
    """Tier shares of visits (7-day) from day 0 to today, lever and policy days marked; and a summary line."""
    daily = model.recorded()
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")  # Figure, not pyplot: sessions draw in threads
    style = {k: v * 0.8 if isinstance(v, (int, float)) and "size" in k else v for k, v in STYLE.items()}
    top = 0.6
    with matplotlib.rc_context(style):
        ax = fig.add_subplot()
        days = daily["day"]
        if len(days):
            visits = {t: rolling(v) for t, v in tier_visits(daily).items()}
            total = np.maximum(sum(visits.values()), 1e-9)
            for t in TIERS:
                ax.plot(days, visits[t] / total, color=TIER_COLOURS[t], linewidth=2.5, label=tier_label(t))
                top = max(top, float(np.max(visits[t] / total)) * 1.15)
        for day, label in model.change_log:
            if day >= 0:
                ax.axvline(day, color="black", linestyle="--", linewidth=1.5, gid="policy-change")
        ax.set_xlim(0, model.params.days)
        ax.set_ylim(0, min(top, 1.0))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel("Day")
        ax.set_ylabel("Share of visits (7-day)")
        if len(days):
            ax.legend(loc="upper right", fontsize=10, ncols=2)
        ax.set_title("Where visits happen", loc="left")
    raw = tier_visits(daily)
    span = slice(max(len(days) - 7, 0), len(days))
    g = raw["village"][span].sum() + raw["township"][span].sum()
    share = g / max(g + raw["county"][span].sum(), 1e-9)
    text = (f"Day {max(model.day, 0)} of {model.params.days} · grassroots share of in-county visits, last 7 days: "
            f"{share:.1%} · policy changes so far: {sum(1 for d, _ in model.change_log if d >= 0)}")
    return fig, text


def flow_figure(model: ClassroomModel) -> tuple[Figure, str]:
    """Sankey of the last WINDOW days: first-contact tier to the tier that treated."""
    daily = model.recorded()
    n = len(daily["day"])
    m = group(daily, "flow", max(n - WINDOW, 0), n) if n else np.zeros((4, 4))
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    with matplotlib.rc_context(STYLE):
        ax = fig.add_subplot()
        if m.sum() > 0:
            draw_flow(ax, m)
        else:
            ax.set_axis_off()
        ax.set_title(f"Flow between tiers, last {WINDOW} days", loc="left", fontsize=14, pad=28)
    facts = flow_facts(m)
    return fig, (f"{facts['hospital_first']:.1%} of episodes began at a hospital; "
                 f"{facts['moved']:.1%} moved to another tier")


def network_figure(model: ClassroomModel) -> tuple[Figure, str]:
    """The referral network, last WINDOW days."""
    tables = model.window_tables()
    fig = Figure(figsize=(7.5, 6.0), layout="constrained")
    with matplotlib.rc_context(STYLE):
        ax = fig.add_subplot()
        geo = model.params.world.files is not None  # CSV counties are placed by longitude/latitude
        lines = draw_network(ax, tables, geo=geo, routes=False, label_size=9, fast=True, legend_below=True)
        ax.set_title(f"Referral network, last {WINDOW} days", loc="left", fontsize=14)
        ax.tick_params(labelsize=9)
        ax.xaxis.label.set_fontsize(10)
        ax.yaxis.label.set_fontsize(10)
    total = sum(tables["referrals"]["count"])
    return fig, f"{total:,.0f} referrals in the last {WINDOW} days ({lines['up']} routes up, {lines['down']} down)"


# ------------------------------------------------------------------ the page

def _components():
    """The SolaraViz components: levers, shares, flow, network."""
    import solara
    from mesa.visualization.utils import force_update, update_counter

    @solara.component
    def Levers(model: ClassroomModel):
        update_counter.get()  # redraw after every step, like Mesa's own components
        values = model.levers()

        def mover(name):
            def move(value):
                model.move_lever(name, value)
                force_update()
            return move

        with solara.Card("Policy levers (take effect tomorrow)"):
            for name in ("tertiary_outpatient", "grassroots_outpatient", "signing_target"):
                low, high = slider_range(name)
                solara.SliderFloat(f"{LEVERS[name][0]}: {values[name]:.0%}", value=values[name],
                                   on_value=mover(name), min=low, max=high, step=0.05, thumb_label=False)
            solara.Checkbox(label=LEVERS["medical_community"][0], value=values["medical_community"],
                            on_value=mover("medical_community"))
            solara.Text(  # plain text: Markdown would fetch KaTeX from a CDN
                f"Scenario {model.params.name}, {model.people.n * model.params.scale:,} residents, day "
                f"{max(model.day, 0)}. "
                f"Now: tertiary {values['tertiary_outpatient']:.0%}, grassroots {values['grassroots_outpatient']:.0%}, "
                f"signing target {values['signing_target']:.0%} (signed now {model.signed_count / model.people.n:.0%};"
                f" signing only rises), medical community {'on' if values['medical_community'] else 'off'}.",
                classes=["tierflow-levers-text"])

    def plot(maker, name):
        @solara.component
        def View(model: ClassroomModel):
            update_counter.get()
            fig, text = maker(model)
            with solara.Column(classes=[f"tierflow-{name}"]):
                solara.FigureMatplotlib(fig, format="png", dependencies=[model.day, len(model.change_log), id(model)])
                solara.Text(text, classes=[f"tierflow-{name}-text"])
        View.__name__ = name
        return View

    return [(Levers, 0), (plot(shares_figure, "shares"), 0), (plot(flow_figure, "flow"), 0),
            (plot(network_figure, "network"), 0)] + resident_panel.components()


def make_page():
    """The page component: one classroom model per browser session, in a SolaraViz."""
    import mesa.visualization.solara_viz as viz
    import solara
    from mesa.visualization import SolaraViz

    viz.make_initial_grid_layout = _layout  # Mesa's default cells are too small to read the charts
    components = _components()
    files = scenario_files()
    default = DEFAULT_SCENARIO if DEFAULT_SCENARIO in files else files[0]
    model_params = {
        "scenario_file": {"type": "Select", "value": default, "values": files, "label": "Scenario (then Reset)"},
        "residents": {"type": "SliderInt", "value": CLASS_SIZE, "min": 5_000, "max": 100_000, "step": 5_000,
                      "label": "Residents simulated (then Reset)"},
        "seed": {"type": "SliderInt", "value": 1, "min": 1, "max": 100, "step": 1, "label": "Seed (then Reset)"},
    }

    @solara.component
    def Page():
        model = solara.use_memo(lambda: ClassroomModel(default), [])
        SolaraViz(model, components=components, model_params=model_params, name="TierFlow classroom",
                  play_interval=150, render_interval=7)

    return Page


def _layout(n: int) -> list[dict]:
    """Levers and charts in two columns, tall enough to read."""
    return [{"i": i, "w": 6, "h": 16, "moved": False, "x": 6 * (i % 2), "y": 16 * (i // 2)} for i in range(n)]


_PAGE = None


def __getattr__(name: str):
    # `solara run sim.outputs.dashboard` asks for `Page`; it is built on first request, so importing
    # this module (tests, the command line) needs neither solara nor a model.
    global _PAGE
    if name == "Page":
        if _PAGE is None:
            _PAGE = make_page()
        return _PAGE
    raise AttributeError(name)


def serve(host: str = "127.0.0.1", port: int = 8765) -> None:
    """Start the dashboard server in this process's place (Ctrl+C stops it)."""
    env = {**os.environ, **OFFLINE_ENV}
    args = [sys.executable, "-m", "solara", "run", "sim.outputs.dashboard", "--host", host, "--port", str(port),
            "--production", "--no-open"]
    os.execve(sys.executable, args, env)
