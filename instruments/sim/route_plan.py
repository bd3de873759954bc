"""The route plan of a simulated span: where the cable records put splices and joints.

Real campaigns take this from the cable manufacturer's and installer's records; for the
simulated span it is written from the span model (``python -m instruments.sim.route_plan``).
Injected faults are not in it, as a fault would not be in the records.
"""

from __future__ import annotations

import sys

import yaml

from instruments.sim.span import DEFAULT_SPAN, Span, load_span


def route_plan(span: Span) -> dict:
    """Cable-level events (km from the first station) that every fibre of the span shares."""
    fibre = next(iter(span.fibres.values()))
    events = [{"distance_km": round(e.position_km, 3), "kind": e.kind, "label": e.label}
              for e in fibre.events if not e.label.startswith("injected")]
    return {"route": f"{span.stations[0]}-{span.stations[1]}", "length_km": span.length_km,
            "events": events}


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT_SPAN)
    plan = route_plan(load_span(path))
    print("# Route plan: cable records of splices, joints and connectors, km from the first station.")
    print(yaml.safe_dump(plan, sort_keys=False), end="")
