"""Params as they may be shown: secret references kept, secret values never present."""

from __future__ import annotations

from typing import Any

from rollbook.params.model import Params


def redacted(params: Params) -> dict[str, Any]:
    """A JSON-ready dict of params; secret fields show only where the secret comes from."""
    return params.model_dump(mode="json", exclude_none=True)
