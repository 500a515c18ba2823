"""Database access: settings, reused connections, transactions with retry, schema tools.

Settings come from the environment and a `.env` file (DB_HOST, DB_PORT,
DB_USER, DB_PASSWORD, DB_DATABASE; see .env.example). Every connection runs
with the session time zone '+00:00' (so the seed's NOW() queries see UTC),
READ COMMITTED isolation and autocommit off.

Each thread keeps one open connection and reuses it: opening a pymysql
connection costs tens of milliseconds, so it is never done per query.

Command line:
    python db.py init [--dry-run]  create the database, or upgrade it in place up to schema.sql
                                   (migraciones.py; safe to run twice; keeps every row)
    python db.py check             report missing tables, columns, indexes and data
                                   migrations (exit 1 if any)

Settings: each of DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_DATABASE comes from the first
source that gives it: the DB_* variable, then MYSQL_URL (else DATABASE_URL,
mysql://user:pass@host:port/db), then the original system's MYSQLHOST, MYSQLPORT,
MYSQLUSER, MYSQLPASSWORD, MYSQLDATABASE.
"""

from __future__ import annotations

import logging
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pymysql
import pymysql.cursors
from dotenv import load_dotenv
from pymysql.constants import CLIENT, CR, ER

import queries
from queries import Query

logger = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA_PATH = Path(__file__).with_name("schema.sql")

# --- connection and transaction code (fail-over, Galera-safe retries) -----------------
# Errors after which the whole transaction is rolled back and run again.
RETRYABLE_LOCK_ERRORS = frozenset({ER.LOCK_DEADLOCK, ER.LOCK_WAIT_TIMEOUT})
# The connection is gone; the server has rolled back whatever was not committed.
CONNECTION_LOST_ERRORS = frozenset(
    {CR.CR_SERVER_GONE_ERROR, CR.CR_SERVER_LOST, CR.CR_SERVER_LOST_EXTENDED, 2055, 1927}
)  # 1927: MariaDB's "connection was killed"
# Galera: the node left the primary component (or is still joining) and refuses work;
# nothing was committed there, so the transaction is re-run on another host.
NODE_NOT_READY_ERRORS = frozenset({ER.UNKNOWN_COM_ERROR})  # 1047 "WSREP has not yet prepared"
# After these the server has already rolled back the WHOLE transaction (not just the
# statement): on Galera a 1213 can come from any statement, even a SELECT or COMMIT, and
# a later COMMIT would "succeed" with nothing in it, or commit only the statements run
# after the error in a new implicit transaction. The cursor refuses to go on after one.
TRANSACTION_ABORTING_ERRORS = (
    frozenset({ER.LOCK_DEADLOCK}) | CONNECTION_LOST_ERRORS | NODE_NOT_READY_ERRORS
)
_IDENTIFIER = re.compile(r"[A-Za-z0-9_]{1,64}")


class DatabaseError(Exception):
    """Base class of the errors this module raises itself."""


class DatabaseUnavailableError(DatabaseError):
    """The database cannot be reached or refused the login."""


class TransactionFailedError(DatabaseError):
    """A transaction was rolled back and could not be completed after retries."""


class CommitUnknownError(DatabaseError):
    """The connection was lost while COMMIT was in flight: the outcome is unknown."""


# What a script must catch to exit 3 ("database error"): this module's errors and the
# driver's own (a `transaction()` block does not retry, so a 1213 or a lost connection
# there reaches the caller as a pymysql error).
DATABASE_ERRORS: tuple[type[BaseException], ...] = (DatabaseError, pymysql.err.MySQLError)


