"""Fixtures for the tests that run on a real 3-node MariaDB Galera cluster.

`galera_cluster` (session) starts the cluster of tests/galera/cluster.py in a
fresh folder on free loopback ports and stops it at the end; `galera_db`
(session) creates the schema on it with `python db.py init` through node 1
(the nodes run with wsrep_mode=REQUIRED_PRIMARY_KEY); `on_cluster` (per test)
empties that database and points DB_* at it (all three nodes, node 1 first).
Without galera-4 the tests fail with one line saying how to install it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

import db
import scheduler_config
from tests.galera.cluster import Cluster, ClusterError, find_free_base_port, provider_path
from tests.helpers import run_script

_ENV_KEYS = ("DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_DATABASE")


@pytest.fixture(scope="session")
def galera_cluster() -> Iterator[Cluster]:
    """Three Synced nodes on 127.0.0.1 (folder and ports of their own), stopped at the end."""
    try:
        provider_path()
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    if shutil.which("rsync") is None:
        pytest.fail("rsync is not installed (apt-get install -y rsync)", pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="llamadas-galera-"))
    cluster = Cluster(root, find_free_base_port())
    try:
        cluster.start()
        yield cluster
    finally:
        if os.environ.get("GALERA_KEEP"):  # keep the folder (logs) for a post-mortem
            cluster.stop()
        else:
            cluster.destroy()


@pytest.fixture(scope="session")
def galera_db(galera_cluster: Cluster) -> str:
    """A database on the cluster with schema.sql applied by `db.py init`; returns its name."""
    name = f"galera_llamadas_{uuid.uuid4().hex[:8]}"
    env = {"DB_HOST": galera_cluster.db_host(1), "DB_USER": "root", "DB_PASSWORD": ""}
    init = run_script("db.py", "init", env={**env, "DB_DATABASE": name, "DB_PORT": "3306"})
    assert init.returncode == 0, init.stderr
    return name


@pytest.fixture
def on_cluster(galera_cluster: Cluster, galera_db: str) -> Iterator[Cluster]:
    """The cluster database emptied (defaults restored); DB_* point at all three nodes."""
    saved = {key: os.environ.get(key) for key in _ENV_KEYS}
    db.close_connection()
    os.environ.update(
        DB_HOST=galera_cluster.db_host(1, 2, 3),
        DB_PORT="3306",
        DB_USER="root",
        DB_PASSWORD="",
        DB_DATABASE=galera_db,
    )
    from tests.helpers import reset_database

    with db.transaction("empty cluster tables") as cur:
        for table in ("do_not_call", "dispatcher_runs"):
            cur.execute(f"DELETE FROM {table}")
    reset_database()
    try:
        yield galera_cluster
    finally:
        db.close_connection()
        scheduler_config.clear_config_cache()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def data_hash(cluster: Cluster, node: int, database: str) -> str:
    """A digest of every row of every table, read on one node after it caught up.

    A SELECT-based hash: CHECKSUM TABLE differs between identical copies of a table
    with a virtual column.
    """
    conn = cluster.connect(node, database)
    digest = hashlib.sha256()
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION wsrep_sync_wait = 1")  # see every write committed before
            cur.execute(
                "SELECT table_name AS t FROM information_schema.tables "
                "WHERE table_schema = %s ORDER BY table_name",
                (database,),
            )
            for table in [r["t"] for r in cur.fetchall()]:
                cur.execute(f"SELECT * FROM `{table}` ORDER BY 1")
                digest.update(table.encode())
                for row in cur.fetchall():
                    digest.update(repr(sorted(row.items())).encode())
    finally:
        conn.close()
    return digest.hexdigest()


def node_connection(cluster: Cluster, node: int, database: str):
    """A transactional (autocommit off) connection to one node, READ COMMITTED."""
    conn = cluster.connect(node, database)
    conn.autocommit(False)
    with conn.cursor() as cur:
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    return conn


__all__ = ["data_hash", "node_connection", "pymysql"]
