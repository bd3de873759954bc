"""Shared pieces of the fuzz tests: hypothesis strategies that mutate the project's real inputs
(YAML trees and texts, TL1 and SCPI replies) or generate new ones, the settings every fuzz test
uses, and the guard that turns a hang or a foreign exception into a test failure.

Imported by module name (``from fuzz_helpers import ...``), as ``fault_helpers`` is.

Counts: :data:`DEFAULT_CASES` examples per reader in the default suite, :data:`FUZZ_CASES` in
the fuzz run (``pytest -m fuzz``). Every run is derandomized with no example database, so CI
sees the same cases every time; an input that once crashed a parser is kept as an explicit
``@example`` next to its test.
"""

from __future__ import annotations

import contextlib
import resource
import signal
from typing import Any, Callable, Iterator

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

DEFAULT_CASES = 300
FUZZ_CASES = 10_000
HANG_S = 10.0
"""Wall seconds one case may take before it counts as a hang (a parser loop that never ends)."""


def fuzz_settings(cases: int) -> settings:
    """Reproducible hypothesis settings: ``cases`` examples, no deadline, no database."""
    return settings(max_examples=cases, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


class Hang(Exception):
    """A parser did not return within :data:`HANG_S`."""


@contextlib.contextmanager
def no_hang(seconds: float = HANG_S) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread if the block runs longer than ``seconds``."""
    def alarm(*_: object) -> None:
        raise Hang(f"no return within {seconds:g} s")
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def expect_only(errors: tuple[type[BaseException], ...], call: Callable[[], Any]) -> Any:
    """Run ``call``; return its result, or None when it raised one of ``errors`` with a one-line
    message. Any other exception (or a hang) propagates and fails the test."""
    with no_hang():
        try:
            return call()
        except errors as exc:
            message = str(exc)
            assert len(message.splitlines()) == 1, f"not a one-line message: {message!r}"
            return None


def max_rss_mib() -> float:
    """Peak resident set size of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --- values and YAML trees -----------------------------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-10, max_value=100),
    st.integers(),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**30, -(10**30)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, float("nan"), float("inf"), -float("inf")]),
    st.text(max_size=12),
    st.sampled_from(["", "sim", "\0", "a\0b", "../" * 5, "/dev/null", "/", "AKTAU", "SUMGAIT",
                     "FP1-F1", "FP9-F3", "anritsu-mt9083", "gr831-tl1", "yokogawa-aq6370",
                     "TCPIP::127.0.0.1::1::SOCKET", "socket://x:1", "x" * 300]),
)
"""Scalars a YAML file can hold, biased towards the edges that break parsers."""

VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=8), st.integers(-3, 3)), inner, max_size=4)),
    max_leaves=12)
"""Any YAML-representable value (nested lists and mappings of :data:`SCALARS`)."""


