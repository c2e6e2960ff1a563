"""Scenario floor: the schema, the safe YAML reader, `extends` / `--set` / dated changes, located
errors and the reference page. Imports nothing else of `sim`."""
