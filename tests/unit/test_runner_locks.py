"""Advisory lock keys: stable, per runbook and target, in bigint range."""

from rollbook.config.endpoints import PostgresEndpoint
from rollbook.db.locks import lock_key, target_of


def test_lock_key_is_stable_and_distinguishes_runbook_and_target():
    key = lock_key("01_indexes", "127.0.0.1:5432/chat")
    assert key == lock_key("01_indexes", "127.0.0.1:5432/chat")
    assert key != lock_key("02_pgbouncer", "127.0.0.1:5432/chat")
    assert key != lock_key("01_indexes", "127.0.0.1:5433/chat")
    assert -(2**63) <= key < 2**63


def test_target_names_the_database_not_the_environment_label():
    endpoint = PostgresEndpoint(host="db1", port=5433, dbname="chat", user="u")
    assert target_of(endpoint) == "db1:5433/chat"
