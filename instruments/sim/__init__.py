"""Simulated landing stations: a physical model of the span, served as real instruments."""
