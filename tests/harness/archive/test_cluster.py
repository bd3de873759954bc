"""The scheduler address is checked before any work: a refused or malformed address is one
line at once, not a 20 s wait in ``distributed.Client``'s retries (loopback only)."""

from __future__ import annotations

import time

import pytest

from archivetools import free_port
from harness.archive.cluster import check_scheduler
from harness.errors import HarnessError
from loopback import silent_listener


def test_a_refused_scheduler_port_is_one_line_at_once():
    port = free_port()  # bound, then closed: nothing listens there
    t0 = time.monotonic()
    with pytest.raises(HarnessError, match=rf"^tcp://127.0.0.1:{port}: cannot reach the Dask "
                                           r"scheduler: connection refused"):
        check_scheduler(f"tcp://127.0.0.1:{port}")
    assert time.monotonic() - t0 < 5.0


@pytest.mark.parametrize("address", ["tcp://127.0.0.1", "tcp://127.0.0.1:port", "tcp://:"])
def test_a_malformed_address_is_refused(address):
    with pytest.raises(HarnessError, match="not a Dask scheduler address"):
        check_scheduler(address)


def test_a_listening_port_and_other_schemes_pass_to_the_client():
    with silent_listener() as port:
        check_scheduler(f"tcp://127.0.0.1:{port}")
    check_scheduler("tls://127.0.0.1:1")  # TLS is the client's to negotiate
