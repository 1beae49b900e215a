"""PostgreSQL for the tests that need it: `PITSTOP_TEST_POSTGRES` names the server (a DSN).

Without it those tests are skipped with the reason below, so that `make test` passes on a machine
with nothing installed; `.ci/run` sets it, and there they run (and fail when the server is missing).
Each test gets a schema of its own, named at random, and drops it after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.store import schemas

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


@contextmanager
def fresh_schema() -> Iterator[str]:
    """Gives the DSN of a new, empty schema on the test server, dropped (with all in it) afterwards; a
    connection the test left inside a transaction fails it (bot.store.schemas.drop_schema)."""
    with schemas.fresh_schema(require_server(), "pitstop_test") as dsn:
        yield dsn
