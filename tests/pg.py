"""PostgreSQL for the tests that need it: `PITSTOP_TEST_POSTGRES` names the server (a DSN).

Without it those tests are skipped with the reason below, so that `make test` passes on a machine
with nothing installed; `.ci/run` sets it, and there they run (and fail when the server is missing).
Each test gets a schema of its own, named at random, and drops it after.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

ENV = "PITSTOP_TEST_POSTGRES"
SKIP_REASON = f"{ENV} is not set (a PostgreSQL DSN such as postgresql://postgres@127.0.0.1:5432/test)"


def server() -> str | None:
    """Gives the test server's DSN, or None."""
    return os.environ.get(ENV, "").strip() or None


def require_server() -> str:
    """Gives the test server's DSN, or skips the test with the reason."""
    dsn = server()
    if dsn is None:
        pytest.skip(SKIP_REASON)
    return dsn


def in_schema(dsn: str, schema: str) -> str:
    """Gives a DSN whose connections work in `schema` (libpq's options, so every process sees the same)."""
    joiner = "&" if "?" in dsn else "?"
    return f"{dsn}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """Gives the DSN of a new, empty schema on the test server, dropped (with all in it) afterwards."""
    import psycopg

    base = require_server()
    schema = f"pitstop_test_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield in_schema(base, schema)
    finally:
        drop(base, schema)


DROP_WAIT = "20s"


def drop(base: str, schema: str) -> None:
    """Drops a test schema; a connection the test left inside a transaction (which would hold the drop
    for ever) fails the test instead, naming what that connection did last."""
    import psycopg

    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"SET lock_timeout = '{DROP_WAIT}'")
        try:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        except psycopg.errors.LockNotAvailable:
            stuck = admin.execute(
                "SELECT pid, state, left(query, 200) FROM pg_stat_activity"
                " WHERE state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            ).fetchall()
            for pid, _, _ in stuck:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            admin.execute("SET lock_timeout = 0")
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            raise AssertionError(f"a connection was left inside a transaction: {stuck}") from None
