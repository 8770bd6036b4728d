"""Why a body is not JSON the service can read, in words that say what to send instead.

The two routes parse differently: the single-row route with Python's json
module (through FastAPI), the batch route with pydantic-core's parser. Their
failures are put in the same words here, so a client hears the real cause (an
unpaired surrogate, a number with thousands of digits, JSON nested hundreds
deep) rather than "not valid JSON" or "could not be decoded".
"""

from __future__ import annotations

import re

__all__ = ["JSON_EXAMPLE_HINT", "SURROGATE", "parse_failure", "undecodable_body"]

JSON_EXAMPLE_HINT = "send a JSON object such as the example in /docs"

# Python refuses to read an integer longer than this (sys.get_int_max_str_digits); pydantic-core too.
MAX_DIGITS = 4300

SURROGATE = (
    "a string holds an unpaired UTF-16 surrogate (a \\ud800 to \\udfff escape without its partner)",
    "send valid Unicode text: a character beyond \\uffff as a surrogate pair (\\ud83d\\ude00) or as UTF-8",
)
TOO_MANY_DIGITS = (
    f"a number has too many digits to read (more than {MAX_DIGITS})",
    "send numbers of ordinary size, e.g. 4983 or 4.983e3",
)
TOO_DEEP = (
    "the JSON is nested too deeply to read",
    "send a flat JSON object of fields, such as the example in /docs",
)

_WHERE = re.compile(r" at line (\d+) column (\d+)$")


def parse_failure(error: str) -> tuple[str, str]:
    """(message, hint) for pydantic-core's (or the json module's) reason for refusing a body."""
    where = _WHERE.search(error)
    reason = error[: where.start()] if where else error
    place = f" (line {where[1]}, column {where[2]})" if where else ""
    # pydantic-core's words for a \ud800-\udfff escape that is not half of a pair.
    if "surrogate" in reason or reason == "unexpected end of hex escape":
        message, hint = SURROGATE
    elif reason == "recursion limit exceeded":
        message, hint = TOO_DEEP
    elif reason == "number out of range":
        message, hint = TOO_MANY_DIGITS
    else:
        message, hint = f"the body is not valid JSON ({reason})", JSON_EXAMPLE_HINT
    return message + place, hint


def undecodable_body(cause: BaseException | None) -> tuple[str, str]:
    """(message, hint) for a body FastAPI could not parse at all (its 400), from the exception behind it."""
    if isinstance(cause, RecursionError):
        return TOO_DEEP
    if isinstance(cause, ValueError) and not isinstance(cause, UnicodeError) and "digits" in str(cause):
        return TOO_MANY_DIGITS
    return "the body could not be decoded as JSON text (UTF-8)", JSON_EXAMPLE_HINT
