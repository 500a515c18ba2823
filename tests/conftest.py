"""Test harness: a real MySQL-compatible database for every test that needs one.

The server: TEST_DB_HOST (with TEST_DB_PORT, TEST_DB_USER, TEST_DB_PASSWORD)
when set; otherwise MySQL 8 started with testcontainers (needs Docker). The
suite creates its own uniquely named database there, applies schema.sql, and
drops it at the end. Without a server, the tests that need one fail with one
line saying how to provide it; they are never skipped silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

import db
import scheduler_config

pytest_plugins = ["tests.fake_pearl"]

NO_SERVER = (
    "no test database: set TEST_DB_HOST (and TEST_DB_PORT, TEST_DB_USER, TEST_DB_PASSWORD) "
    "to a MySQL 8 / MariaDB 10.6+ server, or start Docker so testcontainers can run MySQL 8"
)


def _server_from_env() -> db.DbSettings | None:
    host = os.environ.get("TEST_DB_HOST", "").strip()
    if not host:
        return None
    return db.DbSettings(
        host=host,
        port=int(os.environ.get("TEST_DB_PORT", "3306") or 3306),
        user=os.environ.get("TEST_DB_USER", "root") or "root",
        password=os.environ.get("TEST_DB_PASSWORD", ""),
        database="mysql",
    )


@pytest.fixture(scope="session")
def database_server() -> Iterator[db.DbSettings]:
    """Settings of a server the suite may create databases on."""
    settings = _server_from_env()
    if settings is not None:
        yield settings
        return
    problem = None
    try:
        try:  # testcontainers >= 4.15 keeps the MySQL module under community/
            from testcontainers.community.mysql import MySqlContainer
        except ImportError:
            from testcontainers.mysql import MySqlContainer

        container = MySqlContainer("mysql:8.0", username="root", password="test", dbname="test")
        container.start()
    except Exception as exc:  # no Docker, no image, no permission: all mean "no server"
        problem = type(exc).__name__
    if problem is not None:  # outside the except block: one line, no exception chain
        pytest.fail(f"{NO_SERVER} ({problem})", pytrace=False)
    try:
        yield db.DbSettings(
            host=container.get_container_host_ip(),
            port=int(container.get_exposed_port(3306)),
            user="root",
            password="test",
            database="test",
        )
    finally:
        container.stop()


_ENV_KEYS = ("DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_DATABASE")


@pytest.fixture(scope="session")
def test_database(database_server: db.DbSettings) -> Iterator[db.DbSettings]:
    """A fresh database with the schema applied; DB_* point at it for the whole session."""
    name = f"test_llamadas_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    settings = db.DbSettings(
        host=database_server.host,
        port=database_server.port,
        user=database_server.user,
        password=database_server.password,
        database=name,
    )
    saved = {key: os.environ.get(key) for key in _ENV_KEYS}
    os.environ.update(
        DB_HOST=settings.host,
        DB_PORT=str(settings.port),
        DB_USER=settings.user,
        DB_PASSWORD=settings.password,
        DB_DATABASE=name,
    )
    try:
        db.init_database(settings)
    except db.DatabaseUnavailableError as exc:
        pytest.fail(f"{NO_SERVER}: {exc}", pytrace=False)
    db.close_connection()
    try:
        yield settings
    finally:
        db.close_connection()
        conn = db.connect(settings, with_database=False)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def clean_db(test_database: db.DbSettings) -> Iterator[db.DbSettings]:
    """The test database emptied, with the default configuration and no cached config."""
    from tests.helpers import reset_database

    reset_database()
    yield test_database
    scheduler_config.clear_config_cache()
