"""Loopback endpoints for tests of unreachable instruments: a refused port and a listener that
accepts and never answers. Nothing here leaves 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def refused_port() -> Iterator[int]:
    """A 127.0.0.1 port that refuses connections: bound (so nothing else takes it), never
    listening, so the kernel answers a connect with a reset."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def silent_listener(greeting: bytes = b"", reply_first: bytes = b"") -> Iterator[int]:
    """A 127.0.0.1 port that accepts every connection and then never answers (it reads what is
    sent and keeps the connection open). ``reply_first``: sent once after the first line
    received on each connection (e.g. a login prompt), then silence."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve_one(conn: socket.socket) -> None:
        try:
            serve(conn)
        except OSError:  # closed under us when the listener stops (before this thread ran)
            return

    def serve(conn: socket.socket) -> None:
        conn.settimeout(0.2)
        answered = False
        if greeting:
            conn.sendall(greeting)
        while not stop.is_set():
            try:
                data = conn.recv(4096)
            except socket.timeout:
                continue
            if not data:
                return
            if reply_first and not answered and b"\n" in data:
                conn.sendall(reply_first)
                answered = True

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            held.append(conn)
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        server.close()
        for conn in held:
            conn.close()
