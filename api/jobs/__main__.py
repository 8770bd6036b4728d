"""``python -m api.jobs``: the scheduled jobs' command line."""

from api.jobs.cli import main

raise SystemExit(main())
