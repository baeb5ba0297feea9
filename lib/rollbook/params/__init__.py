"""Params: the model that assembles every section, loading with lab endpoints, redaction.

The sections belong to the features that read them (`canary.params`, `explain.params`,
`prom.params`, the endpoints in `rollbook.config`); the runbooks' own sections live here,
since the runbooks sit above this package.
"""

from rollbook.params.load import ParamsError, load_params, required, validate_params
from rollbook.params.model import Params
from rollbook.params.redact import redacted

__all__ = ["Params", "ParamsError", "load_params", "redacted", "required", "validate_params"]
