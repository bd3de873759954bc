"""The README's command coverage table is the one the tables themselves give."""

from pathlib import Path

from instruments.coverage import coverage, markdown, scpi_tables
from instruments.scpi_table import Command, CommandTable

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_coverage_table_matches_the_tables():
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- coverage:begin -->\n", 1)[1].split("<!-- coverage:end -->", 1)[0]
    assert block == markdown(), "regenerate with: python -m instruments.coverage"


def test_coverage_counts_citations_by_kind():
    table = CommandTable(Command("a", ":A", manual="Manual §1"), Command("b", ":B", manual="clients: X"),
                         Command("c", ":C", (int,), readable=True))
    c = coverage("m", table)
    assert (c.commands, c.verified, c.client_checked, c.unverified) == (3, 1, 1, (":C",))


def test_every_scpi_model_is_listed():
    assert set(scpi_tables()) == {"anritsu-mt9083", "exfo-ftb7000", "yokogawa-aq6370"}
