"""Score a CSV file: every good row predicted, every bad row reported by its row number.

Cells are read against the card first (a number that is not a number, a
missing required value), then the rest go to the batch endpoint in chunks no
larger than the API's limit. When the API refuses some rows (an unknown
category, a value far outside the training range), it names them
(``rows.3.dest``): those rows are set aside with the API's own message and
the chunk is sent again, so one bad row never costs the good ones.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from demo_app.cards import Card, Feature
from demo_app.client import ApiClient, ApiRejectedError

__all__ = ["MAX_CSV_ROWS", "BatchResult", "CsvError", "parse_cell", "read_rows", "score_rows", "template_csv"]

MAX_CSV_ROWS = 5000
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_MISSING = {"", "na", "nan", "null", "none"}
# "chance of late", not "P(late)": the column names are read by visitors, in the table and the file.
CHANCE_PREFIX = "chance of "
_ROW_FIELD = re.compile(r"^rows\.(\d+)(?:\.(.+))?$")


class CsvError(ValueError):
    """The file as a whole cannot be scored (not CSV, no header, missing columns, too many rows)."""


def parse_cell(feature: Feature, text: str) -> Any:
    """One CSV cell → the JSON value for ``feature``; ValueError says what is wrong with it."""
    cell = text.strip()
    if cell.lower() in _MISSING:
        if feature.nullable:
            return None
        raise ValueError("is empty, but this model needs a value")
    if feature.type == "number":
        try:
            value = float(cell)
        except ValueError:
            raise ValueError(f"'{cell}' is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"'{cell}' is not a finite number")
        return value
    if feature.type == "integer":
        try:
            value = float(cell)
        except ValueError:
            raise ValueError(f"'{cell}' is not a whole number") from None
        if not value.is_integer():
            raise ValueError(f"'{cell}' is not a whole number")
        return int(value)
    if feature.type == "boolean":
        if cell.lower() in _TRUE:
            return True
        if cell.lower() in _FALSE:
            return False
        raise ValueError(f"'{cell}' is not true or false")
    return feature.category_value(cell)


def read_rows(card: Card, data: bytes) -> tuple[list[dict[str, str]], list[str]]:
    """The CSV's data rows (as text) and its header; CsvError when the file cannot be used at all."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("the file is not UTF-8 text; save it as CSV (UTF-8)") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        raise CsvError("the file is empty; the first line must name the columns")
    reader.fieldnames = header
    missing = [f.name for f in card.features if f.name not in header]
    if missing:
        raise CsvError(
            f"the CSV has no column {', '.join(repr(m) for m in missing)}; "
            f"its first line must name these columns: {', '.join(f.name for f in card.features)}"
        )
    rows = []
    for row in reader:
        if len(rows) == MAX_CSV_ROWS:
            raise CsvError(f"the demo scores at most {MAX_CSV_ROWS:,} rows at a time; split the file")
        rows.append({k: (v if isinstance(v, str) else "") for k, v in row.items() if k is not None})
    if not rows:
        raise CsvError("the CSV has a header but no rows to score")
    return rows, header


@dataclass
class BatchResult:
    """The scored table (one line per CSV row, in order) and the problems, by row number."""

    table: pd.DataFrame
    scored: int
    problems: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    def write_csv(self, path: Path) -> Path:
        self.table.to_csv(path, index=False)
        return path

    def csv_bytes(self) -> bytes:
        """The scored table as the file a visitor downloads (UTF-8 CSV, a blank where a row was not scored)."""
        return self.table.to_csv(index=False).encode("utf-8")

    def shown_table(self) -> pd.DataFrame:
        """The table as a page shows it: a blank, not "NaN", where a row was not scored or has no reason."""
        # Each column as objects first: a blank is text, which a column of numbers cannot hold.
        return self.table.astype(object).where(self.table.notna(), "")


def _outcome_columns(card: Card, outcome: dict[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {f"predicted {card.target_title}": outcome["prediction"]}
    for label, p in outcome.get("probabilities", {}).items():
        columns[f"{CHANCE_PREFIX}{label}"] = round(float(p), 4)
    return columns


def _row_problems(error: ApiRejectedError, chunk: list[int]) -> dict[int, str]:
    """Map the API's ``rows.<i>.<field>`` details back to positions in the whole file."""
    found: dict[int, list[str]] = {}
    for detail in error.details:
        match = _ROW_FIELD.match(detail.field or "")
        if not match or int(match.group(1)) >= len(chunk):
            continue
        where = match.group(2) or "row"
        hint = f". {detail.hint[:1].upper()}{detail.hint[1:]}" if detail.hint else ""
        found.setdefault(chunk[int(match.group(1))], []).append(f"{where}: {detail.message}{hint}")
    return {index: "; ".join(messages) for index, messages in found.items()}


def score_rows(client: ApiClient, card: Card, rows: list[dict[str, str]], header: list[str]) -> BatchResult:
    """Check each row against the card, send the good ones in batches, and report every bad one."""
    problems: dict[int, str] = {}
    parsed: dict[int, dict[str, Any]] = {}
    for index, row in enumerate(rows):
        values, errors = {}, []
        for feature in card.features:
            try:
                values[feature.name] = parse_cell(feature, row.get(feature.name, ""))
            except ValueError as exc:
                errors.append(f"{feature.name}: {exc}")
        if errors:
            problems[index] = "; ".join(errors)
        else:
            parsed[index] = values

    outcomes: dict[int, dict[str, Any]] = {}
    seconds = 0.0
    pending = list(parsed)
    limit = client.batch_limit(card.name) if pending else 1
    while pending:
        chunk, pending = pending[:limit], pending[limit:]
        while chunk:
            try:
                reply = client.predict_batch(card.name, [parsed[i] for i in chunk])
            except ApiRejectedError as exc:
                refused = _row_problems(exc, chunk)
                if not refused:  # the API named no row: nothing in this chunk can be told apart
                    problems.update({i: str(exc) for i in chunk})
                    break
                problems.update(refused)
                chunk = [i for i in chunk if i not in refused]
                continue
            seconds += reply.seconds
            outcomes.update(zip(chunk, reply.data["predictions"], strict=True))
            break

    lines = []
    for index, row in enumerate(rows):
        line: dict[str, Any] = {"row": index + 1, **{name: row.get(name, "") for name in header}}
        if index in outcomes:
            line.update(_outcome_columns(card, outcomes[index]))
            line["status"] = "ok"
        else:
            # Short, so the predictions beside it stay in view; the reason goes last (and under the table).
            line["status"] = "not scored"
            line["reason"] = problems.get(index, "unknown problem")
        lines.append(line)
    table = pd.DataFrame.from_records(lines)
    # Outcome columns first after the row number: they are what the visitor came for.
    first = ["row", "status", *[c for c in table.columns if c.startswith(("predicted ", CHANCE_PREFIX))]]
    last = ["reason"] if "reason" in table.columns else []
    table = table[first + [c for c in table.columns if c not in first + last] + last]
    return BatchResult(table, len(outcomes), problems, seconds)


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def template_csv(card: Card) -> str:
    """A CSV with the card's example rows: a file a visitor can download, edit and upload."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[f.name for f in card.features], lineterminator="\n")
    writer.writeheader()
    for example in card.examples or ({f.name: f.default for f in card.features},):
        writer.writerow({k: _csv_text(v) for k, v in example.items()})
    return out.getvalue()
