"""The jobs' command line: parse, configure from the environment, run, and say what happened."""

from __future__ import annotations

import argparse
import logging
import sys

from api.errors import FreeportError
from api.settings import SettingsError, load_settings

__all__ = ["main"]

# Exit codes a scheduler can act on.
DONE, REFUSED, DATABASE_DOWN = 0, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m api.jobs", description="freeport's scheduled jobs.")
    jobs = parser.add_subparsers(dest="job", required=True)
    score = jobs.add_parser(
        "score",
        help="score the new rows of a table with a model and write the predictions beside it",
        description="Score the rows of TABLE that have no prediction from MODEL yet, and store each "
        "prediction (or the reason a row was refused) in the table INTO, keyed by the row's id. "
        "Running it again scores only rows added since. The database is DATABASE_URL's.",
    )
    score.add_argument("--table", required=True, help="the table of rows to score (schema.table allowed)")
    score.add_argument("--model", required=True, help="the model's name, as GET /models lists it")
    score.add_argument("--id-column", default="id", help="the table's unique row id (default: id)")
    score.add_argument("--into", help="the table the predictions go to (default: <table>_predictions)")
    score.add_argument("--batch-size", type=int, default=1000, help="rows per model call and transaction")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return REFUSED
    from sqlalchemy.exc import OperationalError

    from api.jobs.score import score_table

    try:
        report = score_table(
            settings, table=args.table, model=args.model, id_column=args.id_column,
            into=args.into, batch_size=args.batch_size,
        )
    except FreeportError as exc:
        print(f"not scored: {exc.message}", file=sys.stderr)
        return REFUSED
    except OperationalError as exc:
        # The driver's first line says what failed (refused, timed out, no such database).
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        print(f"not scored: the database did not answer ({reason}); DATABASE_URL is used", file=sys.stderr)
        return DATABASE_DOWN
    print(report)
    return DONE
