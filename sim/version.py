"""The version of TierFlow, one place for the package and the run manifests."""

__version__ = "0.1.0"
