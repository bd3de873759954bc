import pytest

from instruments.input_files import read_input_file


class Bad(Exception):
    pass


def test_reads_up_to_the_cap_and_refuses_more_naming_the_file(tmp_path):
    path = tmp_path / "trace.sor"
    path.write_bytes(b"x" * 2048)
    assert read_input_file(path, 2048, Bad) == b"x" * 2048
    with pytest.raises(Bad, match=r"trace\.sor: larger than 0 MiB, not a \.sor file"):
        read_input_file(path, 2047, Bad, "a .sor file")


@pytest.mark.parametrize("name,says", [("missing.yaml", "cannot read"), ("a\0b", "not a valid file name")])
def test_unreadable_paths_are_one_line_errors_of_the_callers_type(tmp_path, name, says):
    with pytest.raises(Bad, match=says):
        read_input_file(tmp_path / name, 1024, Bad)
