"""Read EXPLAIN's TEXT format (what most people paste) into the shape FORMAT JSON has.

A TEXT plan is a tree drawn by indentation: the root's line, then each child on a line
`->  Label  (cost=S..T rows=R width=W) (actual time=A..B rows=R loops=L)` indented below
its parent, the node's details (`Filter: ...`, `Buffers: shared hit=4`, `Worker 0: ...`)
indented under its label, and `InitPlan 1 (returns $0)` / `SubPlan 1` / `CTE name` headers
above the sub-plans they name. Statement lines follow at the left margin: `Planning Time`,
`Trigger ...: time=... calls=...`, `JIT:`, `Execution Time`.

`text_document(text)` returns the statement dict FORMAT JSON would have given (the keys
the analyser reads), or None when `text` does not hold a TEXT plan.
"""

from __future__ import annotations

import re
from typing import Any

from rollbook.explain.tree import PlanError

_NODE = re.compile(
    r"^(?P<arrow>->\s+)?(?P<label>\S.*?)"
    r"(?:\s+\(cost=(?P<startup>[\d.]+)\.\.(?P<total>[\d.]+) rows=(?P<rows>[\d.]+)"
    r" width=(?P<width>\d+)\))?"
    r"(?:\s+\((?:actual (?:time=(?P<first>[\d.]+)\.\.(?P<last>[\d.]+) )?"
    r"rows=(?P<actual_rows>[\d.]+) loops=(?P<loops>[\d.]+)|(?P<never>never executed))\))?$"
)
_SUBPLAN = re.compile(r"^(?P<kind>InitPlan|SubPlan) \d+|^CTE (?P<cte>\S.*)$")
_PROPERTY = re.compile(r"^(?P<key>[A-Z][\w /-]*?|Worker \d+):\s*(?P<value>.*)$")
_STATEMENT = re.compile(
    r"^(Planning Time|Execution Time|Planning|JIT|Settings|Trigger|Query Identifier|"
    r"Serialization)\b"
)
_TRIGGER = re.compile(
    r"^Trigger(?: (?P<name>.+?))?(?: for constraint (?P<constraint>\S+))?(?: on (?P<rel>\S+))?:"
    r" (?:time=(?P<time>[\d.]+) )?calls=(?P<calls>\d+)$"
)
_JOIN = re.compile(
    r"^(?P<kind>Nested Loop|Hash|Merge)"
    r"(?: (?P<type>Left|Right|Full|Semi|Anti|Right Semi|Right Anti))?(?: Join)?$"
)
_AGGREGATES = {"HashAggregate": "Hashed", "GroupAggregate": "Sorted", "MixedAggregate": "Mixed"}
_OPERATIONS = ("Insert", "Update", "Delete", "Merge")
# What `on <name>` names, by node type (a table otherwise; only an alias for these).
_TARGET_KEYS = {
    "CTE Scan": "CTE Name", "WorkTable Scan": "CTE Name", "Function Scan": "Function Name",
    "Subquery Scan": None, "Values Scan": None,
}  # fmt: skip
_BUFFER_NAMES = {"hit": "Hit", "read": "Read", "dirtied": "Dirtied", "written": "Written"}
_COUNTERS = {
    "Rows Removed by Filter", "Rows Removed by Join Filter", "Rows Removed by Index Recheck",
    "Heap Fetches", "Workers Planned", "Workers Launched",
}  # fmt: skip
_LISTS = {"Sort Key", "Group Key", "Output", "Params Evaluated", "Presorted Key", "Cache Key"}
_SIZE = re.compile(r"(\d+)kB")
FOOTER = re.compile(r"^\(\d+ rows?\)$")  # psql's row count under the plan


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def _label_fields(label: str) -> dict[str, Any]:
    """Node Type and the other keys a TEXT label shows (`Index Scan using i on t x`)."""
    fields: dict[str, Any] = {}
    head, _, target = label.partition(" on ")
    head, _, index = head.partition(" using ")
    if head.startswith("Parallel "):
        fields["Parallel Aware"], head = True, head[len("Parallel ") :]
    for mode in ("Partial", "Finalize"):
        if head.startswith(f"{mode} "):
            fields["Partial Mode"], head = mode, head[len(mode) + 1 :]
    if head.endswith(" Backward"):
        fields["Scan Direction"], head = "Backward", head.removesuffix(" Backward")
    join = _JOIN.match(head)
    if join and (head.endswith("Join") or head == "Nested Loop"):
        node_type = "Nested Loop" if join["kind"] == "Nested Loop" else f"{join['kind']} Join"
        fields.update({"Node Type": node_type, "Join Type": join["type"] or "Inner"})
    elif head in _AGGREGATES or head == "Aggregate":
        fields.update({"Node Type": "Aggregate", "Strategy": _AGGREGATES.get(head, "Plain")})
    elif head.startswith(("HashSetOp", "SetOp")):
        strategy = "Hashed" if head.startswith("Hash") else "Sorted"
        fields.update({"Node Type": "SetOp", "Strategy": strategy})
    elif head.removeprefix("Foreign ") in _OPERATIONS:
        fields.update({"Node Type": "ModifyTable", "Operation": head.removeprefix("Foreign ")})
    else:
        fields["Node Type"] = head.split(" (")[0]  # Custom Scan (name)
    if index:
        fields["Index Name"] = index
    if target:
        name, _, alias = target.partition(" ")
        if fields["Node Type"] == "Bitmap Index Scan":
            fields["Index Name"] = name
        else:
            key = _TARGET_KEYS.get(fields["Node Type"], "Relation Name")
            if "." in name and key == "Relation Name":  # VERBOSE: schema.table
                fields["Schema"], name = name.split(".", 1)
            if key:
                fields[key] = name.strip('"')
            fields["Alias"] = (alias or name).strip('"')
    return fields


