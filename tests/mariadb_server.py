"""A private, throw-away MariaDB server for the test session.

`MariaDBServer.start()` initialises a fresh data directory with mariadb-install-db, runs
mariadbd on a free 127.0.0.1 port and a private socket, and creates two accounts:

- the writer (all privileges), which builds the fixture databases;
- the reader (SELECT only, on the fixture databases `t_*`), which the code under test uses,
  as it would use a read-only account on an operator's MOR server.

`stop()` shuts the server down and deletes the data directory. Nothing here reads the
machine's MariaDB configuration (`--no-defaults`) or touches a system server.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

WRITER = ("mor_writer", "writer-pw")
READER = ("mor_reader", "reader-pw")
DB_PREFIX = "t_"
START_TIMEOUT = 60.0  # seconds to wait for the server to accept connections
STOP_TIMEOUT = 30.0
# Throw-away data: durability buys nothing; speed and a small footprint (tmpfs) do.
INNODB_OPTIONS = ("--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
                  "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
                  "--skip-innodb-adaptive-hash-index")

# Where distributions put the binaries; /usr/sbin is often not on a non-root PATH.
_SEARCH_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/libexec", "/usr/local/mysql/bin",
                "/usr/bin", "/usr/local/bin")


class MariaDBUnavailable(RuntimeError):
    """No MariaDB server binary on this machine."""


class MariaDBStartError(RuntimeError):
    """The server binary exists but the server could not be initialised or started."""


def _find(names: tuple[str, ...], env_var: str) -> str | None:
    override = os.environ.get(env_var)
    if override:
        return override if os.access(override, os.X_OK) else None
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    for d in _SEARCH_DIRS:
        for name in names:
            p = os.path.join(d, name)
            if os.access(p, os.X_OK):
                return p
    return None


def find_binaries() -> tuple[str, str]:
    """(mariadbd, mariadb-install-db) paths, or MariaDBUnavailable saying what is missing."""
    server = _find(("mariadbd", "mysqld"), "MOR_MARIADBD")
    install = _find(("mariadb-install-db", "mysql_install_db"), "MOR_MARIADB_INSTALL_DB")
    missing = []
    for name, env_var, path in (("mariadbd", "MOR_MARIADBD", server),
                                ("mariadb-install-db", "MOR_MARIADB_INSTALL_DB", install)):
        if path is None:
            override = os.environ.get(env_var)
            missing.append(f"{env_var}={override} is not executable" if override else
                           f"no {name} on PATH or in {', '.join(_SEARCH_DIRS)}")
    if missing:
        raise MariaDBUnavailable(
            f"MariaDB server not found ({'; '.join(missing)}). "
            "Install it with `make system-deps` "
            "(Debian/Ubuntu package mariadb-server), or point MOR_MARIADBD and "
            "MOR_MARIADB_INSTALL_DB at the binaries.")
    return server, install


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


OWNER_FILE = "owner.pid"  # the pid of the process that made the directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_dirs(parent: str) -> None:
    """Remove data directories left by test processes that were killed (tmpfs is memory)."""
    for d in Path(parent).glob("mor-mariadb-*"):
        try:
            owner = int((d / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being set up
        if not _alive(owner):
            shutil.rmtree(d, ignore_errors=True)


def _base_dir() -> str:
    """A short path (the socket path is limited to ~107 bytes); tmpfs when roomy, for speed."""
    parent = os.environ.get("MOR_TEST_MARIADB_DIR")
    if parent:
        os.makedirs(parent, exist_ok=True)
    else:
        parent = tempfile.gettempdir()
        shm = "/dev/shm"
        try:
            st = os.statvfs(shm)
            if os.access(shm, os.W_OK) and st.f_bavail * st.f_frsize > 1 << 30:
                parent = shm
        except OSError:
            pass
    _remove_stale_dirs(parent)
    base = tempfile.mkdtemp(prefix="mor-mariadb-", dir=parent)
    Path(base, OWNER_FILE).write_text(str(os.getpid()))
    return base


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: have the kernel SIGTERM the server if the test process dies without cleanup."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class MariaDBServer:
    def __init__(self) -> None:
        self.server_bin, self.install_bin = find_binaries()
        self.base: Path | None = None
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    # -- paths -------------------------------------------------------------------------
    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def socket_path(self) -> Path:
        return self.base / "mysqld.sock"

    @property
    def error_log(self) -> Path:
        return self.base / "error.log"

    def _log_tail(self, path: Path, lines: int = 25) -> str:
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "MariaDBServer":
        self.base = Path(_base_dir())
        atexit.register(self.stop)  # in case the session ends without running finalizers
        as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        user_opt = ["--user=root"] if as_root else []
        install_log = self.base / "install.log"
        with open(install_log, "wb") as log:
            rc = subprocess.call(
                [self.install_bin, "--no-defaults", f"--datadir={self.datadir}",
                 "--auth-root-authentication-method=normal", "--skip-test-db",
                 "--skip-name-resolve", *user_opt, *INNODB_OPTIONS],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if rc != 0:
            msg = self._log_tail(install_log)
            self._cleanup_dir()
            raise MariaDBStartError(f"{self.install_bin} failed (exit {rc}):\n{msg}")

        # Temporary files beside the data, not in /tmp, where a cleaner may delete them.
        (self.base / "tmp").mkdir(exist_ok=True)
        last_error = ""
        for _attempt in range(3):  # a picked port can be taken before the server binds it
            self.port = _free_port()
            command = [
                self.server_bin, "--no-defaults", *user_opt,
                f"--datadir={self.datadir}", f"--socket={self.socket_path}",
                f"--port={self.port}", "--bind-address=127.0.0.1", f"--tmpdir={self.base / 'tmp'}",
                f"--pid-file={self.base / 'mysqld.pid'}", f"--log-error={self.error_log}",
                "--skip-name-resolve", "--skip-log-bin",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
                "--default-time-zone=+00:00", "--max-connections=500",
                *INNODB_OPTIONS,
            ]
            with open(self.base / "console.log", "ab") as console:  # the child keeps its fd
                self.proc = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
            try:
                self._wait_ready()
                break
            except MariaDBStartError as exc:
                last_error = str(exc)
                self._stop_process()
                if "already in use" not in last_error.lower():
                    break
        if self.proc is None:
            self._cleanup_dir()
            raise MariaDBStartError(last_error)
        try:
            self._create_accounts()
        except Exception as exc:
            self.stop()
            raise MariaDBStartError(f"could not create the test accounts: {exc!r}") from exc
        return self

    def _admin_connect(self):
        import pymysql
        return pymysql.connect(unix_socket=str(self.socket_path), user="root", password="",
                               charset="utf8mb4", connect_timeout=2, autocommit=True,
                               ssl_disabled=True)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise MariaDBStartError(
                    f"{self.server_bin} exited with code {self.proc.returncode} during startup"
                    f"; its output:\n{self._log_tail(self.base / 'console.log')}\n"
                    f"its error log ends:\n{self._log_tail(self.error_log)}\n"
                    "(MOR_TEST_KEEP_MARIADB=1 keeps the data directory for a look)")
            if self.socket_path.exists():
                try:
                    self._admin_connect().close()
                    return
                except Exception as exc:  # not ready yet
                    last = exc
            time.sleep(0.05)
        raise MariaDBStartError(
            f"mariadbd did not accept connections within {START_TIMEOUT:.0f}s "
            f"(last error: {last!r}); its error log ends:\n{self._log_tail(self.error_log)}")

    def _create_accounts(self) -> None:
        (wu, wp), (ru, rp) = WRITER, READER
        conn = self._admin_connect()
        try:
            with conn.cursor() as cur:
                # Anonymous accounts would shadow ours for some hosts.
                cur.execute("SELECT user, host FROM mysql.user WHERE user = ''")
                for _user, host in cur.fetchall():
                    cur.execute("DROP USER ''@%s", (host,))
                cur.execute(f"CREATE USER '{wu}'@'%' IDENTIFIED BY '{wp}'")
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{wu}'@'%'")
                cur.execute(f"CREATE USER '{ru}'@'%' IDENTIFIED BY '{rp}'")
                # SELECT only, and only on the fixture databases.
                pattern = DB_PREFIX.replace("_", "\\_") + "%"  # `t\_%`: _ is a wildcard too
                cur.execute(f"GRANT SELECT ON `{pattern}`.* TO '{ru}'@'%'")
                cur.execute("FLUSH PRIVILEGES")
        finally:
            conn.close()

    def _stop_process(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # SIGTERM: mariadbd shuts down cleanly
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def _cleanup_dir(self) -> None:
        if self.base is not None and os.environ.get("MOR_TEST_KEEP_MARIADB") != "1":
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def stop(self) -> None:
        self._stop_process()
        self._cleanup_dir()

    # -- URLs and databases --------------------------------------------------------------
    def url(self, account: tuple[str, str], database: str = "") -> str:
        user, password = account
        return (f"mysql+pymysql://{user}:{password}@127.0.0.1:{self.port}/{database}"
                "?charset=utf8mb4")

    def writer_url(self, database: str = "") -> str:
        return self.url(WRITER, database)

    def reader_url(self, database: str = "") -> str:
        return self.url(READER, database)

    # pymysql >= 1.2 tries TLS by default and builds an SSL context (loading the system CA
    # store, ~60 ms) for every new connection; this server has no TLS, so skip that.
    CONNECT_ARGS = {"ssl_disabled": True}

    @staticmethod
    def new_database_name() -> str:
        return f"{DB_PREFIX}{uuid.uuid4().hex}"

    def _writer_exec(self, *statements: str) -> None:
        import pymysql
        conn = pymysql.connect(host="127.0.0.1", port=self.port, user=WRITER[0],
                               password=WRITER[1], charset="utf8mb4", autocommit=True,
                               ssl_disabled=True)
        try:
            with conn.cursor() as cur:
                for sql in statements:
                    cur.execute(sql)
        finally:
            conn.close()

    def create_database(self) -> str:
        name = self.new_database_name()
        self._writer_exec(f"CREATE DATABASE `{name}` "
                          "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
        return name

    def drop_database(self, name: str) -> None:
        # A connection left inside a transaction would block DROP forever; do not wait long.
        self._writer_exec("SET SESSION lock_wait_timeout = 5",
                          f"DROP DATABASE IF EXISTS `{name}`")
