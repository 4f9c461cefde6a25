"""A ClickHouse HTTP endpoint served by chDB, so the tests' `clickhouse` kind runs here.

No ClickHouse server can be installed on this machine, but chDB is the ClickHouse engine
itself. This process speaks the part of ClickHouse's HTTP interface that clickhouse-connect
uses (queries in the URL and/or body, per-query settings as URL parameters, the output
format, INSERT data in the body, HTTP compression, errors as `Code: N. DB::Exception: ...`)
and runs every statement in chDB. It exercises our clickhousedb:// path (clickhouse-connect's
HTTP client and SQLAlchemy dialect, per-query settings, Arrow inserts) on the real ClickHouse
engine; a real server's own HTTP layer (sessions, progress headers, its Native protocol
revisions) is not exercised.

    .venv/bin/python -m tests.clickhouse_http --path DIR [--port 0]

prints its base URL (`http://127.0.0.1:PORT`) once ready and serves until killed. chDB runs
one data directory per process, hence a process of its own. Requests run one at a time, each
on a fresh chDB connection (its own session: no setting or `USE` outlives the request) while
one held connection keeps the embedded server up.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
import zlib
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

# URL parameters that ClickHouse's HTTP handler takes for itself, not as settings.
NOT_SETTINGS = {"query", "database", "default_format", "user", "password", "quota_key", "query_id",
                "session_id", "session_timeout", "session_check", "close_session", "compress",
                "decompress", "buffer_size", "wait_end_of_query", "client_protocol_version",
                "role", "stacktrace"}
# Statements that answer with a result (and so an X-ClickHouse-Format header).
RESULT_STATEMENTS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "CHECK"}
OUTPUT_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*(?:SETTINGS\b.*)?;?\s*$", re.I | re.S)
INSERT_FORMAT = re.compile(rb"(\s*INSERT\b(.*?))\bFORMAT\s+(\w+)", re.I | re.S)
QUOTED = re.compile(rb"`[^`]*`|\"[^\"]*\"|'(?:[^'\\]|\\.)*'", re.S)
CODE = re.compile(r"Code: (\d+)\.")
ENCODINGS = ("lz4", "zstd", "gzip", "deflate")


class ClickHouseError(Exception):
    """An answer ClickHouse would give as `Code: N. DB::Exception: ...`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def from_chdb(exc: Exception) -> ClickHouseError:
    """chDB's exception as ClickHouse's answer (chDB prefixes some messages with its own text)."""
    text = str(exc)
    start = text.find("Code: ")
    match = CODE.match(text, start) if start >= 0 else None
    if match is None:
        return ClickHouseError(1001, f"Code: 1001. DB::Exception: {text}. (STD_EXCEPTION)")
    return ClickHouseError(int(match.group(1)), text[start:])


