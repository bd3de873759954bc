"""Dask for the archive: a local cluster (one single-threaded worker process per core) or an
existing one (``dask scheduler`` / ``dask worker`` on machines that see the same archive path),
and a progress bar over tasks that each handle one run folder (bounded memory per worker)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from harness.errors import HarnessError


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler`` (``tcp://HOST:PORT``) when given, else to a
    new local cluster of ``workers`` processes (default: one per core), one thread each (the
    plan's judge runs pytest, which is not thread-safe). Closed on exit."""
    from distributed import Client, LocalCluster

    if scheduler:  # callers run check_scheduler first, before any other work
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise HarnessError(f"{scheduler}: cannot reach the Dask scheduler: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    if workers is not None and workers < 1:
        raise HarnessError(f"--workers {workers}: expected 1 or more")
    n = workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=40) as cluster, Client(cluster) as client:
        yield client


def check_scheduler(scheduler: str, timeout_s: float = 5.0) -> None:
    """Raise :class:`HarnessError` (one line) at once when a ``tcp://HOST:PORT`` scheduler
    refuses the connection or cannot be reached within ``timeout_s`` (s): ``distributed.Client``
    would retry a refused port for its whole 20 s timeout. Called before any other work (an
    archive index) too. Other schemes (``tls://``...) are left to the client."""
    scheme, sep, rest = scheduler.partition("://")
    if not sep or scheme != "tcp":
        return
    host, colon, port = rest.rstrip("/").rpartition(":")
    if not colon or not port.isdigit():
        raise HarnessError(f"{scheduler}: not a Dask scheduler address (tcp://HOST:PORT)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except ConnectionRefusedError:
        raise HarnessError(f"{scheduler}: cannot reach the Dask scheduler: connection refused "
                           "(no scheduler listens there)") from None
    except OSError as exc:
        why = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise HarnessError(f"{scheduler}: cannot reach the Dask scheduler: {why}") from None


def run_tasks(client: Any, fn: Callable[..., Any], items: Iterable[tuple], label: str,
              progress: bool = True) -> Iterator[tuple[tuple, Any, str]]:
    """Submit ``fn(*item)`` for every item; yield ``(item, result, "")`` as each finishes, or
    ``(item, None, reason)`` when it raised. A rich progress bar on a terminal (stderr)."""
    from distributed import as_completed
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn)

    items = list(items)
    futures = {client.submit(fn, *item, pure=False): item for item in items}
    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   disable=not (progress and sys.stderr.isatty()), transient=False)
    with bar:
        task = bar.add_task(label, total=len(items))
        for future in as_completed(futures):
            item = futures.pop(future)
            try:
                result, reason = future.result(), ""
            except Exception as exc:  # a task's own failure: listed with its reason
                result, reason = None, f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            future.release()
            bar.advance(task)
            yield item, result, reason
