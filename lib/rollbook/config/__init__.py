"""Params: the model, loading with lab endpoints, secret references, redaction."""

from rollbook.config.load import ParamsError, load_params, validate_params
from rollbook.config.model import Params
from rollbook.config.redact import redacted
from rollbook.config.secrets import SecretError, SecretRef

__all__ = [
    "Params",
    "ParamsError",
    "SecretError",
    "SecretRef",
    "load_params",
    "redacted",
    "validate_params",
]