@dataclass(frozen=True)
class DbSettings:
    """Where and how to connect. The password never appears in repr or messages."""

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = field(default="", repr=False)
    database: str = "llamadas"
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    write_timeout: float = 60.0
    lock_wait_timeout: int = 10

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DbSettings:
        """Build settings from DB_* variables (after loading `.env`).

        Raises ValueError naming the variable when a value is malformed.
        """
        if environ is None:
            load_env_file()
            environ = os.environ
        environ = resolve_environment(environ)
        defaults = cls()

        def number(name: str, default: float, kind: type = float) -> Any:
            raw = environ.get(name, "").strip()
            if not raw:
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number, got {raw!r}") from None
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero, got {raw!r}")
            return value

        database = environ.get("DB_DATABASE", "").strip() or defaults.database
        if not _IDENTIFIER.fullmatch(database):
            raise ValueError(
                f"DB_DATABASE must be 1-64 letters, digits or underscores, got {database[:70]!r}"
            )
        return cls(
            host=environ.get("DB_HOST", "").strip() or defaults.host,
            port=number("DB_PORT", defaults.port, int),
            user=environ.get("DB_USER", "").strip() or defaults.user,
            password=environ.get("DB_PASSWORD", ""),
            database=database,
            connect_timeout=number("DB_CONNECT_TIMEOUT", defaults.connect_timeout),
            read_timeout=number("DB_READ_TIMEOUT", defaults.read_timeout),
            write_timeout=number("DB_WRITE_TIMEOUT", defaults.write_timeout),
            lock_wait_timeout=number("DB_LOCK_WAIT_TIMEOUT", defaults.lock_wait_timeout, int),
        )

    def __post_init__(self) -> None:
        parse_hosts(self.host, self.port)  # a malformed DB_HOST fails here, in one line

    @property
    def hosts(self) -> tuple[tuple[str, int], ...]:
        """(host, port) pairs of DB_HOST in order; DB_PORT is the default port."""
        return parse_hosts(self.host, self.port)

    def describe(self) -> str:
        """Host(s), port(s), user and database, for messages (never the password)."""
        where = ",".join(_host_text(host, port) for host, port in self.hosts)
        return f"{self.user}@{where}/{self.database}"


# --- the original system's environment (MYSQL_URL / DATABASE_URL, MYSQLHOST ...) ------------

# Each DB_* setting is taken from the first source that gives it: DB_* itself, then the URL
# (MYSQL_URL, else DATABASE_URL), then the original's MYSQLHOST-style variable.
_LEGACY_NAMES = {
    "DB_HOST": "MYSQLHOST",
    "DB_PORT": "MYSQLPORT",
    "DB_USER": "MYSQLUSER",
    "DB_PASSWORD": "MYSQLPASSWORD",
    "DB_DATABASE": "MYSQLDATABASE",
}
_URL_SCHEMES = frozenset({"mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql"})


def parse_database_url(url: str, variable: str = "MYSQL_URL") -> dict[str, str]:
    """`mysql://user:pass@host:port/db` as DB_* values (only the parts present).

    User and password may be percent-encoded. Raises ValueError naming `variable`, never
    showing the password, when the URL is not a mysql:// URL or its port is not a number.
    """
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in _URL_SCHEMES or not parts.hostname:
        raise ValueError(f"{variable} must look like mysql://user:password@host:port/database")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{variable} has a port that is not a number") from None
    values = {"DB_HOST": parts.hostname}
    if port is not None:
        values["DB_PORT"] = str(port)
    if parts.username:
        values["DB_USER"] = unquote(parts.username)
    if parts.password is not None:
        values["DB_PASSWORD"] = unquote(parts.password)
    database = parts.path.lstrip("/")
    if database:
        values["DB_DATABASE"] = unquote(database)
    return values


