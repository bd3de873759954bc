"""IEEE 488.2 definite-length arbitrary block data: ``#<n><length><bytes>``.

Shared by the drivers (decoding) and the simulators (encoding), so both sides agree on one
implementation of the framing.
"""

from __future__ import annotations

from instruments.errors import ProtocolError

MAX_BLOCK_BYTES = 64 * 1024 * 1024
"""Largest block a driver accepts (bytes): a header claiming more is treated as corrupt. The
session allocates the payload from the header before reading it, so this bounds what one garbled
header can cost: 8x the largest trace in use (1 M REAL,64 points = 8 MB; an OTDR trace of 1 M
16-bit points is 2 MB)."""


def encode_block(payload: bytes) -> bytes:
    """Frame ``payload`` as a definite-length block (no terminator appended)."""
    length = str(len(payload)).encode("ascii")
    if len(length) > 9:
        raise ValueError("payload too large for a definite-length block")
    return b"#" + str(len(length)).encode("ascii") + length + payload


def parse_block_header(head: bytes) -> tuple[int, int]:
    """Parse the start of a block and return ``(header_length, payload_length)`` in bytes.

    ``head`` must hold at least the first two bytes; raises :class:`ProtocolError` when the
    header is malformed or incomplete.
    """
    if len(head) < 2 or head[:1] != b"#":
        raise ProtocolError(f"binary block does not start with '#<n>': {head[:12]!r}")
    digits = head[1:2]
    if not digits.isdigit() or digits == b"0":
        raise ProtocolError(f"binary block has no definite length digit count: {head[:12]!r}")
    n = int(digits)
    if len(head) < 2 + n:
        raise ProtocolError("binary block header is truncated")
    length_field = head[2 : 2 + n]
    if not length_field.isdigit():
        raise ProtocolError(f"binary block length is not a number: {length_field!r}")
    length = int(length_field)
    if length > MAX_BLOCK_BYTES:
        raise ProtocolError(f"binary block claims {length} bytes, more than {MAX_BLOCK_BYTES}")
    return 2 + n, length


def decode_block(data: bytes) -> bytes:
    """Return the payload of a complete block (a trailing terminator is allowed)."""
    header_length, length = parse_block_header(data[:11])
    payload = data[header_length : header_length + length]
    if len(payload) != length:
        raise ProtocolError(
            f"binary block truncated: header says {length} bytes, got {len(payload)}"
        )
    return payload
