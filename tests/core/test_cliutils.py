def test_write_json_file_creates_parent_folders(tmp_path):
    import json

    from multissl.cliutils import write_json_file

    path = write_json_file(tmp_path / "a" / "b.json", {"acc": 0.5, "name": "x"})
    assert path == tmp_path / "a" / "b.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {"acc": 0.5, "name": "x"}


def test_write_json_file_writes_non_finite_numbers_as_null(tmp_path):
    import json
    import math

    import numpy as np

    from multissl.cliutils import write_json_file

    payload = {"spearman": math.nan, "scores": [1.0, math.inf, (np.float64("nan"), 2)], "nested": {"x": -math.inf}}
    path = write_json_file(tmp_path / "r.json", payload)
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
    assert json.loads(path.read_text()) == {"spearman": None, "scores": [1.0, None, [None, 2]], "nested": {"x": None}}
    assert payload["spearman"] != payload["spearman"]  # the caller's payload is left as it was
