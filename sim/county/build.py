"""The scenario's county, synthetic or from a planner's CSV files."""

from __future__ import annotations

import numpy as np

from sim.county.csv_county import load_world
from sim.county.world import World, synthesise


def build_world(params, rng: np.random.Generator) -> World:
    """The scenario's county: from its CSV files when it names them, else synthetic."""
    if params.world.files is not None:
        return load_world(params.world)
    return synthesise(params.world, rng)
