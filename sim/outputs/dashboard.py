"""Classroom dashboard: a Mesa SolaraViz page to watch policies move patients between tiers.

    python run.py dashboard [--port 8765]

Teacher's controls in plain words: Play / Pause, play speed, "Step a week", Reset (which
builds the county chosen in the sidebar). Move the policy levers at any time: the change takes
effect from the next day, is marked on the chart, and the shares, the flow between tiers and
the referral network (last 30 days) follow. A 中文/English button switches every label.
Works offline: Solara's web assets come from the `solara-assets` package, telemetry is off
(see `serve`). Mesa's model and its redraw signal drive the page; Mesa's developer controls
(play interval in ms, render interval, threads) are not shown.

Needs the optional extra: `pip install -e ".[dashboard]"`.
"""

from __future__ import annotations

import os
import sys
import time
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

from sim.engine.indicators import label  # noqa: E402
from sim.engine.metrics import group  # noqa: E402
from sim.engine.model import TierFlowModel  # noqa: E402
from sim.outputs.dashboard_words import say  # noqa: E402
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
STYLES = {lang: resolve_lang(lang)[1] for lang in ("en", "zh")}  # the figures' look; CJK for place names
SIGNING_RAMP_DAYS = 90       # a signing campaign started from the dashboard reaches its target in a quarter
SLIDER_MAX = 0.95            # no slider reaches a full 100% (within each parameter's own range)
WEEK = 7                     # days one "Step a week" runs
SPEEDS = (1, 2, 4, 8)        # play speeds a class chooses from, in weeks a second

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
    """The scenario files a class can choose from: those in the scenarios folder that load and are
    one county (the dashboard steps one county's model; a region's figures come with its run)."""
    good = []
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        try:
            if load(path).base.region is not None:
                continue
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
        pairs = {(a, b, kind): c for a, b, kind, c in zip(ref["from_id"], ref["to_id"], ref["kind"], ref["count"])}
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
            ref = {"from_id": [a for a, _, _ in pairs], "to_id": [b for _, b, _ in pairs],
                   "direction": ["up" if tier[b] > tier[a] else "down" for a, b, _ in pairs],
                   "kind": [kind for _, _, kind in pairs], "count": [r1[p] - r0.get(p, 0) for p in pairs]}
        else:
            ref = {"from_id": [], "to_id": [], "direction": [], "kind": [], "count": []}
        return {"facilities": fac, "referrals": ref, "settlements": self.settlement_table()}

    def recorded(self) -> dict[str, np.ndarray]:
        """The daily columns of the days run so far."""
        return {c: v[: max(self.day, 0)] for c, v in self.daily().items()}


# ------------------------------------------------------------------ drawings

def _style(lang: str, shrink: float = 1.0) -> dict:
    return {k: v * shrink if isinstance(v, (int, float)) and "size" in k else v for k, v in STYLES[lang].items()}


def shares_figure(model: ClassroomModel, lang: str = "en") -> tuple[Figure, str]:
    """Tier shares of visits (7-day) from day 0 to today, lever and policy days marked; and a summary line."""
    daily = model.recorded()
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")  # Figure, not pyplot: sessions draw in threads
    top = 0.6
    with matplotlib.rc_context(_style(lang, 0.8)):
        ax = fig.add_subplot()
        days = daily["day"]
        if len(days):
            visits = {t: rolling(v) for t, v in tier_visits(daily).items()}
            total = np.maximum(sum(visits.values()), 1e-9)
            for t in TIERS:
                ax.plot(days, visits[t] / total, color=TIER_COLOURS[t], linewidth=2.5, label=tier_label(t, lang))
                top = max(top, float(np.max(visits[t] / total)) * 1.15)
        for day, _ in model.change_log:
            if day >= 0:
                ax.axvline(day, color="black", linestyle="--", linewidth=1.5, gid="policy-change")
        ax.set_xlim(0, model.params.days)
        ax.set_ylim(0, min(top, 1.0))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel(say("day", lang))
        ax.set_ylabel(say("share_of_visits", lang))
        if len(days):
            ax.legend(loc="upper right", fontsize=10, ncols=2)
        ax.set_title(say("shares_axes", lang), loc="left")
    raw = tier_visits(daily)
    span = slice(max(len(days) - 7, 0), len(days))
    g = raw["village"][span].sum() + raw["township"][span].sum()
    share = g / max(g + raw["county"][span].sum(), 1e-9)
    text = say("shares_text", lang, day=max(model.day, 0), days=model.params.days,
               indicator=label("grassroots_share", lang), share=f"{share:.1%}",
               changes=sum(1 for d, _ in model.change_log if d >= 0))
    return fig, text[0].upper() + text[1:]


