"""db.py on a real Galera cluster: schema tools under REQUIRED_PRIMARY_KEY, a 1213 from any
statement re-runs the whole transaction (never a commit after it), fail-over to the next
host of DB_HOST when the node in use dies (before COMMIT: re-run; during COMMIT: unknown)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time

import pymysql
import pytest

import db
from tests.galera.conftest import data_hash, node_connection
from tests.helpers import make_lead, run_script, sql

pytestmark = [pytest.mark.galera, pytest.mark.usefixtures("on_cluster")]


def _use_hosts(text: str) -> None:
    os.environ["DB_HOST"] = text
    db.close_connection()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_init_and_check_work_with_required_primary_key(on_cluster, galera_db):
    conn = on_cluster.connect(3)
    with conn.cursor() as cur:
        cur.execute("SELECT @@wsrep_mode AS mode")
        assert "REQUIRED_PRIMARY_KEY" in cur.fetchone()["mode"]
        cur.execute(
            "SELECT t.table_name AS t, t.engine AS engine, "
            "  (SELECT COUNT(*) FROM information_schema.table_constraints c "
            "   WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name "
            "     AND c.constraint_type = 'PRIMARY KEY') AS pk "
            "FROM information_schema.tables t WHERE t.table_schema = %s",
            (galera_db,),
        )
        tables = cur.fetchall()
    conn.close()
    assert len(tables) >= 4
    assert all(t["engine"] == "InnoDB" and t["pk"] == 1 for t in tables), tables
    env = {"DB_HOST": on_cluster.db_host(3, 1), "DB_DATABASE": galera_db}
    again = run_script("db.py", "init", env=env)  # applying the schema twice is safe
    assert again.returncode == 0, again.stderr
    check = run_script("db.py", "check", env=env)
    assert check.returncode == 0, check.stdout + check.stderr


def _conflict_from_other_node(cluster, database: str, lead_id: int) -> None:
    """Node 1 commits a write to the lead: Galera aborts the open transaction on node 2."""
    other = node_connection(cluster, 1, database)
    try:
        with other.cursor() as cur:
            cur.execute("UPDATE leads SET apellidos = 'winner' WHERE id = %s", (lead_id,))
        other.commit()
    finally:
        other.close()


def _wait_for_abort(cur) -> pymysql.err.MySQLError:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            cur.execute("SELECT nombre FROM leads WHERE id > 0 LIMIT 1")  # a plain SELECT
        except pymysql.err.MySQLError as exc:
            return exc
        time.sleep(0.05)
    raise AssertionError("the conflicting write from node 1 never aborted this transaction")


def test_a_1213_swallowed_by_the_work_reruns_the_whole_transaction(on_cluster, galera_db):
    target = make_lead(nombre="Target")
    _use_hosts(on_cluster.db_host(2))
    db.reset_retry_stats()
    runs = []

    def careless_work(cur) -> str:
        runs.append(len(runs) + 1)
        cur.execute("INSERT INTO leads (nombre, telefono) VALUES (%s, '+34600000001')",
                    (f"run{len(runs)}",))  # fmt: skip
        cur.execute("UPDATE leads SET apellidos = 'mine' WHERE id = %s", (target,))
        if len(runs) == 1:
            _conflict_from_other_node(on_cluster, galera_db, target)
            error = _wait_for_abort(cur)  # swallowed, as careless code would
            assert error.args[0] == 1213
            with contextlib.suppress(pymysql.err.MySQLError):  # and carries on
                cur.execute("INSERT INTO leads (nombre, telefono) VALUES ('after', '+346')")
        return "done"

    assert db.run_in_transaction(careless_work, name="careless") == "done"
    assert runs == [1, 2]
    names = [r["nombre"] for r in sql("SELECT nombre FROM leads ORDER BY id")]
    assert names == ["Target", "run2"]  # nothing of the aborted run, nothing after the abort
    assert sql("SELECT apellidos FROM leads WHERE id = %s", (target,))[0]["apellidos"] == "mine"
    assert db.retry_stats[1213] == 1


def test_transaction_block_that_swallows_a_1213_commits_nothing(on_cluster, galera_db):
    target = make_lead(nombre="Target")
    _use_hosts(on_cluster.db_host(2))
    with pytest.raises(pymysql.err.OperationalError) as info, db.transaction("careless") as cur:
        cur.execute("UPDATE leads SET apellidos = 'mine' WHERE id = %s", (target,))
        _conflict_from_other_node(on_cluster, galera_db, target)
        _wait_for_abort(cur)
        with contextlib.suppress(pymysql.err.MySQLError):
            cur.execute("INSERT INTO leads (nombre, telefono) VALUES ('after', '+346')")
    assert info.value.args[0] == 1213
    assert [r["nombre"] for r in sql("SELECT nombre FROM leads")] == ["Target"]
    assert sql("SELECT apellidos FROM leads")[0]["apellidos"] == "winner"


def _port(cur) -> int:
    cur.execute("SELECT @@port AS port")
    return int(cur.fetchone()["port"])


def test_fail_over_to_the_next_host_when_the_node_in_use_dies(on_cluster, galera_db):
    nodes = on_cluster.nodes
    _use_hosts(f"127.0.0.1:{_closed_port()},{on_cluster.db_host(2, 3)}")
    try:
        # The first host that answers wins: node 2 (the first host is down).
        assert db.run_in_transaction(_port) == nodes[2].port

        # Lost before COMMIT: the whole transaction is re-run on the next host, once.
        def insert_then_lose_node(cur) -> int:
            cur.execute("INSERT INTO leads (nombre, telefono) VALUES ('failover', '+346')")
            if _port(cur) == nodes[2].port:
                on_cluster.kill(2)
            cur.execute("SELECT COUNT(*) AS n FROM leads")
            return _port(cur)

        assert db.run_in_transaction(insert_then_lose_node, name="cut") == nodes[3].port
        assert sql("SELECT COUNT(*) AS n FROM leads WHERE nombre = 'failover'")[0]["n"] == 1
        assert db.run_in_transaction(_port) == nodes[3].port  # stays on the live host
        assert on_cluster.restart(2) == "IST"  # two live nodes keep quorum while 3 freezes
        on_cluster.wait_size(3)

        # Lost during COMMIT: reported as unknown, never guessed.
        os.environ["DB_READ_TIMEOUT"] = "3"
        db.close_connection()

        def insert_then_freeze_node(cur) -> None:
            cur.execute("INSERT INTO leads (nombre, telefono) VALUES ('unknown', '+346')")
            assert _port(cur) == nodes[3].port
            os.kill(on_cluster.pid(3), signal.SIGSTOP)  # COMMIT will get no answer

        with pytest.raises(db.CommitUnknownError):
            db.run_in_transaction(insert_then_freeze_node, name="commit cut")
        on_cluster.kill(3)  # SIGKILL ends a stopped process too
        os.environ.pop("DB_READ_TIMEOUT")
        db.close_connection()
        _use_hosts(on_cluster.db_host(1, 2, 3))
        # The node never answered the COMMIT; here it was not applied.
        assert sql("SELECT COUNT(*) AS n FROM leads WHERE nombre = 'unknown'")[0]["n"] == 0
    finally:
        os.environ.pop("DB_READ_TIMEOUT", None)
        db.close_connection()
        for number in (2, 3):
            if on_cluster.pid(number) is None:
                on_cluster.restart(number)
        on_cluster.wait_size(3)
    hashes = {n: data_hash(on_cluster, n, galera_db) for n in (1, 2, 3)}
    assert len(set(hashes.values())) == 1, hashes
