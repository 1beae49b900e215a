"""Schemas of their own on a PostgreSQL server, for the tests and the benchmarks: each run gets an empty
one and drops it after, so that runs side by side on one server never meet. The bot does not use them.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from urllib.parse import quote

DROP_WAIT = "20s"  # how long dropping a schema waits for a connection still inside a transaction


def in_schema(dsn: str, schema: str) -> str:
    """Gives a DSN whose connections work in `schema` (libpq's options, so every process sees the same)."""
    joiner = "&" if "?" in dsn else "?"
    return f"{dsn}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def fresh_schema(base: str, prefix: str) -> Iterator[str]:
    """Gives the DSN of a new, empty schema on the server `base`, dropped with all in it afterwards."""
    import psycopg

    schema = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield in_schema(base, schema)
    finally:
        drop_schema(base, schema)


def drop_schema(base: str, schema: str) -> None:
    """Drops a schema. A connection left inside a transaction (which would hold the drop for ever) is
    ended, and then AssertionError names what it did last: a leak to find, not to wait for."""
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