def _buffers(value: str, prefix: str = "") -> dict[str, int]:
    """`shared hit=4 read=2, temp written=5` -> {"Shared Hit Blocks": 4, ...}."""
    found = {}
    for part in value.split(","):
        words = part.split()
        if not words:
            continue
        kind = words[0].capitalize()
        for word in words[1:]:
            name, _, count = word.partition("=")
            if name in _BUFFER_NAMES and count.isdigit():
                found[f"{prefix}{kind} {_BUFFER_NAMES[name]} Blocks"] = int(count)
    return found


def _io_timings(value: str) -> dict[str, float]:
    """`shared read=1.2 write=0.3, temp read=0.1` (PG 16+) or `read=1.2 write=0.3`."""
    found = {}
    for part in value.split(","):
        words = part.split()
        kind = "Shared" if "=" in words[0] else words.pop(0).split("/")[0].capitalize()
        for word in words:
            name, _, ms = word.partition("=")
            found[f"{kind} I/O {name.capitalize()} Time"] = float(ms)
    return found


def _kilobytes(value: str) -> int:
    """`25kB` -> 25."""
    size = _SIZE.search(value)
    if size is None:
        raise PlanError(f"no size in kB: {value[:60]}")
    return int(size[1])


def _details(parts: list[str], node_type: str) -> dict[str, Any]:
    """One detail line split at its double spaces: `Sort Method: quicksort  Memory: 25kB`."""
    found: dict[str, Any] = {}
    for part in parts:
        key, _, value = part.partition(": ")
        size = _SIZE.search(value)
        if key == "Sort Method":
            found["Sort Method"] = value
        elif key in ("Memory", "Disk") and "Sort Method" in found:
            found.update({"Sort Space Used": _kilobytes(value), "Sort Space Type": key})
        elif key == "Batches":
            batches, _, original = value.partition(" (originally ")
            name = "Hash Batches" if node_type == "Hash" else "HashAgg Batches"
            found[name] = int(batches)
            if original:
                found["Original Hash Batches"] = int(original.rstrip(")"))
        elif key == "Planned Partitions":
            found[key] = int(value)
        elif key in ("Hits", "Misses", "Evictions", "Overflows"):
            found[f"Cache {key}"] = int(value)
        elif key == "Buckets":
            found["Hash Buckets"] = int(value.split()[0])
        elif key in ("Memory Usage", "Disk Usage") and size:
            found["Peak Memory Usage" if key == "Memory Usage" else key] = int(size[1])
    return found


