"""The sign-off report of a run: ``report.pdf`` made from the run folder.

``build_report(run_dir)`` reads ``run_dir/run.h5`` and writes ``run_dir/report.pdf``: a cover
with the overall verdict, the instruments, every check (failures and errors first) with its
values, limits and margins, the OTDR traces of each fibre from both ends with their events,
the OSA spectra with the OSNR of each channel, the transponder PM, the SHA-256 of every data
file and a signature block.

The PDF is made by typst from ``template.typ`` and a JSON model (:mod:`harness.report.model`);
figures are drawn by matplotlib (:mod:`harness.report.plots`). The same run folder gives the
same PDF bytes: the PDF's date is the run's finish time, only the fonts embedded in the typst
package are used, and figures carry no date.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, StoreError
from harness.report.model import build_model, json_ready, parse_utc, span_length_m
from harness.report.record import RunRecord, read_run

__all__ = ["build_report", "build_model", "read_run", "render_pdf"]

TEMPLATE = Path(__file__).with_name("template.typ")
REPORT = "report.pdf"


def _timestamp(model: dict[str, Any], record: RunRecord) -> dt.datetime:
    """The PDF's creation date: when the run finished (else started); the epoch if neither."""
    for key in ("finished_utc", "started_utc"):
        t = parse_utc(str(record.attrs.get(key, "") or ""))
        if t:
            return t.astimezone(dt.timezone.utc)
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def render_pdf(record: RunRecord, model: dict[str, Any] | None = None) -> bytes:
    """The report's PDF bytes for ``record`` (figures drawn in a scratch folder)."""
    import typst

    from harness.report.plots import draw_all

    model = model if model is not None else build_model(record)
    with tempfile.TemporaryDirectory(prefix="caspian-report-") as tmp:
        work = Path(tmp)
        draw_all(record, model, span_length_m(record), work)
        (work / "data.json").write_text(json.dumps(json_ready(model), allow_nan=False,
                                                   ensure_ascii=False), encoding="utf-8")
        shutil.copyfile(TEMPLATE, work / "main.typ")
        try:
            pdf = typst.compile(str(work / "main.typ"), root=str(work), ignore_system_fonts=True,
                                sys_inputs={"data": "data.json"},
                                timestamp=_timestamp(model, record))
        except typst.TypstError as exc:  # a template bug, not a user error: keep the detail
            raise HarnessError(f"report: typst could not lay the report out: {exc.message}") from exc
    if not isinstance(pdf, bytes):  # pragma: no cover - compile to bytes always returns bytes
        raise HarnessError("report: typst returned no PDF")
    return pdf


def build_report(run_dir: Path) -> Path:
    """Write ``run_dir/report.pdf`` from ``run_dir/run.h5``; returns its path.

    Raises :class:`~harness.errors.StoreError` when the run folder or its record is unreadable
    or the report cannot be written.
    """
    run_dir = Path(run_dir)
    record = read_run(run_dir)
    pdf = render_pdf(record)
    out = run_dir / REPORT
    tmp = out.with_name(f".{REPORT}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(pdf)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"{out}: cannot write the report: {exc.strerror or exc}") from None
    return out