def resolve_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with each DB_HOST/PORT/USER/PASSWORD/DATABASE filled by precedence:
    DB_* (set and non-empty; DB_PASSWORD counts when set at all) > MYSQL_URL, else
    DATABASE_URL > MYSQLHOST, MYSQLPORT, MYSQLUSER, MYSQLPASSWORD, MYSQLDATABASE.
    """
    resolved = dict(environ)
    url_name = next((n for n in ("MYSQL_URL", "DATABASE_URL") if environ.get(n, "").strip()), None)
    from_url = parse_database_url(environ[url_name], url_name) if url_name else {}
    for name, legacy in _LEGACY_NAMES.items():
        own = environ.get(name)
        if own is not None and (own.strip() or name == "DB_PASSWORD"):
            continue
        if name in from_url:
            resolved[name] = from_url[name]
        elif environ.get(legacy) is not None and (environ[legacy].strip() or name == "DB_PASSWORD"):
            resolved[name] = environ[legacy]
    return resolved


_env_loaded = False


def load_env_file() -> None:
    """Load `.env` from the working directory, else beside this file, once.

    Variables already set in the environment win over the file.
    """
    global _env_loaded
    if _env_loaded:
        return
    _env_loaded = True
    for candidate in (Path.cwd() / ".env", Path(__file__).with_name(".env")):
        if candidate.is_file():
            load_dotenv(candidate, override=False)
            return


_HOST_PART = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[^\s:\[\],]+))(?::(?P<port>\d+))?$"
)


def parse_hosts(text: str, default_port: int = 3306) -> tuple[tuple[str, int], ...]:
    """Parse DB_HOST: one host or a comma-separated list, each with an optional `:port`.

    `db1,db2:3307,db3` -> (("db1", 3306), ("db2", 3307), ("db3", 3306)) with DB_PORT 3306;
    IPv6 literals go in brackets (`[::1]:3307`). Raises ValueError naming DB_HOST when
    the list is empty, a part is blank or malformed, a port is out of range, or a host
    is listed twice.
    """
    parts = [part.strip() for part in str(text).split(",")]
    if not any(parts):
        raise ValueError("DB_HOST is empty: give a host name or a comma-separated list")
    hosts: list[tuple[str, int]] = []
    for part in parts:
        match = _HOST_PART.match(part)
        if not match:
            raise ValueError(
                f"DB_HOST must be host[:port] items separated by commas, got {part[:70]!r}"
            )
        host = match["v6"] or match["name"]
        port = int(match["port"]) if match["port"] else default_port
        if not 0 < port < 65536:
            raise ValueError(f"DB_HOST port must be 1-65535, got {part[:70]!r}")
        if (host, port) in hosts:
            raise ValueError(f"DB_HOST lists {_host_text(host, port)} twice")
        hosts.append((host, port))
    return tuple(hosts)


def _host_text(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Failover:
    """Which host of DB_HOST this process uses now (shared by its threads).

    A process starts with the first host that answers and stays on it; when its
    connection to that host is lost it moves to the next one (wrapping around), so
    the processes of one deployment write through the same node while it lives.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hosts: tuple[tuple[str, int], ...] = ()
        self.current = 0

    def order(self, hosts: tuple[tuple[str, int], ...]) -> list[int]:
        with self.lock:
            if hosts != self.hosts:  # new settings: start again from the first host
                self.hosts, self.current = hosts, 0
            return [(self.current + i) % len(hosts) for i in range(len(hosts))]

    def connected(self, hosts: tuple[tuple[str, int], ...], index: int) -> None:
        with self.lock:
            if hosts == self.hosts:
                self.current = index

    def lost(self, hosts: tuple[tuple[str, int], ...], index: int) -> None:
        with self.lock:
            if hosts == self.hosts and index == self.current and len(hosts) > 1:
                self.current = (index + 1) % len(hosts)
                logger.warning(
                    "lost the database at %s; failing over to %s",
                    _host_text(*hosts[index]),
                    _host_text(*hosts[self.current]),
                )


_failover = _Failover()


class TrackingCursor(pymysql.cursors.DictCursor):
    """A DictCursor that remembers an error that aborted the whole transaction.

    After such an error (see TRANSACTION_ABORTING_ERRORS) every further statement on
    the connection raises the same error again until the transaction ends, and
    run_in_transaction/transaction never commit: code that catches the error and
    carries on cannot commit half a transaction.

    Statements queued by `defer` are sent (one round trip) before any statement this
    cursor sends, so every statement sees the writes queued before it, in order.
    """

    def _query(self, q):  # type: ignore[override]
        conn = self.connection
        if getattr(conn, "_deferred", None):
            _flush_deferred(conn)
        return super()._query(q)

    def execute(self, query, args=None):  # type: ignore[override]
        conn = self.connection
        aborted = getattr(conn, "_txn_aborted", None)
        if aborted is not None:
            raise type(aborted)(*aborted.args)
        try:
            return super().execute(query, args)
        except pymysql.err.MySQLError as exc:
            if _error_code(exc) in TRANSACTION_ABORTING_ERRORS or isinstance(
                exc, pymysql.err.InterfaceError
            ):
                conn._txn_aborted = exc
            raise


def _clear_abort(conn) -> None:
    conn._txn_aborted = None


# --- deferred writes: sent together with the next statement's round trip or the COMMIT ------


@dataclass(frozen=True)
class Deferred:
    """One queued statement: its Query (for its name) and its text with the parameters in."""

    query: Query
    sql: str


