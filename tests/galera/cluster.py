"""A 3-node MariaDB Galera cluster on loopback ports, for tests and benchmarks.

Never touches the system MariaDB (3306, /etc/mysql): every node has its own
datadir and my.cnf under the cluster folder and is started with
`--defaults-file`. Root logs in over TCP with an empty password.

Command line (the folder is $GALERA_DIR, default /tmp/llamadas-galera; the
first SQL port is $GALERA_BASE_PORT, default 23310):

    python -m tests.galera.cluster start       create (first time) and start 3 nodes
    python -m tests.galera.cluster status      one line per node: port, pid, state, size
    python -m tests.galera.cluster kill N      SIGKILL node N (1-3)
    python -m tests.galera.cluster restart N   recover node N's position and rejoin by IST
    python -m tests.galera.cluster stop        stop every node (data kept)

Ports of node N (1-3): SQL base+10(N-1), group communication +1, IST +2, SST +3.
Exit codes: 0 ok, 1 a node failed to start or sync, 2 bad usage or ports in use.
"""

from __future__ import annotations

import argparse
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql

logger = logging.getLogger(__name__)

DEFAULT_DIR = Path(
    os.environ.get("GALERA_DIR", "") or Path(tempfile.gettempdir(), "llamadas-galera")
)
DEFAULT_BASE_PORT = int(os.environ.get("GALERA_BASE_PORT", "23310"))
NODES = (1, 2, 3)
PROVIDER_CANDIDATES = ("/usr/lib/galera/libgalera_smm.so", "/usr/lib/libgalera_smm.so")
_RECOVERED = re.compile(r"WSREP: Recovered position: ([0-9a-f-]{36}:-?\d+)")


def server_user() -> str:
    """The account the nodes run as: `mysql` when it exists.

    Not root: a root mariadbd starts the rsync SST daemon as root, which then
    writes as `nobody` and cannot fill the joiner's datadir.
    """
    try:
        pwd.getpwnam("mysql")
    except KeyError:
        return pwd.getpwuid(os.getuid()).pw_name
    return "mysql"


def _chown_tree(path: Path, user: str) -> None:
    if os.getuid() != 0:
        return
    entry = pwd.getpwnam(user)
    for folder, dirs, files in os.walk(path):
        for name in (folder, *(os.path.join(folder, f) for f in (*dirs, *files))):
            os.chown(name, entry.pw_uid, entry.pw_gid)


class ClusterError(Exception):
    """A node did not start, sync or stop as expected (the message names the node and log)."""


@dataclass(frozen=True)
class Node:
    """One node's number, folder and loopback ports."""

    number: int
    root: Path
    base_port: int

    @property
    def port(self) -> int:
        return self.base_port + 10 * (self.number - 1)

    @property
    def gcomm_port(self) -> int:
        return self.port + 1

    @property
    def ist_port(self) -> int:
        return self.port + 2

    @property
    def sst_port(self) -> int:
        return self.port + 3

    @property
    def folder(self) -> Path:
        return self.root / f"node{self.number}"

    @property
    def datadir(self) -> Path:
        return self.folder / "data"

    @property
    def cnf(self) -> Path:
        return self.folder / "my.cnf"

    @property
    def log(self) -> Path:
        return self.folder / "error.log"

    @property
    def pidfile(self) -> Path:
        return self.folder / "mariadbd.pid"

    @property
    def address(self) -> str:
        """`host:port` as DB_HOST accepts it."""
        return f"127.0.0.1:{self.port}"


def provider_path() -> str:
    for candidate in PROVIDER_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    raise ClusterError("galera-4 is not installed (apt-get install -y galera-4 rsync)")


def _program(name: str) -> str:
    for folder in (None, "/usr/sbin", "/usr/bin"):
        found = shutil.which(name, path=folder)
        if found:
            return found
    raise ClusterError(f"{name} not found: install mariadb-server")


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def find_free_base_port(start: int = 23310, stop: int = 33000, step: int = 40) -> int:
    """The first base port from `start` whose twelve cluster ports are all free."""
    for base in range(start, stop, step):
        ports = [base + 10 * i + k for i in range(3) for k in range(4)]
        if all(port_free(p) for p in ports):
            return base
    raise ClusterError(f"no free ports between {start} and {stop}")


def _pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (kill -0 says yes to zombies)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = re.search(r"^State:\s+(\S)", status, re.M)
    return bool(state) and state.group(1) not in ("Z", "X")


