"""The text of a PDF as laid out on its pages, for the tests that read a report: poppler's
``pdftotext -layout`` where it is installed, else pypdf's layout mode (the test extra), so no
check of a report's text is ever skipped for want of poppler."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

PDFTOTEXT = shutil.which("pdftotext")
TRACKED = re.compile(r"\b\w{1,2}(?: \w{1,2}\b){2,}(?:   \w{1,2}(?: \w{1,2}\b)+)*")
"""A letter-spaced heading as pypdf lays it out ("O V E R A L L   V E R D I C T"): joined as
poppler's pdftotext gives it ("OVERALL VERDICT")."""


def pdf_text(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    """Text of pages ``first``..``last`` (1-based, inclusive) as laid out on the page."""
    if not PDFTOTEXT:
        from pypdf import PdfReader

        pages = PdfReader(pdf).pages[(first or 1) - 1:last or None]
        text = "\f".join(page.extract_text(extraction_mode="layout") for page in pages)
        return TRACKED.sub(lambda m: " ".join(w.replace(" ", "") for w in m[0].split("   ")), text)
    args = [PDFTOTEXT, "-layout"]
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    return subprocess.run(args + [str(pdf), "-"], check=True, capture_output=True, text=True).stdout
