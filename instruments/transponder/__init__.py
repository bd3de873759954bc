"""Transponder drivers (TL1 consoles), one module per dialect."""
