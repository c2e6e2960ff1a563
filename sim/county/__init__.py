"""County floor: the world (synthetic or from CSV files) as a networkx graph, the routes compiled
from it, and the residents. Imports only `sim.scenario`."""