def decompress(data: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding == "lz4":                  # one frame per block, as clickhouse-connect sends
        import lz4.frame
        parts = []
        while data:
            frames = lz4.frame.LZ4FrameDecompressor()
            parts.append(frames.decompress(data))
            data = frames.unused_data
        return b"".join(parts)
    if encoding == "zstd":
        from backports import zstd
        return zstd.decompress(data)
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    raise ClickHouseError(36, f"Code: 36. DB::Exception: Unsupported Content-Encoding {encoding!r} "
                              f"(the chDB stand-in reads {', '.join(ENCODINGS)}). (BAD_ARGUMENTS)")


def compress(data: bytes, encoding: str) -> bytes:
    if encoding == "lz4":
        import lz4.frame
        return lz4.frame.compress(data)
    if encoding == "zstd":
        from backports import zstd
        return zstd.compress(data)
    if encoding == "gzip":
        return gzip.compress(data, 1)
    return zlib.compress(data, 1)


def split_insert(text: bytes) -> tuple[str, str, bytes] | None:
    """(INSERT statement without FORMAT, input format, data) of `INSERT ... FORMAT X <data>`,
    None for any other statement. The data starts after the spaces and one line break that
    follow the format name, as ClickHouse's parser has it."""
    match = INSERT_FORMAT.match(text[:1 << 20])
    if match is None or re.search(rb"\b(VALUES|SELECT|WITH)\b", QUOTED.sub(b"", match.group(2)), re.I):
        return None
    pos = match.end()
    while pos < len(text) and text[pos:pos + 1] in (b" ", b"\t", b"\f"):
        pos += 1
    pos += text[pos:pos + 1] == b"\r"
    pos += text[pos:pos + 1] == b"\n"
    return match.group(1).decode().strip(), match.group(3).decode(), text[pos:]


def literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Chdb:
    """chDB on one data directory: one statement at a time, each on a fresh connection."""

    def __init__(self, path: str) -> None:
        from chdb.state.sqlitelike import Connection
        os.makedirs(path, exist_ok=True)
        self.path = os.path.abspath(path)
        self.connect = Connection
        self.lock = threading.Lock()
        self.keeper = Connection(self.path)     # keeps the embedded server up between requests

    def run(self, text: bytes, settings: dict[str, str], database: str, fmt: str,
            params: dict[str, str]) -> tuple[bytes, dict]:
        """The statement's output bytes and its X-ClickHouse-Summary."""
        with self.lock:
            conn = self.connect(self.path)
            try:
                return self._run(conn, text, settings, database, fmt, params)
            except ClickHouseError:
                raise
            except Exception as exc:       # chDB's errors carry ClickHouse's code and message
                raise from_chdb(exc) from None
            finally:
                conn.close()

    def _run(self, conn, text, settings, database, fmt, params) -> tuple[bytes, dict]:
        for name in settings:
            if not re.fullmatch(r"\w+", name):
                raise ClickHouseError(115, f"Code: 115. DB::Exception: Unknown setting '{name}'. "
                                           "(UNKNOWN_SETTING)")
        if settings:
            conn.query("SET " + ", ".join(f"{k} = {literal(v)}" for k, v in settings.items()), "TSV")
        conn.query(f"USE `{database.replace('`', '``')}`", "TSV")
        insert = split_insert(text)
        if insert is not None:
            statement, input_format, data = insert
            with conn.send_insert(statement, input_format) as inserter:
                if data:
                    inserter.append(data)
                done = inserter.finish()
            return b"", summary(0, 0, done.rows_written, done.bytes_written, 0, done.elapsed)
        result = conn.query(text.decode(), fmt, params=params)
        output = result.bytes()
        return output, summary(result.rows_read(), result.bytes_read(), result.rows_written(),
                               result.bytes_written(), len(output), result.elapsed())


def summary(read_rows, read_bytes, written_rows, written_bytes, result_bytes, elapsed) -> dict:
    return {"read_rows": str(read_rows), "read_bytes": str(read_bytes),
            "written_rows": str(written_rows), "written_bytes": str(written_bytes),
            "total_rows_to_read": str(read_rows), "result_rows": "0",
            "result_bytes": str(result_bytes), "elapsed_ns": str(int(elapsed * 1e9))}


def content_type(fmt: str) -> str:
    name = fmt.lower()
    if name.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if name.startswith("csv"):
        return "text/csv; charset=UTF-8; header=absent"
    if name.startswith("json"):
        return "application/json; charset=UTF-8"
    if name.startswith("pretty") or name in ("vertical", "markdown", "values"):
        return "text/plain; charset=UTF-8"
    return "application/octet-stream"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"          # keep-alive, as clickhouse-connect's pool expects
    server_version = "chDB-stand-in"
    chdb: Chdb

    def log_message(self, format, *args) -> None:   # quiet: errors go back to the client
        pass

    def do_GET(self) -> None:
        self.handle_query()

    def do_POST(self) -> None:
        self.handle_query()

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass                   # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def handle_query(self) -> None:
        query_id = str(uuid.uuid4())
        try:
            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            query_id = params.get("query_id") or query_id
            body = self.read_body() if self.command == "POST" else b""
            if url.path.rstrip("/") in ("", "/ping") and "query" not in params and not body:
                return self.answer(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            self.check_user(params)
            body = decompress(body, self.headers.get("Content-Encoding", ""))
            if self.headers.get("Content-Type", "").startswith("multipart/form-data"):
                body = self.read_form(body, params)
            self.run_query(params, body, query_id)
        except Exception as exc:      # never a dropped connection: ClickHouse's error answer
            if not isinstance(exc, ClickHouseError):
                exc = ClickHouseError(1001, f"Code: 1001. DB::Exception: {type(exc).__name__}: {exc}. "
                                            "(STD_EXCEPTION)")
            message = str(exc).rstrip() + "\n"
            self.answer(403 if exc.code == 516 else 500, message.encode(),
                        {"Content-Type": "text/plain; charset=UTF-8",
                         "X-ClickHouse-Exception-Code": str(exc.code), "X-ClickHouse-Query-Id": query_id})

    def check_user(self, params: dict[str, str]) -> None:
        user, password = params.get("user", "default"), params.get("password", "")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            import base64
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        user = self.headers.get("X-ClickHouse-User", user)
        password = self.headers.get("X-ClickHouse-Key", password)
        if user != "default" or password:
            raise ClickHouseError(516, f"Code: 516. DB::Exception: {user}: Authentication failed: "
                                       "password is incorrect, or there is no user with such name. "
                                       "(AUTHENTICATION_FAILED)")

    def read_form(self, body: bytes, params: dict[str, str]) -> bytes:
        """A multipart form (clickhouse-connect's form-encoded query and bind parameters):
        its fields join the URL parameters; the query is the body."""
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        form = BytesParser(policy=HTTP).parsebytes(head + body)
        for part in form.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                raise ClickHouseError(48, "Code: 48. DB::Exception: external data is not supported "
                                          "by the chDB stand-in. (NOT_IMPLEMENTED)")
            params[name] = part.get_payload(decode=True).decode()
        return params.pop("query", "").encode()

    def run_query(self, params: dict[str, str], body: bytes, query_id: str) -> None:
        if any(params.get(name, "0") not in ("0", "false") for name in ("compress", "decompress")):
            raise ClickHouseError(48, "Code: 48. DB::Exception: ClickHouse's own block compression "
                                      "(compress=1, decompress=1) is not supported by the chDB stand-in; "
                                      "use HTTP compression. (NOT_IMPLEMENTED)")
        text = params.get("query", "").encode()
        text = text + b"\n" + body if text and body else text or body
        if not text.strip():
            raise ClickHouseError(62, "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)")
        settings = {k: v for k, v in params.items() if k not in NOT_SETTINGS and not k.startswith("param_")}
        binds = {k[len("param_"):]: v for k, v in params.items() if k.startswith("param_")}
        head = text[:1 << 16].decode(errors="replace")
        own = OUTPUT_FORMAT.search(head) if len(text) <= 1 << 16 else None
        fmt = own.group(1) if own else params.get("default_format") or "TabSeparated"
        output, stats = self.server.chdb.run(text, settings, params.get("database") or "default", fmt, binds)
        headers = {"Content-Type": content_type(fmt), "X-ClickHouse-Query-Id": query_id,
                   "X-ClickHouse-Summary": json.dumps(stats),
                   "X-ClickHouse-Timezone": settings.get("session_timezone") or "UTC",
                   "X-ClickHouse-Server-Display-Name": "chdb-stand-in"}
        words = re.sub(r"--[^\n]*|/\*.*?\*/", " ", head, flags=re.S).split(None, 1)
        if words and words[0].lstrip("(").upper() in RESULT_STATEMENTS:
            headers["X-ClickHouse-Format"] = fmt
        if settings.get("enable_http_compression", "0") not in ("0", "false"):
            accepted = [e.strip().split(";")[0] for e in self.headers.get("Accept-Encoding", "").split(",")]
            encoding = next((e for e in accepted if e in ENCODINGS), None)
            if encoding:
                output = compress(output, encoding)
                headers["Content-Encoding"] = encoding
        self.answer(200, output, headers)

    def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, chdb: Chdb) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.chdb = chdb


def start(path: str, timeout: float = 60.0) -> tuple[subprocess.Popen, str]:
    """Start the stand-in on `path` in its own process; (the process, its base URL)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    log = open(f"{path.rstrip('/')}.log", "wb")       # chDB may write to stderr: never a full pipe
    with log:
        proc = subprocess.Popen([sys.executable, "-m", "tests.clickhouse_http", "--path", path,
                                 "--exit-with-stdin"], cwd=root, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=log, text=True)
    ready = threading.Event()
    line: list[str] = []

    def read_first_line() -> None:
        line.append(proc.stdout.readline().strip())
        ready.set()

    threading.Thread(target=read_first_line, daemon=True).start()
    if not ready.wait(timeout) or not line[0].startswith("http://"):
        stop(proc)
        with open(log.name, errors="replace") as err:
            raise RuntimeError(f"the chDB ClickHouse stand-in did not start: {err.read()[-2000:]}")
    return proc, line[0]


def stop(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A ClickHouse HTTP endpoint served by chDB (tests).")
    parser.add_argument("--path", required=True, help="chDB data directory")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--exit-with-stdin", action="store_true",
                        help="exit when standard input closes (the test process that started it ended)")
    args = parser.parse_args(argv)
    if args.exit_with_stdin:
        def watch() -> None:
            sys.stdin.read()
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    os.environ["TZ"] = "UTC"            # the server's timezone(), as X-ClickHouse-Timezone says
    time.tzset()
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = Server(args.port, Chdb(args.path))
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        server.chdb.keeper.close()


if __name__ == "__main__":
    main()
