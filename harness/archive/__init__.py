"""The archive of run folders: synthetic campaigns, the Parquet index, trends and re-judging.

Every sub-module reads run folders and never writes into one it did not create: results go
to ``ROOT/.archive/``.
"""
