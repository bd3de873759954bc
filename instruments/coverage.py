"""Per-model command coverage, generated from the command tables themselves.

``python -m instruments.coverage`` prints the Markdown table the README carries between its
``coverage:begin``/``coverage:end`` markers (a test checks they agree). For each SCPI model:
how many commands its table declares (derived query forms not counted), how many cite a
manual or standard section (*verified*), how many cite only third-party clients written from
the manual (*client-checked*), and which cite nothing (*unverified*).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from instruments.osa import yokogawa_aq6370
from instruments.otdr import anritsu_mt9083, exfo_ftb7000
from instruments.scpi_table import CommandTable

SCPI_DRIVERS = (anritsu_mt9083, exfo_ftb7000, yokogawa_aq6370)
"""The SCPI driver modules; each names its ``MODEL`` and holds its ``COMMANDS`` table."""


@dataclass(frozen=True)
class Coverage:
    """The coverage of one model's table."""

    model: str
    commands: int
    verified: int
    client_checked: int
    unverified: tuple[str, ...]
    """Headers of the commands with no citation."""


def coverage(model: str, table: CommandTable) -> Coverage:
    declared = table.declared()
    return Coverage(
        model=model, commands=len(declared),
        verified=sum(c.verified for c in declared),
        client_checked=sum(c.client_checked for c in declared),
        unverified=tuple(c.header for c in declared if not c.manual))


def scpi_tables() -> dict[str, CommandTable]:
    """Model name → command table, for every SCPI model the harness knows."""
    return {module.MODEL: module.COMMANDS for module in SCPI_DRIVERS}


def markdown() -> str:
    """The README's coverage table."""
    lines = ["| model | commands | verified (manual/standard) | client-checked | unverified |",
             "| --- | --- | --- | --- | --- |"]
    for name, table in scpi_tables().items():
        c = coverage(name, table)
        missing = ", ".join(f"`{h}`" for h in c.unverified) or "none"
        lines.append(f"| `{c.model}` | {c.commands} | {c.verified} | {c.client_checked} | "
                     f"{missing} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
