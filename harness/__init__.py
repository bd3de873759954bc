"""caspian-harness: acceptance tests for the Trans-Caspian submarine fibre span."""

__version__ = "0.1.0"