def flow_figure(model: ClassroomModel, lang: str = "en") -> tuple[Figure, str]:
    """Sankey of the last WINDOW days: first-contact tier to the tier that treated."""
    daily = model.recorded()
    n = len(daily["day"])
    m = group(daily, "flow", max(n - WINDOW, 0), n) if n else np.zeros((4, 4))
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    with matplotlib.rc_context(_style(lang)):
        ax = fig.add_subplot()
        if m.sum() > 0:
            draw_flow(ax, m, lang)
        else:
            ax.set_axis_off()
        ax.set_title(say("flow_axes", lang, window=WINDOW), loc="left", fontsize=14, pad=28)
    facts = flow_facts(m)
    return fig, say("flow_text", lang, first=f"{facts['hospital_first']:.1%}", moved=f"{facts['moved']:.1%}")


def network_figure(model: ClassroomModel, lang: str = "en") -> tuple[Figure, str]:
    """The referral network, last WINDOW days."""
    tables = model.window_tables()
    fig = Figure(figsize=(7.5, 6.0), layout="constrained")
    with matplotlib.rc_context(_style(lang)):
        ax = fig.add_subplot()
        geo = model.params.world.files is not None  # CSV counties are placed by longitude/latitude
        lines = draw_network(ax, tables, lang=lang, geo=geo, routes=False, label_size=9, fast=True,
                             legend_below=True)
        ax.set_title(say("network_axes", lang, window=WINDOW), loc="left", fontsize=14)
        ax.tick_params(labelsize=9)
        ax.xaxis.label.set_fontsize(10)
        ax.yaxis.label.set_fontsize(10)
    total = sum(tables["referrals"]["count"])
    return fig, say("network_text", lang, total=f"{total:,.0f}", window=WINDOW, up=lines["up"], down=lines["down"])


def step_days(model: ClassroomModel, days: int = WEEK) -> None:
    """Run up to `days` days, stopping at the end of the scenario."""
    for _ in range(days):
        if model.day >= model.params.days:
            return
        model.step()


def finished(model: ClassroomModel) -> bool:
    """Whether the scenario's days have all run."""
    return model.day >= model.params.days


# ------------------------------------------------------------------ the page
#
# The "follow one resident" panel (sim/outputs/resident_panel.py), a Solara component called as
# RESIDENT_PANEL(model=..., lang=...); the page shows it beside the referral network.
RESIDENT_PANEL = resident_panel.component()


def _county_params(lang: str, setup: dict) -> dict:
    """The county set-up inputs (Mesa's UserInputs), labelled in `lang`."""
    files = scenario_files()
    return {
        "scenario_file": {"type": "Select", "value": setup["scenario_file"], "values": files,
                          "label": say("scenario_file", lang)},
        "residents": {"type": "SliderInt", "value": setup["residents"], "min": 5_000, "max": 100_000, "step": 5_000,
                      "label": f"{say('residents', lang)}: {setup['residents']:,}"},
        "seed": {"type": "SliderInt", "value": setup["seed"], "min": 1, "max": 100, "step": 1,
                 "label": f"{say('seed', lang)}: {setup['seed']}"},
    }


def _controls():
    """The teacher's controls (play, speed, step a week, reset) and the policy levers, as Solara components."""
    import solara
    from mesa.visualization.utils import force_update, update_counter

    @solara.component
    def Controls(model, playing, speed, on_reset, lang: str):
        with solara.Card(say("run", lang)):
            with solara.Row(justify="space-between"):
                solara.Button(say("pause" if playing.value else "play", lang), color="primary",
                              on_click=lambda: playing.set(not playing.value), disabled=finished(model),
                              classes=["tierflow-play"])
                solara.Button(say("step_week", lang), color="primary", disabled=playing.value or finished(model),
                              on_click=lambda: (step_days(model), force_update()), classes=["tierflow-step"])
                solara.Button(say("reset", lang), on_click=on_reset, classes=["tierflow-reset"])
            n = SPEEDS[speed.value]
            with solara.Column(gap="0px", classes=["tierflow-speed"]):
                solara.Text(say("speed" if n > 1 else "speed_one", lang, n=n))
                solara.SliderInt("", value=speed.value, on_value=speed.set, min=0, max=len(SPEEDS) - 1, step=1,
                                 thumb_label=False)
            if finished(model):
                solara.Text(say("finished", lang))

    @solara.component
    def Levers(model: ClassroomModel, lang: str):
        update_counter.get()
        values = model.levers()

        def mover(name):
            def move(value):
                model.move_lever(name, value)
                force_update()
            return move

        with solara.Card(say("levers", lang)):
            for name in ("tertiary_outpatient", "grassroots_outpatient", "signing_target"):
                low, high = slider_range(name)
                with solara.Column(gap="0px", classes=[f"tierflow-lever-{name}"]):
                    solara.Text(f"{say(name, lang)}: {values[name]:.0%}")
                    solara.SliderFloat("", value=values[name], on_value=mover(name), min=low, max=high, step=0.05,
                                       thumb_label=False)
            solara.Checkbox(label=say("medical_community", lang), value=values["medical_community"],
                            on_value=mover("medical_community"))
            solara.Text(  # plain text: Markdown would fetch KaTeX from a CDN
                say("levers_now", lang, name=model.params.name, residents=f"{model.people.n * model.params.scale:,}",
                    day=max(model.day, 0), tertiary=f"{values['tertiary_outpatient']:.0%}",
                    grassroots=f"{values['grassroots_outpatient']:.0%}", target=f"{values['signing_target']:.0%}",
                    signed=f"{model.signed_count / model.people.n:.0%}",
                    community=say("on" if values["medical_community"] else "off", lang)),
                classes=["tierflow-levers-text"])

    return Controls, Levers


