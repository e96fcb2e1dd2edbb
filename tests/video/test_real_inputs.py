"""Real-world DAVIS-like inputs: file order, void labels, colour masks, damaged files, layouts."""
import warnings

import numpy as np
import pytest
from PIL import Image

from multissl.video.davis import find_resolution, list_sequences, load_sequence
from multissl.video.io import FrameFolderReader, VideoDecodeError, open_video
from multissl.video.masks import VOID, davis_palette, read_mask, read_masks, write_mask
from multissl.video.metrics import score_sequence
from multissl.video.tracking import evaluate_davis, pixel_features, track_masks


def _frame(t, h=32, w=48):
    frame = np.full((h, w, 3), 50, np.uint8)
    frame[8:20, 4 + 2 * t : 16 + 2 * t] = (220, 40, 40)
    return frame


def _mask(t, h=32, w=48, ids=(1, 2)):
    mask = np.zeros((h, w), np.int64)
    mask[8:20, 4 + 2 * t : 16 + 2 * t] = ids[0]
    mask[24:30, 30:40] = ids[1]
    return mask


def _davis(root, seq="a", frames=6, names=None, resolution="480p", mask_fn=_mask):
    """A tiny DAVIS-layout sequence; returns (frame folder, annotation folder)."""
    frame_dir, mask_dir = root / "JPEGImages" / resolution / seq, root / "Annotations" / resolution / seq
    frame_dir.mkdir(parents=True)
    mask_dir.mkdir(parents=True)
    for t, name in enumerate(names or [f"{t:05d}" for t in range(frames)]):
        Image.fromarray(_frame(t)).save(frame_dir / f"{name}.png")
        write_mask(mask_dir / f"{name}.png", mask_fn(t))
    return frame_dir, mask_dir


def _evaluate(root, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = evaluate_davis(root, {"copy_first": None}, verbose=False, **kwargs)
    return results, [str(w.message) for w in caught]


def test_frame_names_without_zero_padding_are_in_numeric_order(tmp_path):
    frame_dir, _ = _davis(tmp_path, frames=12, names=[str(t) for t in range(12)])
    assert [f.stem for f in FrameFolderReader(frame_dir).files] == [str(t) for t in range(12)]
    seq = load_sequence(tmp_path, "a")
    assert all(np.array_equal(seq.masks[t], _mask(t)) for t in range(12))


def test_void_label_is_neither_propagated_nor_scored():
    first = _mask(0)
    first[:, :3] = VOID
    frames = np.stack([_frame(t) for t in range(4)])
    pred = track_masks(frames, first, pixel_features(32))
    assert VOID not in pred[1:] and set(np.unique(pred[1:])) <= {0, 1, 2}
    true = np.stack([first] * 4)
    perfect = np.where(true == VOID, 1, true)  # any label on void pixels is not counted
    scores = score_sequence(perfect, true)
    assert scores.object_ids == [1, 2] and np.all(scores.J == 1) and np.all(scores.F == 1)


def test_colour_masks_keep_ids_over_a_sequence(tmp_path):
    red, green = (255, 0, 0), (0, 255, 0)  # not DAVIS palette colours
    both, only_red = np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8)
    both[0, 0], both[1, 1], only_red[0, 0] = red, green, red
    Image.fromarray(both).save(tmp_path / "0.png")
    Image.fromarray(only_red).save(tmp_path / "1.png")
    a, b = read_masks([tmp_path / "0.png", tmp_path / "1.png"])
    assert a[0, 0] == b[0, 0] == 2 and a[1, 1] == 1
    Image.fromarray(davis_palette()[np.array([[0, 3], [7, 0]])]).save(tmp_path / "p.png")
    assert read_mask(tmp_path / "p.png").tolist() == [[0, 3], [7, 0]]


def test_sixteen_bit_masks_keep_their_ids(tmp_path):
    Image.fromarray(np.array([[0, 3], [300, 0]], np.uint16)).save(tmp_path / "m.png")
    assert read_mask(tmp_path / "m.png").tolist() == [[0, 3], [300, 0]]


def test_masks_with_ids_above_255_are_written_and_read_back(tmp_path):
    mask = np.zeros((6, 8), np.int64)
    mask[1:3, 2:5], mask[4, 7] = 300, 1
    assert Image.open(write_mask(tmp_path / "big.png", mask)).mode == "I;16"
    assert np.array_equal(read_mask(tmp_path / "big.png"), mask)
    assert Image.open(write_mask(tmp_path / "small.png", np.minimum(mask, 2))).mode == "P"  # DAVIS palette below 256
    with pytest.raises(ValueError, match="0..65535"):
        write_mask(tmp_path / "x.png", mask + 70000)


def test_damaged_sequence_is_skipped_with_a_warning(tmp_path):
    _davis(tmp_path, "a")
    frame_dir, _ = _davis(tmp_path, "b")
    (frame_dir / "00003.png").write_bytes(b"not a png")
    results, messages = _evaluate(tmp_path)
    assert list(results["copy_first"]["sequences"]) == ["a"] and "b" in results["copy_first"]["skipped"]
    assert any("sequence b is not scored" in m and "00003.png" in m for m in messages)


def test_first_frame_masks_only_and_late_objects(tmp_path):
    _, mask_dir = _davis(tmp_path, "a", mask_fn=lambda t: _mask(t, ids=(1, 2) if t < 3 else (1, 5)))
    _, messages = _evaluate(tmp_path)
    assert any("object(s) 5 (from frame 3) are not in the first mask" in m for m in messages)
    for f in sorted(mask_dir.glob("*.png"))[1:]:
        f.unlink()
    with pytest.raises(ValueError, match="no sequence .* could be scored: a: 6 frame.*1 annotated"):
        _evaluate(tmp_path)


@pytest.mark.parametrize("resolution", ["Full-Resolution", ""])
def test_resolution_folder_is_found(tmp_path, resolution):
    _davis(tmp_path, "a", resolution=resolution)
    assert find_resolution(tmp_path) == resolution and list_sequences(tmp_path) == ["a"]
    assert load_sequence(tmp_path, "a").frames.shape == (6, 32, 48, 3)


def test_imageset_with_byte_order_mark(tmp_path):
    _davis(tmp_path, "a")
    (tmp_path / "ImageSets" / "2017").mkdir(parents=True)
    (tmp_path / "ImageSets" / "2017" / "val.txt").write_text("a\r\n", encoding="utf-8-sig")
    assert list_sequences(tmp_path, "val") == ["a"]


def test_mismatched_mask_names_are_explained(tmp_path):
    _, mask_dir = _davis(tmp_path, "a", frames=3)
    for f in mask_dir.glob("*.png"):
        f.rename(mask_dir / f"{int(f.stem)}.png")
    with pytest.raises(FileNotFoundError, match="00000.png has no annotation.*e.g. 0.png"):
        load_sequence(tmp_path, "a")


def test_zero_byte_video_is_named(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoDecodeError, match="empty.mp4 is empty"):
        open_video(tmp_path / "empty.mp4")


def test_hidden_resource_fork_files_are_not_frames_or_videos(tmp_path):
    from multissl.video.io import list_videos

    frame_dir, _ = _davis(tmp_path, frames=3)
    (frame_dir / "._00000.png").write_bytes(b"\x00\x05\x16\x07")  # a macOS AppleDouble file
    (tmp_path / "._clip.mp4").write_bytes(b"\x00\x05\x16\x07")
    assert load_sequence(tmp_path, "a").frames.shape[0] == 3
    assert list_videos(tmp_path) == [frame_dir]
