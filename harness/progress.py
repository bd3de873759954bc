"""Progress on the terminal while a plan runs: the current check, what each instrument is doing
(configuring, a long operation with the time left, a block transfer with bytes and rate) and
checks done of the total.

On a terminal it is a rich live panel, redrawn a few times a second and gone when the run ends
(the one-screen summary follows); anywhere else (CI, a pipe) it is one plain line per finished
check. It writes to its own handle on the terminal, because pytest redirects file descriptor 1
while each check runs. The display never stops a run: the first error in it turns it off with
one line saying why. The drivers know nothing of it: they call the listener it hands out
(:meth:`RunProgress.listener`, an :class:`~instruments.scpi_driver.Activity` per call).
"""

from __future__ import annotations

import functools
import os
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from instruments.scpi_driver import Activity

MODES = ("auto", "live", "lines", "off")
"""``auto``: live on a terminal, else lines; ``off``: pytest's own output, no display."""

VERDICT_STYLE = {"pass": "green", "marginal": "yellow", "fail": "bold red", "error": "bold magenta",
                 "skipped": "dim"}


@dataclass(frozen=True)
class CheckInfo:
    """The check running now: pytest node id, requirement id, where (station, fibre, nm)."""

    nodeid: str
    requirement: str = ""
    where: str = ""
    started: float = 0.0  # time.monotonic() at its start


