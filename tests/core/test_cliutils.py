def test_write_json_file_creates_parent_folders(tmp_path):
    import json

    from multissl.cliutils import write_json_file

    path = write_json_file(tmp_path / "a" / "b.json", {"acc": 0.5, "name": "x"})
    assert path == tmp_path / "a" / "b.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {"acc": 0.5, "name": "x"}
