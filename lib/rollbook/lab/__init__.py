"""The embedded lab: PostgreSQL primary + replica, PgBouncer, Redis, Prometheus, workload."""
