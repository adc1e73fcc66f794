"""An input file is hashed once per run: the source takes the rerun cache's hash.

The rerun cache knows a file's hash by its stat (or starts hashing it); the source
that reads the file asks `FileHasher` for the same hash. It must get that hash
without reading the file again while the stat is unchanged, and hash the file
afresh once the stat changed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cxengine import run_cache
from cxengine.dataset import files
from cxengine.dataset.files import FileHasher, file_stat, share_hash
from tests.project_files import ProjectFactory
from tests.test_run_cache import DATASET, SPECS, responses


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Each file a FileHasher reads (its own hashing thread)."""
    seen: list[Path] = []
    real = FileHasher._run

    def counted(self: FileHasher) -> None:
        seen.append(self.path)
        real(self)

    monkeypatch.setattr(FileHasher, "_run", counted)
    monkeypatch.setattr(files, "_SHARED", {})
    return seen


def _old_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(text)
    os.utime(path, (1_700_000_000, 1_700_000_000))  # times long past: trusted
    return path


def test_a_shared_digest_is_taken_without_reading(tmp_path: Path, reads: list[Path]) -> None:
    path = _old_file(tmp_path, "a,b\n1,2\n")
    share_hash(path, file_stat(path), "sha1:known")
    assert FileHasher(path).result() == "sha1:known"
    assert reads == []


def test_a_shared_hasher_is_waited_for_not_repeated(tmp_path: Path, reads: list[Path]) -> None:
    path = _old_file(tmp_path, "a,b\n1,2\n")
    first = FileHasher(path)
    share_hash(path, file_stat(path), first)
    second = FileHasher(path)
    assert second.result() == first.result()
    assert reads == [path]  # one read for both


def test_a_changed_file_is_hashed_again(tmp_path: Path, reads: list[Path]) -> None:
    path = _old_file(tmp_path, "a,b\n1,2\n")
    share_hash(path, file_stat(path), "sha1:stale")
    path.write_text("a,b\n1,3\n")  # same size, new times
    digest = FileHasher(path).result()
    assert digest != "sha1:stale" and digest.startswith("sha1:")
    assert reads == [path]


def test_a_run_reads_its_input_once_and_a_forced_rerun_not_at_all(
    make_project: ProjectFactory, reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxengine.cli import cli

    config = make_project(DATASET, SPECS, {"data/responses.csv": responses(5)})
    data = config.parent / "data" / "responses.csv"
    # The file's change time is now: trust times of any age here, as if it were older
    # than the 2 s the caches wait for (run_cache.RACY_S).
    monkeypatch.setattr(run_cache, "RACY_S", -1.0)
    assert CliRunner().invoke(cli, ["--config", str(config), "run", "--force"]).exit_code == 0
    assert reads == [data.resolve()]  # the rerun cache hashed it; the source took that
    reads.clear()
    assert CliRunner().invoke(cli, ["--config", str(config), "run", "--force"]).exit_code == 0
    assert reads == []  # its stored hash still holds: the source takes it, unread
