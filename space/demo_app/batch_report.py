"""What a visitor reads about a scored CSV file: a line over the table, the rows not scored, a file refused.

HTML fragments (escaped), shared by both fronts; the scoring itself is demo_app.batch.
"""

from __future__ import annotations

from html import escape

from demo_app.batch import BatchResult, CsvError
from demo_app.cards import Card

__all__ = ["MAX_LISTED_PROBLEMS", "batch_problems", "batch_summary", "csv_note", "unreadable_file"]

MAX_LISTED_PROBLEMS = 20


def csv_note(card: Card) -> str:
    """Over the upload: what the file must look like, and what happens to rows the model cannot take."""
    return (
        '<p class="fp-section-note">One row per prediction, with a header naming the inputs as the API '
        f"does ({escape(', '.join(f.name for f in card.features))}). Rows the model cannot take are listed "
        "under the table with the reason; the others are still scored. Start from the template if you like.</p>"
    )


def unreadable_file(file_name: str, error: CsvError) -> str:
    """A file that cannot be scored at all: what is wrong, and what the demo takes instead."""
    kind = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    what = f"This .{escape(kind)} file" if kind and kind != "csv" else "This file"
    return (
        f'<div class="fp-banner fp-invalid" role="alert"><b>{what} cannot be scored.</b> {escape(str(error))}. '
        "The demo takes a CSV file: a header line naming the inputs, then one row per prediction "
        "(the template shows one).</div>"
    )


def batch_summary(result: BatchResult, total: int) -> str:
    """One line over the table: how many rows were scored, and how many were not."""
    head = (
        f"<b>Scored {result.scored:,} of {total:,} rows</b> in {result.seconds * 1000:,.0f} ms."
        if result.scored
        else "<b>No row could be scored.</b>"
    )
    if not result.problems:
        return f'<div class="fp-banner fp-ok" role="status">{head}</div>'
    count = len(result.problems)
    return (
        f'<div class="fp-banner fp-invalid" role="status">{head} {count:,} row{"s" if count != 1 else ""} '
        "not scored: the reasons are under the table.</div>"
    )


def batch_problems(result: BatchResult) -> str:
    """Under the table: each row that was not scored, with the reason (the first few; all are in the file)."""
    if not result.problems:
        return ""
    listed = sorted(result.problems.items())[:MAX_LISTED_PROBLEMS]
    items = "".join(f"<li><b>Row {index + 1}</b>: {escape(message)}</li>" for index, message in listed)
    more = (f"<li>… and {len(result.problems) - len(listed)} more (in the downloaded file's reason column)</li>"
            if len(result.problems) > len(listed) else "")
    return f'<div class="fp-problems" role="status"><b>Rows not scored</b><ul>{items}{more}</ul></div>'