@dataclass(frozen=True)
class InstrumentView:
    """The last thing an instrument reported, with when (``at``, monotonic s), the start of the
    current transfer (``transfer_start``) and the size (bytes) and rate (bytes/s) of the last
    finished one."""

    activity: Activity = field(default_factory=lambda: Activity("idle"))
    at: float = 0.0
    transfer_start: float = 0.0
    rate_bps: float = 0.0
    last_bytes: int = 0


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``method`` unless the display is off; an error in it turns the display off."""
    @functools.wraps(method)
    def wrapper(self: "RunProgress", *args: Any, **kwargs: Any) -> Any:
        if self.broken or self.closed:
            return None
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # a display bug must not become a failed check
            self._give_up(exc)
            return None
    return wrapper


class RunProgress:
    """Collects the run's events and shows them live (``live=True``) or as plain lines on ``out``.

    ``clock``: the monotonic clock (s); ``owns_out``: :meth:`close` closes ``out``. State kept
    for the display, readable by tests:
    :attr:`total`, :attr:`done`, :attr:`counts` (per verdict), :attr:`current`,
    :attr:`instruments` (name → :class:`InstrumentView`).
    """

    def __init__(self, out: TextIO, live: bool, clock: Callable[[], float] = time.monotonic,
                 refresh_per_second: float = 8.0, owns_out: bool = False) -> None:
        self.out, self.clock, self.owns_out = out, clock, owns_out
        self.total = 0
        self.done = 0
        self.counts: dict[str, int] = {}
        self.current: CheckInfo | None = None
        self.instruments: dict[str, InstrumentView] = {}
        self.broken = False
        self.closed = False
        self.started = clock()
        self._live: Live | None = None
        if live:
            console = Console(file=out, force_terminal=True, highlight=False)
            self._live = Live(console=console, get_renderable=self._render_safely,
                              refresh_per_second=refresh_per_second, transient=True,
                              redirect_stdout=False, redirect_stderr=False, auto_refresh=True)

    # --- events ----------------------------------------------------------------------------
    @_guarded
    def start(self, total: int) -> None:
        """The plan holds ``total`` checks; the live panel appears."""
        self.total, self.started = total, self.clock()
        if self._live is not None:
            self._live.start()
        else:
            self._line(f"Running {total} checks")

    @_guarded
    def check_started(self, nodeid: str, requirement: str = "", where: str = "") -> None:
        self.current = CheckInfo(nodeid, requirement, where, self.clock())

    @_guarded
    def check_finished(self, nodeid: str, verdict: str) -> None:
        """One check's verdict (pass, marginal, fail, error, skipped)."""
        self.done += 1
        self.counts[verdict] = self.counts.get(verdict, 0) + 1
        info = self.current if self.current and self.current.nodeid == nodeid else CheckInfo(nodeid)
        self.current = None
        if self._live is None:
            width = len(str(self.total or self.done))
            took = self.clock() - info.started if info.started else 0.0
            req = f"{info.requirement:6s} " if info.requirement else ""
            self._line(f"[{self.done:{width}d}/{self.total}] {verdict:8s} {req}{nodeid}  "
                       f"({took:.1f} s)")

    @_guarded
    def note(self, text: str) -> None:
        """A message for the engineer (a collection error, say), printed above the panel."""
        if self._live is not None and self._live.is_started:
            self._live.console.print(Text(text))
        else:
            self._line(text)

    def listener(self, name: str) -> Callable[[Activity], None]:
        """The callback for instrument ``name`` (e.g. ``AKTAU otdr``): give it to a driver as
        its ``activity``. It never raises."""
        self.instruments.setdefault(name, InstrumentView())

        def on_activity(activity: Activity) -> None:
            self._activity(name, activity)
        return on_activity

    @_guarded
    def _activity(self, name: str, activity: Activity) -> None:
        now = self.clock()
        view = self.instruments.get(name) or InstrumentView()
        if activity.state == "transferring":
            if activity.done == 0 or view.activity.state != "transferring":
                view = replace(view, transfer_start=now)
            spent = now - view.transfer_start
            if activity.done == activity.total and spent > 0:
                view = replace(view, rate_bps=activity.done / spent, last_bytes=activity.total)
        self.instruments[name] = replace(view, activity=activity, at=now)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The live panel is taken off the screen while the block runs (an operator prompt)."""
        live = self._live if self._live is not None and self._live.is_started else None
        if live is None or self.broken:
            yield
            return
        live.stop()
        try:
            yield
        finally:
            if not self.broken:
                live.start()

    def capture_guard(self, capture: Any) -> "PromptGuard":
        """What :class:`~harness.prompts.Operator` takes as its capture manager: pytest's
        capture off *and* the panel off while the engineer answers."""
        return PromptGuard(self, capture)

    def close(self) -> None:
        """Take the panel off the screen; later events are ignored (idempotent)."""
        self.closed = True
        live, self._live = self._live, None
        try:
            if live is not None and live.is_started:
                live.stop()
            if self.owns_out:
                self.out.close()
        except Exception:  # the terminal may be gone already
            pass

    # --- drawing ---------------------------------------------------------------------------
    def _line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _give_up(self, exc: Exception) -> None:
        self.broken = True
        live, self._live = self._live, None
        try:
            if live is not None and live.is_started:
                live.stop()
            self._line(f"harness: progress display off ({type(exc).__name__}: {exc})")
        except Exception:  # nowhere left to say it
            pass

    def _render_safely(self) -> Any:
        if self.broken:
            return Text("")
        try:
            live = self._live
            if live is not None:  # rich measures descriptors 0-2, which pytest redirects
                live.console.width = os.get_terminal_size(self.out.fileno()).columns
        except (AttributeError, OSError, ValueError):
            pass
        try:
            return self.render()
        except Exception as exc:  # called from rich's refresh thread: never let it die loudly
            self.broken = True
            return Text(f"progress display off ({type(exc).__name__}: {exc})")

    def render(self) -> Group:
        """The live panel: a bar of checks done, the current check, one row per instrument."""
        now = self.clock()
        head = Table.grid(padding=(0, 1))
        head.add_row(ProgressBar(total=max(self.total, 1), completed=self.done, width=30),
                     Text(f"{self.done}/{self.total} checks"),
                     Text.assemble(*[(f" {v} {n}", VERDICT_STYLE.get(v, ""))
                                     for v, n in sorted(self.counts.items())]),
                     Text(f"  {_clock(now - self.started)}", style="dim"))
        current = self.current
        rows: list[Any] = [head]
        if current is not None:
            rows.append(Text.assemble(("▶ ", "bold"), (f"{current.requirement} ", "cyan"),
                                      current.nodeid, (f"   {current.where}", "dim")))
        table = Table.grid(padding=(0, 2))
        for name, view in dict(self.instruments).items():
            table.add_row(Text(name, style="bold"), *_describe(view, now))
        rows.append(table)
        return Group(*rows)


class PromptGuard:
    """A capture manager stand-in for :class:`~harness.prompts.Operator`: pausing pytest's
    capture (if any) and the live panel around a prompt."""

    def __init__(self, progress: RunProgress, capture: Any) -> None:
        self.progress, self.capture = progress, capture

    @contextmanager
    def global_and_fixture_disabled(self) -> Iterator[None]:
        inner = self.capture.global_and_fixture_disabled() if self.capture else nullcontext()
        with self.progress.paused(), inner:
            yield


def _describe(view: InstrumentView, now: float) -> list[Text]:
    """Two cells for one instrument: its state, and the figures that go with it."""
    a = view.activity
    if a.state == "running":
        left = "" if a.left_s is None else f"{_clock(max(a.left_s - (now - view.at), 0.0))} left"
        spent = a.elapsed_s + (now - view.at)
        return [Text(a.what, style="yellow"), Text(f"{_clock(spent)} elapsed  {left}".rstrip())]
    if a.state == "transferring":
        spent = now - view.transfer_start
        rate = f"  {_size(a.done / spent)}/s" if spent > 0 and a.done else ""
        return [Text("transferring", style="cyan"),
                Text(f"{_size(a.done)} of {_size(a.total)}{rate}  {a.what}")]
    if a.state in ("configuring", "aborting"):
        return [Text(a.state, style="magenta" if a.state == "aborting" else ""), Text(a.what)]
    last = (f"last block {_size(view.last_bytes)} at {_size(view.rate_bps)}/s"
            if view.last_bytes else "")
    return [Text("idle", style="dim"), Text(last, style="dim")]


def check_place(params: dict[str, Any]) -> str:
    """Where a parametrised check works (station, fibre, wavelength), from its parameters'
    ``station``/``fibre``/``wavelength_nm`` attributes; "" when they have none."""
    parts: list[str] = []
    for value in params.values():
        for name in ("station", "fibre", "wavelength_nm"):
            got = getattr(value, name, None)
            if got is not None:
                text = f"{got:g} nm" if name == "wavelength_nm" else str(got)
                if text not in parts:
                    parts.append(text)
    return " · ".join(parts)


def _clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``); below 10 s with tenths."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _size(n: float) -> str:
    """Bytes in B, kB, MB (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def open_terminal(stream: TextIO | None = None) -> TextIO:
    """A handle of our own on ``stream`` (default: stdout): a duplicate of its descriptor, so
    pytest's capture of descriptor 1 during each check does not swallow the display."""
    stream = stream or sys.stdout
    try:
        fd = os.dup(stream.fileno())
    except (AttributeError, OSError, ValueError):  # no descriptor (a StringIO): use it as is
        return stream
    return os.fdopen(fd, "w", buffering=1, encoding=getattr(stream, "encoding", None) or "utf-8",
                     errors="replace", closefd=True)


def make_progress(mode: str, stream: TextIO | None = None) -> RunProgress | None:
    """The display for ``mode`` (see :data:`MODES`) on ``stream``; None for ``off``."""
    if mode == "off":
        return None
    out = open_terminal(stream)
    live = mode == "live" or (mode == "auto" and out.isatty() and os.environ.get("TERM") != "dumb")
    return RunProgress(out, live, owns_out=out is not (stream or sys.stdout))
