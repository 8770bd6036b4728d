"""Jobs run outside the web process, on a schedule: ``python -m api.jobs score …``."""
