"""FileIndex: facts measured once per file and kept while the file is unchanged."""
import functools
import os

import pytest

from multissl.file_index import FileIndex, cache_dir


def _measure(calls, file):
    calls.append(file.name)
    text = file.read_text()
    if text == "bad":
        raise ValueError("not a number")
    return {"value": int(text)}


def _length(file):
    return {"length": len(file.read_text())}


def _files(tmp_path, values):
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    files = []
    for i, v in enumerate(values):
        f = folder / f"f{i}.txt"
        f.write_text(v)
        files.append(f)
    return folder, files


def test_facts_are_measured_once_and_again_when_a_file_changes(tmp_path):
    folder, files = _files(tmp_path, ["1", "22", "bad"])
    calls = []
    index = FileIndex("test", folder)
    first = index.facts(files, functools.partial(_measure, calls))
    assert first == [{"value": 1}, {"value": 22}, {"error": "ValueError: not a number"}]
    assert calls == ["f0.txt", "f1.txt", "f2.txt"] and index.path.is_file()
    calls.clear()
    again = FileIndex("test", folder)
    assert again.facts(files, functools.partial(_measure, calls)) == first and calls == []
    assert (again.reused, again.measured) == (3, 0)
    files[1].write_text("333")
    os.utime(files[1], ns=(1, 1))  # a new size and time: measured again
    assert FileIndex("test", folder).facts(files, functools.partial(_measure, calls))[1] == {"value": 333}
    assert calls == ["f1.txt"]


def test_workers_measure_the_same_facts(tmp_path):
    folder, files = _files(tmp_path, [str(i) * (i % 7 + 1) for i in range(600)])
    serial = [_length(f) for f in files]
    assert FileIndex("par", folder).facts(files, _length, workers=2) == serial


def test_the_index_can_be_turned_off_and_an_unwritable_cache_only_warns(tmp_path, monkeypatch):
    folder, files = _files(tmp_path, ["5"])
    monkeypatch.setenv("MULTISSL_CACHE", "off")
    assert cache_dir() is None
    calls = []
    for _ in range(2):
        assert FileIndex("off", folder).facts(files, functools.partial(_measure, calls)) == [{"value": 5}]
    assert calls == ["f0.txt", "f0.txt"]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("MULTISSL_CACHE", str(blocker))
    with pytest.warns(RuntimeWarning, match="cannot write the file index"):
        assert FileIndex("ro", folder).facts(files, _length) == [{"length": 1}]
