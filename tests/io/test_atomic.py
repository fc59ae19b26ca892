"""One writer for single output files: whole or not at all, never over a file without consent."""
import os

import pytest

from safetune_data.errors import ConfigError
from safetune_data.io.atomic import atomic_write, write_text_atomic


def test_writes_whole_file_with_ordinary_permissions(tmp_path):
    path = tmp_path / "sub" / "a.jsonl"
    with atomic_write(path) as fh:
        fh.write("x\n")
        assert not path.exists()  # nothing at the target until the block ends
    assert path.read_text() == "x\n"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.jsonl"]


def test_existing_file_is_refused_without_overwrite_and_kept(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("mine")
    with pytest.raises(ConfigError) as err:
        write_text_atomic(path, "new")
    assert err.value.file == str(path) and "--overwrite" in err.value.hint
    assert path.read_text() == "mine"
    write_text_atomic(path, "new", overwrite=True)
    assert path.read_text() == "new"


def test_directory_target_is_refused(tmp_path):
    with pytest.raises(ConfigError):
        write_text_atomic(tmp_path, "x", overwrite=True)


@pytest.mark.parametrize("exc", [ValueError, KeyboardInterrupt])
def test_error_or_ctrl_c_leaves_old_file_and_no_temporary(tmp_path, exc):
    path = tmp_path / "a.jsonl"
    path.write_text("old")
    with pytest.raises(exc):
        with atomic_write(path, overwrite=True) as fh:
            fh.write("half")
            raise exc()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"]


def test_stale_temporary_of_a_killed_writer_is_swept(tmp_path):
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", ""])
    p.wait()
    stale = tmp_path / f".a.jsonl.tmp-{p.pid}-deadbeef"
    stale.write_text("partial")
    write_text_atomic(tmp_path / "a.jsonl", "x")
    assert sorted(q.name for q in tmp_path.iterdir()) == ["a.jsonl"]
