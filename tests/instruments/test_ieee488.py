import pytest

from instruments.errors import ProtocolError
from instruments.ieee488 import decode_block, encode_block, parse_block_header


def test_encode_block_frames_payload_with_digit_count_and_length():
    assert encode_block(b"abc") == b"#13abc"
    assert encode_block(b"x" * 12345) == b"#512345" + b"x" * 12345


def test_decode_round_trip_and_terminator_ignored():
    payload = bytes(range(256)) * 10
    assert decode_block(encode_block(payload) + b"\n") == payload


@pytest.mark.parametrize("bad", [b"", b"#", b"13abc", b"#0abc", b"#3", b"#2x1ab"])
def test_malformed_headers_are_protocol_errors(bad):
    with pytest.raises(ProtocolError):
        parse_block_header(bad)


def test_truncated_payload_is_reported_with_both_lengths():
    with pytest.raises(ProtocolError, match="header says 10 bytes, got 4"):
        decode_block(b"#210abcd")


def test_absurd_length_is_refused_before_allocation():
    with pytest.raises(ProtocolError, match="more than"):
        parse_block_header(b"#9999999999")
