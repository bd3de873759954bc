"""Credentials are masked before a transport tells its observer anything (the parts of
:mod:`instruments.io_observer` that need no transport)."""

from __future__ import annotations

from instruments.io_observer import MASK, mask_tl1_login


def test_mask_tl1_login_keeps_the_user_and_drops_the_pid():
    assert mask_tl1_login("ACT-USER:T:ADMIN:7::pw;RTRV-NETYPE:T::8;") == \
        f"ACT-USER:T:ADMIN:7::{MASK};RTRV-NETYPE:T::8;"
    assert mask_tl1_login("act-user:T:U:pw;") == f"act-user:T:U:{MASK};"
    assert mask_tl1_login("no login here") == "no login here"
