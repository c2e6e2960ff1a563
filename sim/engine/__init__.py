"""Engine floor: the model and the day's stages, agents, policy programmes, pure rules,
facilities, episodes and indicators. Imports only the county and scenario floors."""
