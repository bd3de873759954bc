"""A byte-level stand-in for an open VISA resource, in the style of PyMeasure's expected_protocol:
it holds the exact exchange expected (bytes written, bytes to answer) and fails on any other."""

from __future__ import annotations


class ExpectedProtocol:
    """Answers ``comm_pairs`` of (bytes the driver must write, bytes the instrument replies).

    A reply may be an exception instance: writing that line then fails with it (a transport
    failure). :meth:`clear` (what a session's reopen does to a double) drops unread bytes and
    counts the reconnects in :attr:`reopened`.
    """

    read_termination = "\n"
    write_termination = "\n"
    timeout = 1000
    chunk_size = 1 << 20

    def __init__(self, comm_pairs: list[tuple[bytes | None, bytes | BaseException | None]]) -> None:
        self.pairs = list(comm_pairs)
        self.pending = b""
        self.reopened = 0

    def _next(self) -> tuple[bytes | None, bytes | None]:
        assert self.pairs, "the driver sent more than the expected protocol holds"
        return self.pairs.pop(0)

    def write(self, text: str) -> None:
        sent = (text + self.write_termination).encode("ascii")
        expected, reply = self._next()
        assert sent == expected, f"driver wrote {sent!r}, protocol expects {expected!r}"
        if isinstance(reply, BaseException):
            raise reply
        self.pending += reply or b""

    def read_bytes(self, count: int, chunk_size: int | None = None) -> bytes:
        data, self.pending = self.pending[:count], self.pending[count:]
        return data

    def query(self, text: str) -> str:
        self.write(text)
        line, sep, rest = self.pending.partition(b"\n")
        assert sep, "no reply queued for a query"
        self.pending = rest
        return line.decode("ascii")

    def clear(self) -> None:
        self.pending = b""
        self.reopened += 1

    def close(self) -> None:
        pass

    def assert_done(self) -> None:
        assert not self.pairs, f"expected exchange not completed: {self.pairs[0]!r}"
