"""Mesa agents: residents and providers, as views onto the model's arrays.

Every resident is a `Patient` and every facility an agent of its tier's class, reachable
through `model.agents_by_type`. Their state lives in numpy arrays (sim/county/population.py,
sim/engine/facilities.py) so that the day's decisions run for all episodes at once; an agent
reads and shows its own row, which is what a user inspecting one resident needs.
"""

from sim.engine.agents.facility import Facility
from sim.engine.agents.hospitals import CountyHospital, TertiaryHospital
from sim.engine.agents.patient import Patient
from sim.engine.agents.primary_care import FamilyDoctor, TownshipHealthCentre

FACILITY_CLASSES = (FamilyDoctor, TownshipHealthCentre, CountyHospital, TertiaryHospital)

__all__ = ["Patient", "Facility", "FamilyDoctor", "TownshipHealthCentre", "CountyHospital", "TertiaryHospital",
           "FACILITY_CLASSES"]
