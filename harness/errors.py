"""The project's own error types: every expected failure ends in one of these.

The CLI turns a ``HarnessError`` into one line on stderr and exit code 2.
"""


class HarnessError(Exception):
    """Base class of every error the harness reports to a user as one line."""


class ConfigError(HarnessError):
    """A station, span or limits file is wrong; the message names the file and field."""


class StoreError(HarnessError):
    """The run folder or its HDF5 record cannot be read or written."""


class RunInterrupted(HarnessError):
    """The operator stopped a run (Ctrl-C): its completed steps are kept for ``harness resume``."""
