"""OTDR drivers, one module per instrument model."""
