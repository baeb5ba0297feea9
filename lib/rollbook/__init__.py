"""rollbook: executable, parameterised runbooks for a PostgreSQL data-layer rollout."""

__version__ = "0.1.0"