class Cluster:
    """The three nodes under one folder. Methods block until the nodes reach the state."""

    def __init__(self, root: Path = DEFAULT_DIR, base_port: int = DEFAULT_BASE_PORT) -> None:
        self.root = Path(root)
        self.base_port = base_port
        self.nodes = {n: Node(n, self.root, base_port) for n in NODES}
        self._procs: dict[int, subprocess.Popen] = {}

    # --- configuration ------------------------------------------------------------------

    def db_host(self, *numbers: int) -> str:
        """DB_HOST for the given nodes, in that order (all three by default)."""
        return ",".join(self.nodes[n].address for n in (numbers or NODES))

    def _write_cnf(self, node: Node) -> None:
        peers = ",".join(f"127.0.0.1:{n.gcomm_port}" for n in self.nodes.values())
        options = ";".join(
            (
                "base_host=127.0.0.1",
                f"base_port={node.gcomm_port}",
                f"gmcast.listen_addr=tcp://127.0.0.1:{node.gcomm_port}",
                f"ist.recv_addr=127.0.0.1:{node.ist_port}",
                "gcache.size=64M",
                # Tolerant of a loaded machine (CI shares its cores): a node starved for a
                # few seconds must not be declared dead, or the survivors lose quorum.
                "evs.suspect_timeout=PT10S",
                "evs.inactive_timeout=PT30S",
                "evs.install_timeout=PT15S",
                "evs.keepalive_period=PT1S",
            )
        )
        node.cnf.write_text(
            f"""[mariadbd]
user = {server_user()}
datadir = {node.datadir}
socket = {node.folder}/mariadbd.sock
pid-file = {node.pidfile}
log-error = {node.log}
port = {node.port}
bind-address = 127.0.0.1
skip-name-resolve
skip-log-bin
performance_schema = OFF
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
innodb_buffer_pool_size = 64M
innodb_log_file_size = 32M
innodb_flush_log_at_trx_commit = 2
max_connections = 200
wsrep_on = ON
wsrep_provider = {provider_path()}
wsrep_cluster_name = llamadas_test
wsrep_cluster_address = gcomm://{peers}
wsrep_node_name = node{node.number}
wsrep_node_address = 127.0.0.1:{node.gcomm_port}
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:{node.sst_port}
wsrep_provider_options = "{options}"
wsrep_mode = REQUIRED_PRIMARY_KEY
wsrep_slave_threads = 2
""",
            encoding="utf-8",
        )

    def _prepare(self) -> None:
        """Create folders, my.cnf files and node 1's system tables on first use."""
        for node in self.nodes.values():
            node.folder.mkdir(parents=True, exist_ok=True)
            self._write_cnf(node)
        for node in self.nodes.values():  # joiners receive everything by SST
            node.datadir.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # the server account must reach its datadir
        _chown_tree(self.root, server_user())
        first = self.nodes[1]
        if not (first.datadir / "mysql").is_dir():
            subprocess.run(
                [
                    _program("mariadb-install-db"),
                    "--no-defaults",
                    f"--datadir={first.datadir}",
                    f"--user={server_user()}",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )

    # --- processes ----------------------------------------------------------------------

    def pid(self, number: int) -> int | None:
        """The node's server pid if it is running (pid file, zombies excluded)."""
        proc = self._procs.get(number)
        if proc is not None and proc.poll() is None:
            return proc.pid
        try:
            pid = int(self.nodes[number].pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def _spawn(self, node: Node, *extra: str) -> subprocess.Popen:
        with node.log.open("ab") as log:
            return subprocess.Popen(
                [_program("mariadbd"), f"--defaults-file={node.cnf}", *extra],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # a Ctrl-C in the shell does not reach the nodes
                close_fds=True,
            )

    def start_node(self, number: int, *extra: str, timeout: float = 120) -> None:
        node = self.nodes[number]
        if self.pid(number):
            return
        for port in (node.port, node.gcomm_port, node.ist_port, node.sst_port):
            if not port_free(port):
                raise ClusterError(f"node {number}: port {port} is in use")
        self._procs[number] = self._spawn(node, *extra)
        self.wait_synced(number, timeout=timeout)

    def start(self, timeout: float = 180) -> None:
        """Start all three nodes (bootstrapping node 1) and wait until all are Synced."""
        if all(self.pid(n) for n in NODES):
            return
        self._prepare()
        if not any(self.pid(n) for n in NODES):
            grastate = self.nodes[1].datadir / "grastate.dat"
            if grastate.is_file():  # a stopped test cluster: node 1 may always bootstrap
                text = grastate.read_text()
                grastate.write_text(re.sub(r"safe_to_bootstrap: 0", "safe_to_bootstrap: 1", text))
            self.start_node(1, "--wsrep-new-cluster", timeout=timeout)
        for number in (2, 3):
            self.start_node(number, timeout=timeout)
        self.wait_size(3, timeout=timeout)

    def kill(self, number: int) -> None:
        """SIGKILL node `number` and wait until its process is gone (not just signalled)."""
        pid = self.pid(number)
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        proc = self._procs.pop(number, None)
        if proc is not None:
            proc.wait(30)
        deadline = time.monotonic() + 30
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def recovered_position(self, number: int) -> str:
        """Run `mariadbd --wsrep-recover` on a stopped node and return `uuid:seqno`."""
        node = self.nodes[number]
        mark = node.log.stat().st_size if node.log.exists() else 0
        proc = self._spawn(node, "--wsrep-recover")
        found: list[str] = []
        deadline = time.monotonic() + 120
        while not found and time.monotonic() < deadline:
            exited = proc.poll() is not None
            with node.log.open("rb") as log:
                log.seek(mark)
                found = _RECOVERED.findall(log.read().decode("utf-8", "replace"))
            if exited:
                break
            time.sleep(0.2)
        # After a crash with transactions in flight the recovery run prints the position
        # and then may not exit (seen with MariaDB 10.11): stop it once the position is out.
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)
        if not found:
            tail = node.log.read_text(errors="replace").splitlines()[-15:]
            raise ClusterError(
                f"node {number}: --wsrep-recover gave no position; end of {node.log}:\n"
                + "\n".join(tail)
            )
        return found[-1]

    def restart(self, number: int, timeout: float = 180) -> str:
        """Restart a killed node at its recovered position, so it rejoins by IST.

        Returns how it caught up: "IST" (incremental, from the survivors' gcache), "SST"
        (a full copy) or "running" when it was not stopped.
        """
        if self.pid(number):
            return "running"
        position = self.recovered_position(number)
        node = self.nodes[number]
        mark = node.log.stat().st_size
        self.start_node(number, f"--wsrep_start_position={position}", timeout=timeout)
        with node.log.open("rb") as log:
            log.seek(mark)
            text = log.read().decode("utf-8", "replace")
        return "SST" if "SST completed on joiner" in text else "IST"

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM every node (the others keep quorum while one stops) and wait."""
        for number in reversed(NODES):
            pid = self.pid(number)
            if pid is None:
                continue
            os.kill(pid, signal.SIGTERM)
            proc = self._procs.pop(number, None)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if proc is not None and proc.poll() is not None:
                    break
                if proc is None and not _pid_alive(pid):
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
                if proc is not None:
                    proc.wait(30)

    def destroy(self) -> None:
        """Stop the nodes and delete the folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- state --------------------------------------------------------------------------

    def connect(self, number: int, database: str | None = None, timeout: float = 3):
        """A plain autocommit root connection to one node."""
        return pymysql.connect(
            host="127.0.0.1",
            port=self.nodes[number].port,
            user="root",
            password="",
            database=database,
            autocommit=True,
            connect_timeout=timeout,
            read_timeout=30,
            cursorclass=pymysql.cursors.DictCursor,
        )

    def wsrep_status(self, number: int) -> dict[str, str]:
        """The node's wsrep_* status variables (empty if it does not answer)."""
        try:
            conn = self.connect(number, timeout=2)
        except pymysql.err.MySQLError:
            return {}
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW GLOBAL STATUS LIKE 'wsrep%%'")
                return {r["Variable_name"]: r["Value"] for r in cur.fetchall()}
        finally:
            conn.close()

    def wait_synced(self, number: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid(number) is None:
                raise ClusterError(f"node {number} exited; see {self.nodes[number].log}")
            status = self.wsrep_status(number)
            if (
                status.get("wsrep_local_state_comment") == "Synced"
                and status.get("wsrep_ready") == "ON"
            ):
                return
            time.sleep(0.25)
        raise ClusterError(f"node {number} not Synced after {timeout}s; see the log")

    def wait_size(self, size: int, timeout: float = 60) -> None:
        """Wait until every running node reports wsrep_cluster_size == size."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sizes = [self.wsrep_status(n).get("wsrep_cluster_size") for n in NODES if self.pid(n)]
            if sizes and all(s == str(size) for s in sizes):
                return
            time.sleep(0.25)
        raise ClusterError(f"cluster size did not become {size} within {timeout}s")

    def status_lines(self) -> list[str]:
        lines = []
        for number, node in self.nodes.items():
            status = self.wsrep_status(number)
            lines.append(
                f"node{number} sql=127.0.0.1:{node.port} pid={self.pid(number) or '-'} "
                f"state={status.get('wsrep_local_state_comment', 'down')} "
                f"size={status.get('wsrep_cluster_size', '-')} "
                f"seqno={status.get('wsrep_last_committed', '-')}"
            )
        return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("start", "stop", "status", "kill", "restart"))
    parser.add_argument("node", nargs="?", type=int, choices=NODES)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--base-port", type=int, default=DEFAULT_BASE_PORT)
    args = parser.parse_args(argv)
    if args.command in ("kill", "restart") and args.node is None:
        parser.error(f"{args.command} needs a node number (1-3)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cluster = Cluster(args.dir, args.base_port)
    try:
        if args.command == "start":
            started = time.monotonic()
            cluster.start()
            print(f"cluster up in {time.monotonic() - started:.1f}s: DB_HOST={cluster.db_host()}")
        elif args.command == "stop":
            cluster.stop()
        elif args.command == "kill":
            cluster.kill(args.node)
        elif args.command == "restart":
            how = cluster.restart(args.node)
            cluster.wait_size(3)
            print(f"node{args.node} rejoined by {how}")
        for line in cluster.status_lines():
            print(line)
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if "in use" in str(exc) else 1
    except subprocess.CalledProcessError as exc:
        print(f"error: {' '.join(exc.cmd[:1])} failed: {exc.stderr[-500:]!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
