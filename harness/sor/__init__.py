"""Telcordia SR-4731 (.sor, "Bellcore") OTDR files: read, write, summarise.

``read_sor`` reads revision 2 (Map block with names) and revision 1 files into a typed
:class:`SorRecord`; ``write_sor``/``save_sor`` write revision 2 with a correct Map and Cksum;
``record_from_trace`` builds a record from a trace the harness measured; ``sor_summary`` gives a
JSON-ready dict (``harness sor dump``).
"""

from harness.sor.dump import sor_summary
from harness.sor.errors import SorError, SorWarning
from harness.sor.reader import read_sor
from harness.sor.record import (DataPts, FxdParams, GenParams, KeyEvent, KeyEvents, MapEntry,
                                SorMap, SorRecord, SupParams)
from harness.sor.writer import record_from_trace, save_sor, write_sor

__all__ = ["DataPts", "FxdParams", "GenParams", "KeyEvent", "KeyEvents", "MapEntry", "SorError",
           "SorMap", "SorRecord", "SorWarning", "SupParams", "read_sor", "record_from_trace",
           "save_sor", "sor_summary", "write_sor"]
