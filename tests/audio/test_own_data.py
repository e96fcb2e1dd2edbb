"""One test of "is this the run's own training folder", shared by the probes, the clusters and label efficiency."""
import os

from multissl.audio.probe_run import trained_on
from multissl.run import data_identity


def test_trained_on_compares_folders_as_the_core_does(tmp_path, monkeypatch):
    (tmp_path / "spk").mkdir()
    (tmp_path / "other").mkdir()
    os.symlink(tmp_path / "spk", tmp_path / "link")
    record = {"data": {"root": str(tmp_path / "spk")}}
    monkeypatch.chdir(tmp_path)
    assert trained_on(record, "spk") and trained_on(record, tmp_path / "link")
    assert data_identity("spk") == data_identity(tmp_path / "link") == str((tmp_path / "spk").resolve())
    assert not trained_on(record, tmp_path / "other") and not trained_on(record, [tmp_path / "spk"])
    assert not trained_on({"data": {}}, tmp_path / "spk") and not trained_on({}, tmp_path / "spk")
