"""Studies floor: replications and executors, compare, sweep, sensitivity, calibration,
validation, and the per-agent reference model used as an oracle."""
