"""What every params section is built on: strict sections, secret references, and the
endpoint and safety sections. The bottom layer: it imports no other rollbook package but
`rollbook.errors`; the params model that assembles the sections is `rollbook.params`."""

from rollbook.config.secrets import SecretError, SecretRef

__all__ = ["SecretError", "SecretRef"]
