"""What the hostile-client faults send: a zstd frame declaring a huge window, a gRPC call
whose message is already compressed (no gRPC library lets a client pick zstd, so the
HTTP/2 frames are written here by hand), slow connections, and a sampler of the
collector's resident memory.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = [
    "EXPORT_PATH",
    "RssSampler",
    "grpc_call_with_compressed_message",
    "slow_connections",
    "zstd_window_bomb",
]

EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_MAX_FRAME = 16384  # HTTP/2's default SETTINGS_MAX_FRAME_SIZE
_RAW_BLOCK = 65536


def zstd_window_bomb(payload: bytes, window_log: int = 29) -> bytes:
    """``payload`` as a valid zstd frame of raw blocks whose header declares a window of
    2**window_log bytes (512 MiB by default, the largest the collector's decoder accepts)
    and no content size, so the decoder sizes its buffers by the window."""
    frame = bytearray(b"\x28\xb5\x2f\xfd")  # magic number
    frame.append(0x00)  # no content size, not single-segment, no checksum, no dictionary
    frame.append((window_log - 10) << 3)  # window descriptor: exponent, mantissa 0
    chunks = [payload[i : i + _RAW_BLOCK] for i in range(0, len(payload), _RAW_BLOCK)] or [b""]
    for i, chunk in enumerate(chunks):
        last = int(i == len(chunks) - 1)
        frame += (last | len(chunk) << 3).to_bytes(3, "little") + chunk  # raw block
    return bytes(frame)


def _hpack_int(value: int, prefix: int) -> bytes:
    limit = (1 << prefix) - 1
    if value < limit:
        return bytes([value])
    out = bytearray([limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _hpack(headers: Sequence[tuple[str, str]]) -> bytes:
    """Literal header fields without indexing, no Huffman coding: valid HPACK, no state."""
    block = bytearray()
    for name, value in headers:
        block.append(0x00)
        block += _hpack_int(len(name), 7) + name.encode()
        block += _hpack_int(len(value), 7) + value.encode()
    return bytes(block)


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes([kind, flags])
        + struct.pack(">I", stream)
        + payload
    )


def grpc_call_with_compressed_message(
    host: str,
    port: int,
    message: bytes,
    encoding: str,
    *,
    tls: ssl.SSLContext | None = None,
    timeout: float = 10.0,
) -> bool:
    """One unary gRPC call to the trace Export method whose message is ``message``, sent as
    compressed with ``encoding``; True if the server answered the call (any status), False
    if the connection was refused, reset or timed out first."""
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return False
    sock: socket.socket = raw
    try:
        if tls is not None:
            sock = tls.wrap_socket(raw, server_hostname="localhost")
        headers = [
            (":method", "POST"),
            (":scheme", "https" if tls else "http"),
            (":path", EXPORT_PATH),
            (":authority", f"{host}:{port}"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("grpc-encoding", encoding),
        ]
        body = b"\x01" + struct.pack(">I", len(message)) + message
        out = bytearray(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _frame(4, 0, 0, b""))
        out += _frame(1, 0x4, 1, _hpack(headers))  # HEADERS, END_HEADERS
        for i in range(0, len(body), _MAX_FRAME):
            end = 0x1 if i + _MAX_FRAME >= len(body) else 0  # END_STREAM on the last
            out += _frame(0, end, 1, body[i : i + _MAX_FRAME])
        sock.sendall(out)
        return _answered(sock)
    except (OSError, ssl.SSLError):
        return False
    finally:
        with suppress(OSError):
            sock.close()


def _answered(sock: socket.socket) -> bool:
    """Read frames until stream 1 ends (trailers or RST_STREAM) or the server says GOAWAY."""
    received = bytearray()
    pos = 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        received += chunk
        while len(received) - pos >= 9:
            length = int.from_bytes(received[pos : pos + 3], "big")
            kind, flags = received[pos + 3], received[pos + 4]
            stream = int.from_bytes(received[pos + 5 : pos + 9], "big") & 0x7FFFFFFF
            if len(received) - pos < 9 + length:
                break
            pos += 9 + length
            if kind == 4 and not flags & 0x1:  # SETTINGS: acknowledge
                sock.sendall(_frame(4, 0x1, 0, b""))
            ended = kind == 3 or (kind == 1 and flags & 0x1)
            if (stream == 1 and ended) or kind == 7:
                return True


@contextmanager
def slow_connections(
    host: str, port: int, count: int, first_bytes: bytes
) -> Iterator[list[socket.socket]]:
    """``count`` connections that each sent ``first_bytes`` and then nothing; closed after."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):  # bounded in count
            sock = socket.create_connection((host, port), timeout=5)
            if first_bytes:
                sock.sendall(first_bytes)
            socks.append(sock)
        yield socks
    finally:
        for sock in socks:
            with suppress(OSError):
                sock.close()


class RssSampler:
    """Samples a process's resident set size every ``every`` seconds while it runs."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self._status = Path(f"/proc/{pid}/status")
        self._every = every
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with suppress(OSError):
                for line in self._status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak = max(self.peak, int(line.split()[1]) * 1024)
            self._stop.wait(self._every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
