import os
import subprocess
from pathlib import Path

import pytest

from components.remote_scripts import install_file_script, run_sql_script


def run(script: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], input=stdin, capture_output=True, text=True, check=False)


def test_installs_in_place_keeping_the_inode(tmp_path: Path) -> None:
    target = tmp_path / "sites" / "prices.caddy"
    target.parent.mkdir()
    target.write_text("old\n")
    inode = target.stat().st_ino
    reloads = tmp_path / "reloads"
    result = run(install_file_script(str(target), validate="true", reload=f"echo reloaded >> {reloads}"), "new\n")
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "new\n"
    # A bind-mounted single file only sees writes to the same inode.
    assert target.stat().st_ino == inode
    assert reloads.read_text() == "reloaded\n"
    assert oct(target.stat().st_mode & 0o777) == "0o640"


def test_failed_validation_restores_previous_file_and_skips_reload(tmp_path: Path) -> None:
    target = tmp_path / "prices.caddy"
    target.write_text("good\n")
    reloads = tmp_path / "reloads"
    validate = f"grep -q good {target}"
    result = run(install_file_script(str(target), validate=validate, reload=f"touch {reloads}"), "broken\n")
    assert result.returncode == 1
    assert "validation failed" in result.stderr
    assert target.read_text() == "good\n"
    assert not reloads.exists()


def test_first_install_that_fails_validation_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new" / "prices.caddy"
    result = run(install_file_script(str(target), validate="false", reload=None), "x\n")
    assert result.returncode == 1
    assert not target.exists()


def test_paths_with_spaces_are_quoted(tmp_path: Path) -> None:
    target = tmp_path / "dir with space" / "ca.pem"
    result = run(install_file_script(str(target), mode="0644", validate=None, reload=None), "pem\n")
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "pem\n"
    assert oct(os.stat(target).st_mode & 0o777) == "0o644"


def test_bad_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="four octal digits"):
        install_file_script("/x", mode="rw", validate=None, reload=None)


def test_sql_script_stops_on_the_client_error() -> None:
    assert run(run_sql_script("cat > /dev/null; exit 3"), "SELECT 1").returncode == 3
    assert run(run_sql_script("cat > /dev/null"), "SELECT 1").returncode == 0