def _sort_groups(parts: list[str]) -> dict[str, Any]:
    """`Full-sort Groups: 101  Sort Method: quicksort  Average Memory: 28kB  Peak ...`."""
    group: dict[str, Any] = {"Group Count": int(parts[0].partition(": ")[2])}
    for part in parts[1:]:
        key, _, value = part.partition(": ")
        if key.startswith("Sort Method"):
            group["Sort Methods Used"] = [m.strip() for m in value.split(",")]
        elif key.startswith(("Average", "Peak")):
            average_or_peak, space = key.split()
            used = group.setdefault(f"Sort Space {space}", {})
            used[f"{average_or_peak} Sort Space Used"] = _kilobytes(value)
    return group


def _property(node: dict[str, Any], key: str, value: str) -> None:
    """Store one `Key: value` detail line of a node the way FORMAT JSON names it."""
    parts = re.split(r"\s{2,}", f"{key}: {value}")
    if key.startswith("Worker "):
        worker = {"Worker Number": int(key.split()[1])}
        workers = node.setdefault("Workers", [])
        existing = next((w for w in workers if w["Worker Number"] == worker["Worker Number"]), None)
        if existing is None:
            workers.append(worker)
        else:
            worker = existing
        inner_key, _, inner_value = value.partition(": ")
        actual = _NODE.match(f"x  ({value})")
        if value.startswith("actual") and actual:
            worker.update(_actuals(actual))
        elif inner_key == "Buffers":
            worker.update(_buffers(inner_value))
        else:
            worker.update(_details(re.split(r"\s{2,}", value), node["Node Type"]))
    elif key == "Buffers":
        node.update(_buffers(value))
    elif key == "I/O Timings":
        node.update(_io_timings(value))
    elif key == "WAL":
        for word in value.split():
            name, _, count = word.partition("=")
            node[f"WAL {name.upper() if name == 'fpi' else name.capitalize()}"] = int(count)
    elif key == "Heap Blocks":
        for word in value.split():
            name, _, count = word.partition("=")
            node[f"{name.capitalize()} Heap Blocks"] = int(count)
    elif key in ("Full-sort Groups", "Pre-sorted Groups"):
        node[key] = _sort_groups(parts)
    elif key in ("Sort Method", "Buckets", "Batches", "Hits", "Planned Partitions"):
        node.update(_details(parts, node["Node Type"]))
    elif key in _COUNTERS:
        node[key] = _number(value)
    elif key in _LISTS:
        node[key] = [item.strip() for item in value.split(", ")]
    else:
        node[key] = value


def _actuals(match: re.Match[str]) -> dict[str, Any]:
    if match["never"]:
        return {"Actual Rows": 0, "Actual Loops": 0}
    if match["loops"] is None:
        return {}
    found = {"Actual Rows": _number(match["actual_rows"]), "Actual Loops": int(match["loops"])}
    if match["first"] is not None:
        found["Actual Startup Time"] = float(match["first"])
        found["Actual Total Time"] = float(match["last"])
    return found


def _node(match: re.Match[str]) -> dict[str, Any]:
    node = _label_fields(match["label"])
    if match["startup"] is not None:
        node.update(
            {
                "Startup Cost": float(match["startup"]),
                "Total Cost": float(match["total"]),
                "Plan Rows": _number(match["rows"]),
                "Plan Width": int(match["width"]),
            }
        )
    node.update(_actuals(match))
    return node


