"""Feature flags the application reads: catalog, validation and the store in the primary.

The store (psycopg, pandas) loads on first use (`rollbook.lazy`).
"""

from typing import TYPE_CHECKING

from rollbook.flags.catalog import (
    ENDPOINTS,
    KNOWN_FLAGS,
    READ_ENDPOINTS,
    Flag,
    FlagError,
    known_flag,
    validate_flag,
)
from rollbook.lazy import lazy_exports

if TYPE_CHECKING:
    from rollbook.flags.store import SELECT_FLAGS, FlagStore

__all__ = [
    "ENDPOINTS",
    "KNOWN_FLAGS",
    "READ_ENDPOINTS",
    "SELECT_FLAGS",
    "Flag",
    "FlagError",
    "FlagStore",
    "known_flag",
    "validate_flag",
]
lazy_exports(__name__)
