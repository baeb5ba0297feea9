"""Find a secret value in archived files (every byte, every file under a folder)."""

from __future__ import annotations

from pathlib import Path


def files_containing(root: Path, secret: str) -> list[Path]:
    """Files under `root` whose bytes contain `secret` (raw, or JSON/HTML-escaped forms)."""
    import html
    import json

    forms = {secret, json.dumps(secret)[1:-1], html.escape(secret)}
    needles = [form.encode() for form in forms]
    return sorted(
        path
        for path in Path(root).rglob("*")
        if path.is_file() and any(n in path.read_bytes() for n in needles)
    )
