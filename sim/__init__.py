"""TierFlow: an agent-based simulation of patient flow across China's care tiers (分级诊疗)."""

__version__ = "0.1.0"
