"""What every modality leaves out of a user's folder, and the order of numbered files (multissl.files)."""
from pathlib import Path

from multissl.files import is_hidden, is_hidden_name, natural_key


def test_hidden_names_and_paths_below_a_root():
    assert all(is_hidden_name(n) for n in (".DS_Store", "._a.wav", ".ipynb_checkpoints", "__MACOSX"))
    assert not any(is_hidden_name(n) for n in ("a.wav", "MACOSX", "x.y", "_a.jpg"))
    root = Path("/data/set")
    assert is_hidden(root / "__MACOSX" / "spk" / "a.wav", root)
    assert is_hidden(root / "spk" / ".cache" / "a.wav", root)
    assert not is_hidden(root / "spk" / "a.wav", root)
    assert not is_hidden(Path("/home/.me/set/spk/a.wav"), Path("/home/.me/set"))  # above the root does not count
    assert is_hidden("clips/._a.mp4") and not is_hidden("clips/a.mp4")


def test_numbered_names_sort_as_numbers():
    names = ["10.jpg", "2.jpg", "1.jpg", "frame_010.png", "frame_9.png", "b.jpg", "a.jpg"]
    assert sorted(names, key=natural_key) == ["1.jpg", "2.jpg", "10.jpg", "a.jpg", "b.jpg", "frame_9.png", "frame_010.png"]
    assert sorted(["00002.jpg", "00010.jpg", "00001.jpg"], key=natural_key) == ["00001.jpg", "00002.jpg", "00010.jpg"]
