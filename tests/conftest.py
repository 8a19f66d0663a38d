"""Shared fixtures: a migrated database on SQLite and on PostgreSQL for every store test."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from bot.settings import normalize_database_url
from bot.store.db import make_engine, migrate
from tests.fakes.fake_hubspot import FakeHubSpot
from tests.fakes.fake_slack import FakeSlack

NOW = datetime(2026, 11, 23, 15, 0, 0, tzinfo=timezone.utc)


def postgres_base_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalize_database_url(url)
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI")
    pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped on this machine")


def make_database_url(kind: str, tmp_path) -> tuple[str, callable]:
    """A fresh empty database of that kind and a function that removes it."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/handoff.sqlite3", lambda: None
    base = postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return f"{base}?options=-csearch_path%3D{schema}", drop


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    url, drop = make_database_url(request.param, tmp_path)
    yield url
    drop()


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    """End-to-end tests run on SQLite (the store tests cover both engines); one runs on PostgreSQL too."""
    engine = make_engine(f"sqlite:///{tmp_path}/handoff.sqlite3")
    migrate(engine)
    yield engine
    engine.dispose()


# --- fake vendors on loopback, shared by the fake's own tests and its client's tests --------------
# Imported here rather than at the top: this section was appended to a file others were editing.


@pytest.fixture
def fake_hubspot():
    """A started FakeHubSpot (any Bearer token accepted); stopped after the test."""
    with FakeHubSpot() as server:
        yield server


@pytest.fixture
def fake_slack():
    """A started FakeSlack with the default scopes; stopped after the test."""
    with FakeSlack() as server:
        yield server
