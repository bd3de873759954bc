"""Optical spectrum analyser drivers, one module per instrument model."""