def defer(cur, query: Query, params: Sequence[Any] | Mapping[str, Any] = ()) -> None:
    """Run a named write whose row count and lastrowid nobody reads, at the latest by COMMIT.

    Inside `run_in_transaction`/`transaction` the statement is queued on the connection and
    sent, in order, with the other queued ones in one multi-statement round trip: just before
    the next statement of the transaction (so reads see it), or together with the COMMIT. Its
    errors are raised there, with the same effect as if it had run at once: the transaction
    is rolled back (a deadlock re-runs it, rebuilding the queue), a lost connection during
    the round trip carrying the COMMIT is a CommitUnknownError, and MariaDB/MySQL stop a
    multi-statement at its first error, so nothing after a failed statement runs (the COMMIT
    included). Only for statements whose errors the transaction's own code does not catch.
    Outside those transactions it runs at once, like `execute`.
    """
    pending = getattr(cur.connection, "_deferred", None)
    if pending is None:
        cur.execute(query.sql, params)
        return
    pending.append(Deferred(query, cur.mogrify(query.sql, params)))


def _begin_deferring(conn) -> None:
    conn._deferred = []


def _stop_deferring(conn) -> None:
    conn._deferred = None


def _send_batch(conn, statements: Sequence[Deferred], *, commit: bool) -> None:
    """Send `statements` (then COMMIT when `commit`) as one multi-statement and read every
    result; the first error is raised (the server ran nothing after it). Any error aborts
    the transaction as TrackingCursor's aborting errors do (every later statement raises it
    again, nothing is committed): the statements after the failed one never ran, so even
    code that catches the error cannot commit the transaction without them."""
    text = ";\n".join([*(s.sql.strip() for s in statements), *(["COMMIT"] if commit else [])])
    try:
        with pymysql.cursors.Cursor(conn) as cur:
            cur.execute(text)
            while cur.nextset():
                pass
    except pymysql.err.MySQLError as exc:
        conn._txn_aborted = exc
        raise


def _flush_deferred(conn) -> None:
    """Send the queued statements now (before another statement of the transaction)."""
    statements, conn._deferred = conn._deferred, []
    _send_batch(conn, statements, commit=False)


def _commit(conn) -> None:
    """COMMIT, in the same round trip as the queued statements when there are any."""
    statements = getattr(conn, "_deferred", None)
    if not statements:
        conn.commit()
        return
    conn._deferred = []
    _send_batch(conn, statements, commit=True)


def _raise_if_aborted(conn) -> None:
    aborted = getattr(conn, "_txn_aborted", None)
    if aborted is not None:
        raise type(aborted)(*aborted.args)