def _relationships(node: dict[str, Any]) -> None:
    """Outer / Inner / Member / Subquery for the children EXPLAIN drew with `->`."""
    drawn = [c for c in node.get("Plans", []) if "Parent Relationship" not in c]
    if node["Node Type"] in ("Append", "Merge Append", "BitmapAnd", "BitmapOr"):
        names = ["Member"] * len(drawn)
    elif node["Node Type"] == "Subquery Scan":
        names = ["Subquery"] * len(drawn)
    else:
        names = ["Outer", "Inner"] + ["Member"] * max(len(drawn) - 2, 0)
    for child, name in zip(drawn, names, strict=False):
        child["Parent Relationship"] = name
    for child in node.get("Plans", []):
        _relationships(child)


def _statement_line(statement: dict[str, Any], section: str, line: str) -> str:
    """One statement-level line (left margin or under `Planning:` / `JIT:`); the section."""
    key, _, value = line.strip().partition(": ")
    if line[:1] != " ":
        section = key.rstrip(":")
    if key in ("Planning Time", "Execution Time"):
        statement[key] = float(value.split()[0])
    elif key.startswith("Trigger"):
        trigger = _TRIGGER.match(line.strip())
        if trigger:
            statement.setdefault("Triggers", []).append(
                {
                    "Trigger Name": trigger["name"] or trigger["constraint"],
                    "Constraint Name": trigger["constraint"],
                    "Relation": trigger["rel"],
                    "Time": float(trigger["time"] or 0),
                    "Calls": int(trigger["calls"]),
                }
            )
    elif key == "Settings":
        pairs = re.findall(r"([\w.]+) = '((?:[^']|'')*)'", value)
        statement["Settings"] = {name: setting.replace("''", "'") for name, setting in pairs}
    elif section == "Planning" and key == "Buffers":
        statement["Planning"] = _buffers(value)
    elif section == "JIT" and key == "Functions":
        statement.setdefault("JIT", {})["Functions"] = int(value)
    elif section == "JIT" and key == "Timing":
        timing = dict(re.findall(r"(\w+) ([\d.]+) ms", value))
        statement.setdefault("JIT", {})["Timing"] = {k: float(v) for k, v in timing.items()}
    return section


def text_document(text: str) -> dict[str, Any] | None:
    """The FORMAT JSON statement for a TEXT plan; None when `text` is no TEXT plan."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip() and not FOOTER.match(line)]
    root_match = _NODE.match(lines[0].strip()) if lines else None
    if root_match is None or root_match["arrow"] or ":" in lines[0].split("(")[0]:
        return None
    root = _node(root_match)
    statement: dict[str, Any] = {"Plan": root}
    # open frames: (column, node, pending sub-plan relationship and name or None)
    frames: list[tuple[int, dict[str, Any], tuple[str, str] | None]] = [(0, root, None)]
    section = ""
    for number, line in enumerate(lines[1:], start=2):
        column = len(line) - len(line.lstrip())
        body = line.strip()
        if column == 0 or section:
            if column == 0 and not _STATEMENT.match(body):
                raise PlanError(f"line {number}: not part of a TEXT plan: {body[:60]}")
            section = _statement_line(statement, section, line)
            continue
        while len(frames) > 1 and frames[-1][0] >= column:
            frames.pop()
        parent_column, parent, subplan = frames[-1]
        node_match = _NODE.match(body) if body.startswith("->") else None
        header = _SUBPLAN.match(body)
        if node_match:
            node = _node(node_match)
            if subplan is not None:
                node["Parent Relationship"], node["Subplan Name"] = subplan
            parent.setdefault("Plans", []).append(node)
            label_column = column + len(node_match["arrow"])
            frames.append((label_column, node, None))
        elif header and not _PROPERTY.match(body):
            kind = "SubPlan" if header["kind"] == "SubPlan" else "InitPlan"  # CTEs: InitPlan
            frames.append((column, parent, (kind, body)))
        else:
            detail = _PROPERTY.match(body)
            if detail is None:
                raise PlanError(f"line {number}: not part of a TEXT plan: {body[:60]}")
            _property(parent, detail["key"], detail["value"])
    _relationships(root)
    return statement
