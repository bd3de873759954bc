"""Exclusive use: one process per instrument, and the refusal names the holder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

from instruments.errors import InstrumentInUse
from instruments.lock import ResourceLock, lock_path, resource_key
from instruments.registry import MODELS

HOLDER = textwrap.dedent("""
    import sys, time
    from instruments.lock import ResourceLock
    lock = ResourceLock(sys.argv[1]).acquire()
    print("held", flush=True)
    sys.stdin.read()
""")


@pytest.fixture
def other_process():
    """``other_process(resource)`` holds the lock of ``resource`` in a child until the test ends."""
    children = []

    def hold(resource: str) -> subprocess.Popen:
        child = subprocess.Popen([sys.executable, "-c", HOLDER, resource, "--campaign=demo"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 env=os.environ.copy())
        children.append(child)
        assert child.stdout.readline().strip() == "held"
        return child

    yield hold
    for child in children:
        child.stdin.close()
        child.wait(timeout=10)


def test_instrument_held_by_another_process_is_refused_naming_it(stations, other_process):
    resource = stations.resources["AKTAU/otdr"]
    child = other_process(resource)
    with pytest.raises(InstrumentInUse, match=rf"{re.escape(resource)} is in use by pid "
                                              rf"{child.pid} on .* since .*--campaign=demo"):
        MODELS["anritsu-mt9083"].open(resource)


def test_lock_is_released_on_close_and_when_the_holder_exits(stations, other_process):
    resource = stations.resources["SUMGAIT/transponder"]
    child = other_process(resource)
    child.stdin.close()
    child.wait(timeout=10)
    card = MODELS["gr831-tl1"].open(resource, tid="SUMGAIT-TP1")  # the kernel freed the lock
    with pytest.raises(InstrumentInUse):
        MODELS["gr831-tl1"].open(resource, tid="SUMGAIT-TP1")
    card.close()
    MODELS["gr831-tl1"].open(resource, tid="SUMGAIT-TP1").close()


def test_a_failed_open_does_not_keep_the_lock():
    resource = "TCPIP::127.0.0.1::9::SOCKET"
    with pytest.raises(Exception):
        MODELS["yokogawa-aq6370"].open(resource, timeout_s=1.0)
    with ResourceLock(resource):
        pass


def test_one_key_per_instrument_whatever_the_spelling(tmp_path):
    assert resource_key("TCPIP0::10.0.0.5::10001::SOCKET") == resource_key("tcpip::10.0.0.5::10001::socket")
    link = tmp_path / "by-id"
    link.symlink_to("/dev/null")
    assert resource_key(str(link)) == "/dev/null"
    assert lock_path("TCPIP::10.0.0.5::10001::SOCKET") != lock_path("TCPIP::10.0.0.6::10001::SOCKET")
