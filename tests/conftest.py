"""Shared helpers: small counties that run in well under a second."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from sim.engine.metrics import Ledger
from sim.engine.model import TierFlowModel
from sim.scenario.loader import load
from sim.scenario.overrides import with_overrides
from sim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
Ledger.checked = True  # every test run checks that each count lands in its own group


def dotted(keywords: dict) -> dict:
    """Keyword arguments with `__` for dots (insurance__resident__...) as dotted key paths."""
    return {key.replace("__", "."): value for key, value in keywords.items()}


def small_scenario(population: int = 8000, days: int = 120, seed: int = 1, **sets) -> Scenario:
    """A small synthetic county; keyword arguments use `__` for dots (insurance__resident__...)."""
    data: dict = {"seed": seed, "days": days, "warmup_days": 30,
                  "world": {"population": population, "townships": 4, "villages_per_township": 6}}
    return Scenario.model_validate(with_overrides(data, dotted(sets), where="small_scenario"))


def run(scenario, agents: bool = False) -> TierFlowModel:
    """Build and run a model."""
    return TierFlowModel(scenario, agents=agents).run()


def load_small(name: str, *sets: str, seed: int = 1, population: int = 20000, days: int | None = None):
    """Load a shipped scenario, shrunk for tests."""
    return load(SCENARIOS / name, [f"world.population={population}", *sets], seed=seed, days=days)


@pytest.fixture(scope="session")
def baseline_small() -> TierFlowModel:
    """One small baseline run shared by invariant tests."""
    return run(small_scenario(population=10000, days=200, seed=7))


def deep_copy(x):
    """A deep copy (helper for tests that mutate scenario data)."""
    return copy.deepcopy(x)
