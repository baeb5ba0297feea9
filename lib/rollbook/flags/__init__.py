"""Feature flags the application reads: catalog, validation and the store in the primary."""

from rollbook.flags.catalog import (
    ENDPOINTS,
    KNOWN_FLAGS,
    READ_ENDPOINTS,
    Flag,
    FlagError,
    known_flag,
    validate_flag,
)
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
