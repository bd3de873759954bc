"""Trace analysis: OTDR events and losses, OSA channels and OSNR, transponder margins."""
