"""The instruments of a run, opened on first use and closed at the end."""

from __future__ import annotations

from typing import Any, Callable

from instruments.errors import InstrumentError


class InstrumentPool:
    """Opens each station's instruments on first use and closes them at the end of the run."""

    def __init__(self, opener: Callable[[str, str], Any]) -> None:
        self.opener = opener
        self._open: dict[tuple[str, str], Any] = {}

    def get(self, station: str, role: str) -> Any:
        """The ``role`` instrument of ``station`` (``otdr``, ``osa``, ``transponder``)."""
        key = (station, role)
        if key not in self._open:
            self._open[key] = self.opener(station, role)
        return self._open[key]

    def otdr(self, station: str) -> Any:
        return self.get(station, "otdr")

    def osa(self, station: str) -> Any:
        return self.get(station, "osa")

    def transponder(self, station: str) -> Any:
        return self.get(station, "transponder")

    def close(self) -> None:
        for inst in self._open.values():
            try:
                inst.close()
            except (InstrumentError, OSError):
                pass
        self._open.clear()


class ManualPatch:
    """An OTDR or OSA without an optical switch: ``select_port`` asks the engineer to patch."""

    def __init__(self, inner: Any, station: str, role: str, confirm: Callable[[str, str], None],
                 describe: Callable[[str, int], dict[str, Any]]) -> None:
        self.inner, self.station, self.role = inner, station, role
        self.confirm, self.describe = confirm, describe

    def select_port(self, port: int) -> None:
        fibre = self.describe(self.role, port).get("fibre") or f"port {port}"
        self.confirm(f"patch:{self.station}:{self.role}:{fibre}",
                     f"At {self.station}, patch the {self.role.upper()} to fibre {fibre} "
                     f"(ODF port {port}), then confirm")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