def _paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys/indices) into ``tree``, the root included."""
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, prefix + (i,))
    return out


def _copy(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _copy(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_copy(v) for v in tree]
    return tree


@st.composite
def mutated_tree(draw: st.DrawFn, tree: Any, max_mutations: int = 3) -> Any:
    """A copy of ``tree`` with 1..``max_mutations`` mutations: a value replaced (by any value,
    or by the same value in another type), a key deleted or renamed, a list emptied or grown."""
    tree = _copy(tree)
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = _paths(tree)
        path = draw(st.sampled_from(paths))
        if not path:
            tree = draw(st.one_of(VALUES, st.just([tree]), st.just(str(tree)[:50])))
            continue
        parent = tree
        for key in path[:-1]:
            parent = parent[key]
        key, old = path[-1], parent[path[-1]]
        action = draw(st.sampled_from(["replace", "retype", "delete", "rename", "grow"]))
        if action == "replace":
            parent[key] = draw(VALUES)
        elif action == "retype":
            parent[key] = draw(st.sampled_from([str(old), [old], {"x": old}, None, True]))
        elif action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = parent.pop(key)
        elif isinstance(old, list):
            old.extend(draw(st.lists(VALUES, max_size=3)) or [old[:1]])
        elif isinstance(old, dict):
            old[draw(st.text(max_size=8))] = draw(VALUES)
        else:
            parent[key] = draw(VALUES)
    return tree


YAML_NOISE = ":-[]{},&*!|>#'\"?%@`\n\t \\0.e+"


def _mutate(draw: st.DrawFn, seq, max_mutations: int, reach: int,
            noise: st.SearchStrategy, one: st.SearchStrategy):
    """``seq`` (str or bytes) with 1..``max_mutations`` edits: a slice of up to ``reach`` items
    deleted or duplicated, ``noise`` inserted, one item replaced by ``one``, or a truncation."""
    for _ in range(draw(st.integers(1, max_mutations))):
        n = len(seq)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + reach)))
        action = draw(st.sampled_from(["delete", "duplicate", "insert", "flip", "truncate"]))
        if action == "delete":
            seq = seq[:i] + seq[j:]
        elif action == "duplicate":
            seq = seq[:j] + seq[i:j] + seq[j:]
        elif action == "insert":
            seq = seq[:i] + draw(noise) + seq[i:]
        elif action == "flip" and i < n:
            seq = seq[:i] + draw(one) + seq[i + 1:]
        else:
            seq = seq[:i]
    return seq


@st.composite
def mutated_text(draw: st.DrawFn, text: str, max_mutations: int = 4) -> str:
    """``text`` with 1..``max_mutations`` character-level edits: a slice deleted, duplicated or
    moved, characters inserted (YAML punctuation, control and non-ASCII characters) or flipped."""
    noise = st.text(alphabet=st.one_of(st.sampled_from(YAML_NOISE), st.characters()),
                    min_size=1, max_size=8)
    return _mutate(draw, text, max_mutations, 200, noise, st.characters())


ADVERSARIAL_YAML = [
    # billion laughs: a few lines that expand to 10^9 strings when walked
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
              for p, c in zip("abcdefgh", "bcdefghi")),
    "route: &r\n  stations: [AKTAU]\n  length_km: 1\n  events: &e [*r, *r]\n",
    "a: &a [*a]\n",
    "[" * 5000 + "]" * 5000,
    "{a: " * 3000 + "1" + "}" * 3000,
    "- " * 3000 + "x",
    "\0",
    "!!python/object/apply:os.system [echo hi]\n",
    "a: !!binary AAAA\n",
    "a: 1\n" * 20000,
    "x: " + "9" * 10000 + "\n",
]
"""Hand-made inputs that have broken YAML consumers: alias bombs, recursion, deep nesting,
foreign tags, huge numbers."""


def yaml_texts(tree: Any, text: str) -> st.SearchStrategy[str]:
    """Mutated versions of one real YAML file (``tree`` = its parsed form, ``text`` = its text)
    and generated YAML. (:data:`ADVERSARIAL_YAML` is fixed: each test runs it once, by
    parametrize, rather than thousands of times here.)"""
    dump = lambda t: yaml.safe_dump(t, sort_keys=False, allow_unicode=True)  # noqa: E731
    return st.one_of(
        mutated_tree(tree).map(dump),
        mutated_text(text),
        VALUES.map(dump),
    )


# --- byte streams (SCPI) -------------------------------------------------------------------

@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes, max_mutations: int = 4) -> bytes:
    """``data`` with byte-level edits: slices deleted, duplicated, truncated, bytes inserted
    (digits and ``#`` favoured, to forge block headers) or flipped."""
    noise = st.one_of(st.binary(min_size=1, max_size=8),
                      st.text("#0123456789,+-.eE \n", min_size=1, max_size=12).map(str.encode))
    return _mutate(draw, data, max_mutations, 64, noise, st.binary(min_size=1, max_size=1))
