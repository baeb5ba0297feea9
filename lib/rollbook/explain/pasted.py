"""What people paste as a plan, turned into EXPLAIN's JSON document — or told what to do.

- JSON as EXPLAIN (FORMAT JSON) returns it is read as is.
- JSON as psql prints it (a `QUERY PLAN` header, a rule, `+` or `↵` at the end of each
  wrapped line, table borders, a `(1 row)` footer) is read once the framing is removed.
- TEXT plans (framed by psql or not) are read by `rollbook.explain.text_format`.
- YAML and XML plans, and TEXT that cannot be read, are refused with the command that
  gives a JSON plan.
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any

from rollbook.explain.text_format import FOOTER, text_document
from rollbook.explain.tree import PlanError

JSON_COMMAND = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)"
STRIP_FRAMING = (
    "strip psql's framing: psql -XqAt -c 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ...' > plan.json"
)
_BORDERS = "|│║┃"
_RULE = re.compile(r"^[\s\-+=─═┼╪╬├┤╞╡╠╣╔╗╚╝┌┐└┘╤╧┬┴]+$")
_HEADER = re.compile(rf"^[\s{_BORDERS}]*QUERY PLAN[\s{_BORDERS}]*$")
_WRAP_MARKS = ("+", "↵")
# A node line of EXPLAIN's TEXT format: `Seq Scan on t  (cost=...`, `->  Sort  (actual ...`
# or, with COSTS OFF, `->  Sort`.
_TEXT_NODE = re.compile(r"^\s*(->\s+[A-Z]|(->\s+)?[A-Z][\w ]*.*\((cost|actual)[ =])")
_TEXT_SUMMARY = re.compile(r"^\s*(Planning|Execution) Time: [\d.]+ ms\s*$")


def _unframed(text: str) -> str | None:
    """What is inside psql's aligned output (indentation kept), or None when not framed."""
    lines = text.strip("\n").splitlines()
    if not lines or not (_HEADER.match(lines[0]) or _HEADER.match(lines[min(1, len(lines) - 1)])):
        return None
    kept = []
    for line in lines:
        bare = line.strip()
        if not bare or _HEADER.match(line) or _RULE.match(bare) or FOOTER.match(bare):
            continue
        content = line.rstrip()
        content = (content[1:] if content[:1] in _BORDERS else content).rstrip(_BORDERS).rstrip()
        if content.endswith(_WRAP_MARKS):
            content = content[:-1].rstrip()
        kept.append(content)
    return textwrap.dedent("\n".join(kept))


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
            return _text_plan(unframed, advice)
        try:
            return json.loads(unframed)
        except json.JSONDecodeError as exc:
            raise PlanError(
                f"psql-framed output that is not JSON inside ({exc.msg} at line {exc.lineno}): "
                f"{STRIP_FRAMING}"
            ) from None
    advice = _other_format(text)
    if advice:
        return _text_plan(textwrap.dedent(text), advice)
    raise PlanError(f"not JSON ({error.msg} at line {error.lineno})")


def _text_plan(text: str, advice: str) -> Any:
    """A TEXT plan read as FORMAT JSON would give it, else `advice` (plus what failed)."""
    if not advice.startswith("this is a TEXT"):
        raise PlanError(advice)
    try:
        document = text_document(text)
    except PlanError as exc:
        raise PlanError(f"{advice} ({exc})") from None
    if document is None:
        raise PlanError(advice)
    return document