def _open_one(
    settings: DbSettings, host: str, port: int, with_database: bool, local_infile: bool = False
):
    conn = pymysql.connect(
        host=host,
        port=port,
        user=settings.user,
        password=settings.password,
        database=settings.database if with_database else None,
        charset="utf8mb4",
        cursorclass=TrackingCursor,
        autocommit=False,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        write_timeout=settings.write_timeout,
        init_command="SET time_zone = '+00:00'",
        local_infile=local_infile,
        # `defer` sends queued writes and the COMMIT in one packet. Every statement's values
        # are parameters escaped by the driver, never text formatted into the SQL.
        client_flag=CLIENT.MULTI_STATEMENTS,
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cur.execute("SET SESSION innodb_lock_wait_timeout = %s", (settings.lock_wait_timeout,))
            # A Galera node outside the primary component answers but refuses work.
            cur.execute("SHOW STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_provider_name')")
            wsrep = {row["Variable_name"]: str(row["Value"]) for row in cur.fetchall()}
        conn.commit()
        if wsrep.get("wsrep_provider_name") and wsrep.get("wsrep_ready", "").upper() != "ON":
            raise pymysql.err.OperationalError(1047, "Galera node is not ready (wsrep_ready=OFF)")
    except BaseException:
        with suppress(pymysql.err.Error):
            conn.close()
        raise
    _clear_abort(conn)
    return conn


def connect(
    settings: DbSettings | None = None, *, with_database: bool = True, local_infile: bool = False
):
    """Open a new connection configured for this system (`local_infile`: may send files to
    the server with LOAD DATA LOCAL INFILE; off unless asked, see allow_local_infile).

    DB_HOST may list several hosts: they are tried in order, starting with the one this
    process uses now (the first, until a connection to it is lost), and the first that
    answers and is ready for work wins. Prefer `transaction()`/`run_in_transaction()`,
    which reuse the thread's connection and fail over on their own.

    Raises DatabaseUnavailableError naming every host tried, the database, and what to
    check.
    """
    settings = settings or DbSettings.from_env()
    hosts = settings.hosts
    codes = []
    for index in _failover.order(hosts):
        host, port = hosts[index]
        try:
            conn = _open_one(settings, host, port, with_database, local_infile)
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else "?"
            codes.append(f"{_host_text(host, port)} error {code}")
            if code in (ER.ACCESS_DENIED_ERROR, ER.BAD_DB_ERROR) and len(hosts) == 1:
                break
            continue
        conn._host_index = index
        conn._hosts = hosts
        _failover.connected(hosts, index)
        return conn
    raise DatabaseUnavailableError(
        f"cannot connect to MySQL at {', '.join(codes)} "
        f"database {settings.database!r} as user {settings.user!r}: "
        "check that the server is running, DB_HOST/DB_PORT/DB_USER/DB_PASSWORD/"
        "DB_DATABASE in the environment or .env, and that `python db.py init` was run"
    ) from None


class _ThreadConnection(threading.local):
    conn: Any = None
    pid: int = 0
    in_transaction: bool = False
    local_infile: bool = False


_local = _ThreadConnection()


def _thread_connection():
    # A connection inherited through fork() shares its socket with the parent:
    # never use it in the child, open a fresh one.
    if _local.conn is not None and _local.pid == os.getpid() and _local.conn.open:
        return _local.conn
    _local.conn = connect(local_infile=_local.local_infile)
    _local.pid = os.getpid()
    return _local.conn


def allow_local_infile() -> None:
    """Let this thread's connection send files with LOAD DATA LOCAL INFILE (the lead
    import's writer thread). Off everywhere else: a connection that allows it would send any
    file the server asks for, so only a thread that loads files of its own turns it on."""
    if not _local.local_infile:
        close_connection()
        _local.local_infile = True


def close_connection() -> None:
    """Close this thread's reused connection, if any (the next use reconnects)."""
    conn, _local.conn = _local.conn, None
    if conn is not None and _local.pid == os.getpid():
        with suppress(pymysql.err.Error):
            conn.close()


def _connection_lost(conn) -> None:
    """Drop this thread's connection after a loss and move the process to the next host."""
    hosts, index = getattr(conn, "_hosts", None), getattr(conn, "_host_index", None)
    if hosts is not None and index is not None:
        _failover.lost(hosts, index)
    close_connection()


def _error_code(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _is_lost(exc: BaseException) -> bool:
    code = _error_code(exc)
    return (
        code in CONNECTION_LOST_ERRORS
        or code in NODE_NOT_READY_ERRORS
        or isinstance(exc, pymysql.err.InterfaceError)
    )


# Deadlocks and Galera certification conflicts (1213) get at least this many re-runs: with
# several writer nodes two dispatchers claiming the same due rows collide about half the
# time (SKIP LOCKED cannot see the other node's locks), and 3 re-runs were seen to run out.
CONFLICT_RETRIES = 10

# Retries by MySQL error code since the process started (or reset_retry_stats()):
# 1213 counts Galera certification conflicts and deadlocks, 2013 lost connections, ...
retry_stats: Counter[int] = Counter()
_stats_lock = threading.Lock()


def reset_retry_stats() -> None:
    """Zero retry_stats (benchmarks read it around a run)."""
    with _stats_lock:
        retry_stats.clear()


def run_in_transaction(
    work: Callable[[Any], T], *, retries: int = 3, name: str = "transaction"
) -> T:
    """Run `work(cursor)` in one transaction on this thread's connection.

    Commits when `work` returns, rolls back on any exception. Deadlocks and Galera
    certification conflicts (1213, from ANY statement including SELECT and COMMIT),
    lock wait timeouts, a Galera node that stopped being ready (1047) and a
    connection lost before COMMIT make the whole transaction run again, at most
    `retries` more times, on a fresh connection (the next host of DB_HOST after a
    loss), so `work` must only touch the database (and local state it rebuilds on
    each run). A 1213 gets at least CONFLICT_RETRIES re-runs. If `work` catches a
    transaction-aborting error and returns anyway, nothing is committed: the error is
    raised as if `work` had let it out.

    Raises TransactionFailedError when the retries are exhausted,
    CommitUnknownError when the connection died during COMMIT, and lets every
    other exception through after the rollback.
    """
    if _local.in_transaction:
        raise RuntimeError(f"{name}: nested transactions are not supported")
    attempt = 0
    while True:
        conn = _thread_connection()
        _clear_abort(conn)
        _begin_deferring(conn)
        _local.in_transaction = True
        committing = False
        try:
            with conn.cursor() as cur:
                result = work(cur)
            _raise_if_aborted(conn)  # the work swallowed an abort: never commit
            committing = True  # from here a lost connection may have committed
            _commit(conn)
            return result
        except pymysql.err.MySQLError as exc:
            code = _error_code(exc)
            lost = _is_lost(exc)
            if lost:
                _connection_lost(conn)
                if committing:  # 1047 here too: the write set may have reached the others
                    raise CommitUnknownError(
                        f"{name}: connection lost during COMMIT; check whether it was applied"
                    ) from exc
            else:
                _rollback_quietly(conn)
            if not lost and code not in RETRYABLE_LOCK_ERRORS:
                raise
            budget = max(retries, CONFLICT_RETRIES) if code == ER.LOCK_DEADLOCK else retries
            if attempt >= budget:
                raise TransactionFailedError(
                    f"{name}: gave up after {attempt + 1} attempts (MySQL error {code}: "
                    f"{exc.args[1] if len(exc.args) > 1 else exc})"
                ) from exc
            attempt += 1
            with _stats_lock:
                retry_stats[code if code is not None else 0] += 1
            # Full jitter: two claimers on two Galera nodes that lost to each other must not
            # come back in step and collide again.
            delay = min(2.0, 0.05 * 2**attempt) * random.uniform(0.1, 1.0)
            if lost:
                delay = 0.0  # another host (or a fresh connection) is ready now
            logger.warning(
                "%s: MySQL error %s, retrying (%d/%d) in %.2fs", name, code, attempt, budget, delay
            )
            time.sleep(delay)
        except BaseException:
            _rollback_quietly(conn)
            raise
        finally:
            _stop_deferring(conn)
            _local.in_transaction = False


def _rollback_quietly(conn) -> None:
    _clear_abort(conn)
    if getattr(conn, "_deferred", None):
        conn._deferred = []  # never sent: the rollback discards them
    try:
        conn.rollback()
    except pymysql.err.Error:
        # The connection is unusable; drop it so the next transaction reconnects
        # (to the next host of DB_HOST).
        _connection_lost(conn)


@contextmanager
def transaction(name: str = "transaction") -> Iterator[Any]:
    """`with transaction() as cur:` — commit on success, roll back on any exception.

    Unlike run_in_transaction this cannot re-run the block, so it does not
    retry; use it for reads and for work whose caller handles retries. After a
    lost connection the next use connects to the next host of DB_HOST.
    """
    if _local.in_transaction:
        raise RuntimeError(f"{name}: nested transactions are not supported")
    conn = _thread_connection()
    _clear_abort(conn)
    _begin_deferring(conn)
    _local.in_transaction = True
    try:
        with conn.cursor() as cur:
            yield cur
        _raise_if_aborted(conn)  # the block swallowed an abort: never commit
        _commit(conn)
    except BaseException as exc:
        if _is_lost(exc):
            _connection_lost(conn)
        else:
            _rollback_quietly(conn)
        raise
    finally:
        _stop_deferring(conn)
        _local.in_transaction = False


# --- small helpers that run a named query on a cursor -------------------------------


def execute(cur, query: Query, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
    """Run a named statement; return the affected row count."""
    return cur.execute(query.sql, params)


def fetch_one(cur, query: Query, params: Sequence[Any] | Mapping[str, Any] = ()) -> dict | None:
    """Run a named query and return its first row, or None."""
    cur.execute(query.sql, params)
    return cur.fetchone()


def fetch_all(cur, query: Query, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict]:
    """Run a named query and return all its rows."""
    cur.execute(query.sql, params)
    return list(cur.fetchall())


# --- schema ---------------------------------------------------------------------------


def schema_statements(path: Path = SCHEMA_PATH) -> list[str]:
    """The statements of schema.sql, comments removed, split at line-ending semicolons."""
    lines = [
        line for line in path.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("--")
    ]  # fmt: skip
    text = "\n".join(lines)
    return [stmt.strip() for stmt in re.split(r";[ \t]*(?:\n|$)", text) if stmt.strip()]


def apply_schema(cur) -> int:
    """Apply every statement of schema.sql with the given cursor; return how many ran."""
    statements = schema_statements()
    for statement in statements:
        cur.execute(statement)
    return len(statements)


def init_database(settings: DbSettings | None = None, *, dry_run: bool = False) -> int:
    """Create the database if missing, or upgrade it in place, up to schema.sql.

    See migraciones.py: missing tables, columns, indexes and ENUM values are added, data
    migrations run once, nothing is lost. Safe to run twice (the second run executes no
    statement). Returns how many statements ran (or, in a dry run, would run).
    """
    return upgrade_database(settings, dry_run=dry_run).count


@dataclass
class InitResult:
    """What `init` did: the statements (run or, in a dry run, planned) and the notes."""

    statements: list[str]
    notes: list[str]
    created: bool
    legacy: bool

    @property
    def count(self) -> int:
        return len(self.statements)


def upgrade_database(settings: DbSettings | None = None, *, dry_run: bool = False) -> InitResult:
    """The work of `python db.py init [--dry-run]` (see init_database)."""
    import migraciones

    settings = settings or DbSettings.from_env()
    conn = connect(settings, with_database=False)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                (settings.database,),
            )
            exists = cur.fetchone() is not None
            # The name is checked against _IDENTIFIER in DbSettings, so quoting is safe.
            create = (
                f"CREATE DATABASE IF NOT EXISTS `{settings.database}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
            if not exists and dry_run:
                statements = [create, *schema_statements()]
                return InitResult(statements, ["the database does not exist yet"], True, False)
            statements = [] if exists else [create]
            if not exists:
                cur.execute(create)
            cur.execute(f"USE `{settings.database}`")
            cur.execute(
                queries.UPGRADE_LOCK.sql, {"name": f"upgrade:{settings.database}", "timeout": 30}
            )
            if cur.fetchone()["taken"] != 1:
                raise DatabaseError("another `db.py init` is upgrading this database; try again")
            report = migraciones.upgrade(cur, settings.database, dry_run=dry_run)
        conn.commit()
        return InitResult(statements + report.statements, report.notes, not exists, report.legacy)
    finally:
        conn.close()


def schema_problems(cur, database: str) -> list[str]:
    """Compare the live schema with schema.sql (and the data migrations with those applied);
    return one line per missing piece. One mechanism: migraciones.pending_problems."""
    import migraciones  # imports db: resolved at call time

    return migraciones.pending_problems(cur, database)


def main(argv: Sequence[str] | None = None) -> int:
    """`python db.py init [--dry-run] | check`; returns the exit code (see
    script_errors.EXIT_CODES_HELP: 0 ok, 1 check found problems, 2 configuration error,
    3 database error)."""
    import argparse

    import script_errors

    parser = argparse.ArgumentParser(
        description="Schema tools for the scheduled-calls database.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Settings: DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_DATABASE (or .env); else "
        "MYSQL_URL / DATABASE_URL; else MYSQLHOST, MYSQLPORT, MYSQLUSER, MYSQLPASSWORD, "
        "MYSQLDATABASE. init creates or upgrades in place; --dry-run prints every statement."
        "\n\n" + script_errors.EXIT_CODES_HELP,
    )
    parser.add_argument("command", choices=("init", "check"))
    parser.add_argument("--dry-run", action="store_true", help="init: print, do not run")
    script_errors.add_verbose_flag(parser)
    args = parser.parse_args(argv)

    def body() -> int:
        settings = DbSettings.from_env()
        if args.command == "init":
            result = upgrade_database(settings, dry_run=args.dry_run)
            if args.dry_run:
                for statement in result.statements:
                    print(statement + ";")
            for note in result.notes:
                print(f"note: {note}")
            verb = "would run" if args.dry_run else "ran"
            if result.created:
                kind = "created"
            elif result.legacy:
                kind = "upgraded from the original system"
            elif not result.statements:
                kind = "up to date"
            else:
                kind = "upgraded"
            print(f"{settings.describe()}: {kind}; {verb} {result.count} statement(s)")
            return 0
        with transaction("schema check") as cur:
            problems = schema_problems(cur, settings.database)
        for problem in problems:
            print(problem)
        if problems:
            print(f"{len(problems)} problem(s): run `python db.py init`", file=sys.stderr)
            return 1
        print(f"schema OK on {settings.describe()}")
        return 0

    return script_errors.run_script(body, verbose=args.verbose, in_init=args.command == "init")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Run as the imported module `db`, not `__main__`: its exception classes are the ones
    # script_errors (and every caller) know.
    import db as _db

    sys.exit(_db.main())