def _views():
    """The three figure views (shares, flow, network) as Solara components."""
    import solara
    from mesa.visualization.utils import update_counter

    def view(maker, name):
        @solara.component
        def View(model: ClassroomModel, lang: str):
            update_counter.get()  # redraw after every step
            fig, text = maker(model, lang)
            with solara.Column(classes=[f"tierflow-{name}"]):
                solara.FigureMatplotlib(fig, format="png",
                                        dependencies=[model.day, len(model.change_log), id(model), lang])
                solara.Text(text, classes=[f"tierflow-{name}-text"])
        View.__name__ = name
        return View

    return view(shares_figure, "shares"), view(flow_figure, "flow"), view(network_figure, "network")


def _page(controls, levers, views):
    """The page: app bar with the language switch, sidebar with the controls, the views in two rows."""
    import solara
    from mesa.visualization.solara_viz import UserInputs
    from mesa.visualization.utils import force_update

    Controls, Levers, (shares, flow, network) = controls, levers, views

    @solara.component
    def Page():
        lang = solara.use_reactive("en")
        setup = solara.use_reactive({"scenario_file": _default_file(), "residents": CLASS_SIZE, "seed": 1})
        model = solara.use_reactive(solara.use_memo(lambda: ClassroomModel(setup.value["scenario_file"]), []))
        playing = solara.use_reactive(False)
        speed = solara.use_reactive(1)

        def play():
            while playing.value and not finished(model.value):
                time.sleep(1.0 / SPEEDS[speed.value])
                step_days(model.value)
                force_update()
            playing.set(False)
        solara.lab.use_task(play, dependencies=[playing.value], prefer_threaded=True)

        def reset():
            playing.set(False)
            model.set(ClassroomModel(**setup.value))
            force_update()

        solara.Title(say("title", lang.value))
        with solara.AppBar():
            solara.AppBarTitle(say("title", lang.value))
            solara.Button(say("switch_to", lang.value), text=True, classes=["tierflow-lang"],
                          on_click=lambda: lang.set("zh" if lang.value == "en" else "en"))
        with solara.Sidebar():
            Controls(model.value, playing, speed, reset, lang.value)
            Levers(model.value, lang.value)
            with solara.Card(say("county", lang.value)):
                UserInputs(_county_params(lang.value, setup.value),
                           on_change=lambda name, value: setup.set({**setup.value, name: value}))
        with solara.Columns([1, 1]):
            shares(model.value, lang.value)
            flow(model.value, lang.value)
        with solara.Columns([1, 1]):
            network(model.value, lang.value)
            if RESIDENT_PANEL is not None:
                with solara.Column(classes=["tierflow-resident-slot"]):
                    RESIDENT_PANEL(model=model.value, lang=lang.value)

    return Page


def _default_file() -> str:
    files = scenario_files()
    return DEFAULT_SCENARIO if DEFAULT_SCENARIO in files else files[0]


def make_page():
    """The page component: one classroom model per browser session."""
    return _page(*_controls(), _views())


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
    # Solara warns on every page load from an address other than "localhost" (127.0.0.1, a classroom
    # LAN) that it cannot set a cross-site cookie over http: expected here, and noise in the terminal.
    quiet = "ignore:Cookies with samesite=none require https:UserWarning"
    env["PYTHONWARNINGS"] = ",".join(w for w in (os.environ.get("PYTHONWARNINGS"), quiet) if w)
    args = [sys.executable, "-m", "solara", "run", "sim.outputs.dashboard", "--host", host, "--port", str(port),
            "--production", "--no-open"]
    os.execve(sys.executable, args, env)
