"""Instrument layer: protocol classes, one driver module per instrument model, and simulators.

Test plans depend on the protocol classes in :mod:`instruments.protocols` only; a station file
names the model, and :mod:`instruments.registry` maps it to the driver that owns the session.
"""
