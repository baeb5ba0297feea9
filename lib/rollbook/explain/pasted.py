"""What people paste as a plan, turned into EXPLAIN's JSON document — or told what to do.

- JSON as EXPLAIN (FORMAT JSON) returns it is read as is.
- JSON as psql prints it (a `QUERY PLAN` header, a rule, `+` or `↵` at the end of each
  wrapped line, table borders, a `(1 row)` footer) is read once the framing is removed.
- TEXT, YAML and XML plans are refused with the command that gives a JSON plan.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rollbook.explain.tree import PlanError

JSON_COMMAND = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)"
STRIP_FRAMING = (
    "strip psql's framing: psql -XqAt -c 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ...' > plan.json"
)
_BORDERS = "|│║┃"
_RULE = re.compile(r"^[\s\-+=─═┼╪╬├┤╞╡╠╣╔╗╚╝┌┐└┘╤╧┬┴]+$")
_HEADER = re.compile(rf"^[\s{_BORDERS}]*QUERY PLAN[\s{_BORDERS}]*$")
_FOOTER = re.compile(r"^\(\d+ rows?\)$")
_WRAP_MARKS = ("+", "↵")
# A node line of EXPLAIN's TEXT format: `Seq Scan on t  (cost=...` or `->  Sort  (actual ...`
_TEXT_NODE = re.compile(r"^\s*(->\s+)?[A-Z][\w ]*.*\((cost|actual)[ =]")
_TEXT_SUMMARY = re.compile(r"^\s*(Planning|Execution) Time: [\d.]+ ms\s*$")


def _unframed(text: str) -> str | None:
    """The JSON inside psql's aligned output, or None when `text` is not framed that way."""
    lines = text.strip("\n").splitlines()
    if not lines or not (_HEADER.match(lines[0]) or _HEADER.match(lines[min(1, len(lines) - 1)])):
        return None
    kept = []
    for line in lines:
        bare = line.strip()
        if not bare or _HEADER.match(line) or _RULE.match(bare) or _FOOTER.match(bare):
            continue
        bare = bare.strip(_BORDERS).rstrip()
        if bare.endswith(_WRAP_MARKS):
            bare = bare[:-1]
        kept.append(bare)
    return "\n".join(kept)


def _other_format(text: str) -> str | None:
    """What to do when `text` is an EXPLAIN in another format than JSON."""
    lines = text.splitlines()
    if any(_TEXT_NODE.match(line) or _TEXT_SUMMARY.match(line) for line in lines):
        return f"this is a TEXT-format plan: run {JSON_COMMAND} and give its output"
    if re.search(r"<explain\b", text):
        return f"this is an XML-format plan: run {JSON_COMMAND} and give its output"
    if re.search(r"^\s*- Plan:\s*$", text, re.M):
        return f"this is a YAML-format plan: run {JSON_COMMAND} and give its output"
    return None


def json_document(text: str) -> Any:
    """EXPLAIN's JSON document from pasted text; `PlanError` says what to do otherwise."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        error = exc
    unframed = _unframed(text)
    if unframed is not None:
        advice = _other_format(unframed)
        if advice:
            raise PlanError(advice)
        try:
            return json.loads(unframed)
        except json.JSONDecodeError as exc:
            raise PlanError(
                f"psql-framed output that is not JSON inside ({exc.msg} at line {exc.lineno}): "
                f"{STRIP_FRAMING}"
            ) from None
    advice = _other_format(text)
    if advice:
        raise PlanError(advice)
    raise PlanError(f"not JSON ({error.msg} at line {error.lineno})")
