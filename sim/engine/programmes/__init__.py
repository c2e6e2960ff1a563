"""Policy programmes, one module each (as Starsim's interventions): each reads its own section
of the scenario in `configure`, reacts to a dated change in `on_change`, and acts in the day
through `step` (before care) and `finish_step` (after care).

Adding a lever means one module here (and one schema section), listed in the model's
`programmes`.
"""

from sim.engine.programmes.base import Programme
from sim.engine.programmes.community import MedicalCommunity
from sim.engine.programmes.expansion import ProviderReviews
from sim.engine.programmes.signing import Signing

__all__ = ["ProviderReviews", "MedicalCommunity", "Programme", "Signing"]
