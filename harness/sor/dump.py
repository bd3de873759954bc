"""A JSON-ready summary of a .sor record (``harness sor dump FILE.sor``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any

from harness.sor.record import SorRecord


def _strings(block: Any) -> dict[str, Any] | None:
    if block is None:
        return None
    return {k: v.strip() if isinstance(v, str) else v for k, v in dataclasses.asdict(block).items()}


def sor_summary(record: SorRecord) -> dict[str, Any]:
    """Fields and events in physical units: wavelength (nm), pulse widths (ns), sample spacing
    (s and m), distances (m from the user offset), losses and reflectances (dB), plus the
    instrument, the raw averaging time and the checksum verdict. Strings are stripped."""
    fx, data, ev = record.fixed, record.data, record.events
    events = [{"number": e.number, "distance_m": round(e.distance_m, 3),
               "time_of_travel_100ps": e.time_of_travel, "loss_db": e.loss_db,
               "reflectance_db": e.reflectance_db, "slope_db_per_km": e.slope_db_per_km,
               "code": e.code, "technique": e.technique, "comment": e.comment.strip()}
              for e in (ev.events if ev else [])]
    return {
        "format_version": record.format_version,
        "blocks": [{"name": b.name, "revision": b.revision, "size": b.size}
                   for b in record.map.blocks],
        "date_time_unix": fx.date_time,
        "date_time_utc": datetime.fromtimestamp(fx.date_time, timezone.utc).isoformat(),
        "wavelength_nm": fx.actual_wavelength_nm,
        "nominal_wavelength_nm": record.general.nominal_wavelength_nm if record.general else None,
        "pulse_widths_ns": list(fx.pulse_widths_ns),
        "group_index": fx.group_index,
        "sample_spacing_s": fx.sample_spacing_s,
        "sample_spacing_m": fx.sample_spacing_m,
        "n_points": data.n_points,
        "scale_factors": [list(s) for s in data.scale_factors],
        "start_m": float(data.distance_m[0]) if data.distance_m.size else None,
        "end_m": float(data.distance_m[-1]) if data.distance_m.size else None,
        "backscatter_db": fx.backscatter_db,
        "number_of_averages": fx.number_of_averages,
        "averaging_time_raw": fx.averaging_time_raw,
        "general": _strings(record.general),
        "supplier": _strings(record.supplier),
        "events": events,
        "end_to_end_loss_db": ev.end_to_end_loss_db if ev else None,
        "orl_db": ev.orl_db if ev else None,
        "vendor_blocks": {name: len(body) for name, body in record.vendor_blocks.items()},
        "checksum_stored": record.checksum_stored,
        "checksum_computed": record.checksum_computed,
        "checksum_ok": record.checksum_ok,
    }
