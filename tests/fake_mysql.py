"""A rogue MySQL server on loopback, speaking just enough of the protocol to ask for a file.

It greets with a v10 handshake (advertising LOCAL INFILE), accepts any login, and answers
every query but a SET with a LOCAL INFILE request (0xFB + a file name), as a malicious server would to
read a client's files. It records what each client said: its capability flags, its queries
and any bytes it sent after the request, i.e. the file's contents.

    with FakeMySQL(request_file=path) as server:
        ... connect to server.url("mor") ...
        assert server.file_bytes == b""
"""
from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field

CLIENT_LOCAL_FILES = 0x80
# LONG_PASSWORD FOUND_ROWS LONG_FLAG CONNECT_WITH_DB LOCAL_FILES PROTOCOL_41 TRANSACTIONS
# SECURE_CONNECTION MULTI_STATEMENTS MULTI_RESULTS PLUGIN_AUTH
SERVER_CAPABILITIES = (0x1 | 0x2 | 0x4 | 0x8 | CLIENT_LOCAL_FILES | 0x200 | 0x2000 | 0x8000
                       | 0x10000 | 0x20000 | 0x80000)


@dataclass
class Session:
    client_flags: int = 0
    queries: list[str] = field(default_factory=list)
    file_bytes: bytes = b""
    infile_requests: int = 0


def _packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client closed")
        data += chunk
    return data


def _read_packet(sock: socket.socket) -> tuple[int, bytes]:
    head = _read_exactly(sock, 4)
    length = head[0] | head[1] << 8 | head[2] << 16
    return head[3], _read_exactly(sock, length)


def _handshake() -> bytes:
    scramble = b"abcdefgh" + b"ijklmnopqrst"          # 20 bytes of "auth plugin data"
    caps = SERVER_CAPABILITIES
    return (b"\x0a" + b"5.7.99-fake\x00" + struct.pack("<I", 7) + scramble[:8] + b"\x00"
            + struct.pack("<H", caps & 0xFFFF) + b"\x21" + struct.pack("<H", 0x0002)
            + struct.pack("<H", caps >> 16) + bytes([len(scramble) + 1]) + b"\x00" * 10
            + scramble[8:] + b"\x00" + b"mysql_native_password\x00")


OK = b"\x00\x00\x00\x02\x00\x00\x00"                   # OK, 0 rows, autocommit, 0 warnings


class FakeMySQL:
    def __init__(self, request_file: str = "/etc/passwd"):
        self.request_file = request_file
        self.sessions: list[Session] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._stopping = False

    def url(self, database: str = "mor", query: str = "") -> str:
        return f"mysql+pymysql://reader:pw@127.0.0.1:{self.port}/{database}" + (f"?{query}" if query else "")

    @property
    def connections(self) -> int:
        return len(self.sessions)

    @property
    def file_bytes(self) -> bytes:
        return b"".join(s.file_bytes for s in self.sessions)

    def __enter__(self) -> "FakeMySQL":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stopping = True
        self._listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            session = Session()
            self.sessions.append(session)
            threading.Thread(target=self._talk, args=(client, session), daemon=True).start()

    def _talk(self, sock: socket.socket, session: Session) -> None:
        sock.settimeout(10)
        try:
            sock.sendall(_packet(0, _handshake()))
            seq, response = _read_packet(sock)
            session.client_flags = struct.unpack("<I", response[:4])[0]
            sock.sendall(_packet(seq + 1, OK))
            while True:
                seq, command = _read_packet(sock)
                if command[:1] == b"\x01":             # COM_QUIT
                    return
                if command[:1] != b"\x03":             # not COM_QUERY (e.g. COM_PING): OK
                    sock.sendall(_packet(seq + 1, OK))
                    continue
                query = command[1:].decode("utf-8", "replace")
                session.queries.append(query)
                if query.lstrip().upper().startswith("SET "):   # pymysql's autocommit: OK
                    sock.sendall(_packet(seq + 1, OK))
                    continue
                session.infile_requests += 1
                sock.sendall(_packet(seq + 1, b"\xfb" + self.request_file.encode()))
                # A willing client now sends the file in packets, then an empty packet.
                while True:
                    seq, data = _read_packet(sock)
                    if not data:
                        break
                    session.file_bytes += data
                sock.sendall(_packet(seq + 1, OK))
        except (ConnectionError, OSError):
            return
        finally:
            sock.close()
