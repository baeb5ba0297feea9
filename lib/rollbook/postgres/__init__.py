"""PostgreSQL mechanisms the runbooks share: index builds and hypothetical indexes, the
keyset migration's statements, waiting for replica replay, read-your-write staleness."""
