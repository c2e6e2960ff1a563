"""TierFlow: an agent-based simulation of patient flow across China's care tiers (分级诊疗).

The public API, for researchers working in Python:

    import sim
    timeline = sim.load("scenarios/xinxiang_2025.yaml", ["world.population=20000"], seed=1)
    model = sim.Model(timeline).run()          # build the county and run every day
    model.summary()["grassroots_share"]        # 基层诊疗人次占比, and every other indicator
    sim.compare("scenarios/baseline.yaml", "scenarios/xinxiang_2025.yaml", reps=5)  # paired replications
    sim.read_run("results/xinxiang_2025/<timestamp>")   # a run folder written by `run.py`

Names are imported when first used, so `python run.py validate` does not load Mesa.
The floors below (`sim.scenario`, `sim.county`, `sim.engine`, `sim.outputs`, `sim.studies`)
are the rest of the code; the README's "How it is built" says what each holds.
"""

from __future__ import annotations

import importlib

from sim.version import __version__

# name -> (module, attribute)
_API = {
    "load": ("sim.scenario.loader", "load"),
    "ScenarioError": ("sim.scenario.problems", "ScenarioError"),
    "Scenario": ("sim.scenario.schema", "Scenario"),
    "Timeline": ("sim.scenario.schema", "Timeline"),
    "Model": ("sim.engine.model", "TierFlowModel"),
    "TierFlowModel": ("sim.engine.model", "TierFlowModel"),
    "compare": ("sim.studies.paired", "compare"),
    "Comparison": ("sim.studies.paired", "Comparison"),
    "read_run": ("sim.outputs.results", "load_run"),
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    """Import a public name on first use (PEP 562)."""
    if name not in _API:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    module, attribute = _API[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
