"""The fast label propagation (keys gathered once per frame into a ring buffer, tiled local windows)
gives the labels of a straightforward dense computation; the progress flags of `video eval` and
`video track`."""
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from multissl.cli import main
from multissl.video.masks import mask_to_onehot, write_mask
from multissl.video.propagation import (_context, _DenseContext, _LocalContext, labels_to_grid, labels_to_image,
                                        propagate_labels)


def dense_step(q, keys, values, topk, temperature, radius):
    """q (D, h, w), keys (n, D, h, w), values (n, C, h, w) -> (C, h, w): every key scored, far ones dropped."""
    d, h, w = q.shape
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    pos = torch.stack([ys.flatten(), xs.flatten()], 1).float()
    near = torch.cdist(pos, pos) <= (radius if radius is not None else float("inf"))  # (hw, hw)
    affinity = q.flatten(1).T @ keys.flatten(2).permute(1, 0, 2).reshape(d, -1)  # (hw, n hw)
    affinity = affinity.view(h * w, len(keys), h * w).masked_fill(~near[:, None], float("-inf")).flatten(1)
    top, idx = affinity.topk(min(topk, affinity.shape[1]), dim=1)
    weights = torch.softmax(top / temperature, 1)
    vals = values.permute(0, 2, 3, 1).reshape(-1, values.shape[1])[idx]  # (hw, k, C)
    return (weights[..., None] * vals).sum(1).T.reshape(-1, h, w)


def reference_propagation(features, first, context, topk, radius, temperature):
    """The propagation as it was first written: frame t attends to frame 0 and frames t-context..t-1."""
    feats = F.normalize(features.float(), dim=1)
    labels = [labels_to_grid(first, feats.shape[-2:])]
    for t in range(1, len(feats)):
        ctx = [0] + list(range(max(1, t - context), t))
        labels.append(dense_step(feats[t], feats[ctx], torch.stack([labels[i] for i in ctx]), topk, temperature, radius))
    out = labels_to_image(torch.stack(labels), first.shape[-2:])
    out[0] = first
    return out


def smooth_features(frames, dim, h, w, seed=0):
    """Random features, correlated between neighbouring cells and drifting from frame to frame."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(1, dim, h, w, generator=g)
    drift = 0.3 * torch.randn(frames, dim, h, w, generator=g).cumsum(0)
    return F.avg_pool2d(base + drift, 3, 1, 1)


def three_objects(h, w):
    mask = np.zeros((h, w), int)
    mask[h // 8 : h // 3, w // 10 : w // 3] = 1
    mask[h // 2 : 7 * h // 8, w // 2 : 3 * w // 4] = 2
    mask[h // 10 : h // 4, 2 * w // 3 : 9 * w // 10] = 3
    return mask_to_onehot(mask)


@pytest.mark.parametrize("h, w, radius, kind", [(16, 40, 4.0, _LocalContext), (14, 18, 7.5, _DenseContext),
                                                (6, 7, None, _DenseContext)])
def test_propagation_equals_dense_reference(h, w, radius, kind):
    assert isinstance(_context((h, w), 8, 4, 4, radius, "cpu"), kind)  # the path this case exercises
    feats, first = smooth_features(9, 8, h, w), three_objects(4 * h, 4 * w)
    ours = propagate_labels(feats, first, context=3, topk=5, radius=radius, temperature=0.1)
    ref = reference_propagation(feats, first, 3, 5, radius, 0.1)
    assert ours.shape == ref.shape == (9, 4, 4 * h, 4 * w)
    assert torch.allclose(ours, ref, atol=1e-5)
    assert torch.equal(ours.argmax(1), ref.argmax(1))


@pytest.mark.parametrize("tile, cache", [(6, True), (8, True), (8, False)])
def test_local_windows_equal_dense_scores(tile, cache):
    """Cached windows or windows gathered per query frame, tile 6 or 8, ragged borders: one step equals the dense one."""
    feats, values = smooth_features(4, 8, 19, 27, seed=2), torch.rand(4, 3, 19, 27, generator=torch.Generator().manual_seed(3))
    feats = F.normalize(feats, dim=1)
    ctx = _LocalContext((19, 27), 8, 3, 4, 5.0, "cpu", tile=tile, cache=cache)
    for slot in range(3):
        ctx.put(slot, feats[slot], values[slot])
    ours = ctx.query(feats[3], 3, topk=7, temperature=0.1)
    assert torch.allclose(ours, dense_step(feats[3], feats[:3], values[:3], 7, 0.1, 5.0), atol=1e-5)
    ctx.put(1, feats[2], values[2])  # a slot overwritten, as when the ring wraps
    assert torch.allclose(ctx.query(feats[3], 2, 7, 0.1), dense_step(feats[3], feats[[0, 2]], values[[0, 2]], 7, 0.1, 5.0), atol=1e-5)


def test_context_20_on_a_short_clip():
    """24 frames with context 20: the ring buffer of 21 slots fills, then wraps (frames 21 and 22)."""
    feats, first = smooth_features(24, 16, 16, 40, seed=1), three_objects(128, 320)
    ours = propagate_labels(feats, first, context=20, topk=10, radius=4, temperature=0.05, upsample=False)
    ref = reference_propagation(feats, first, 20, 10, 4, 0.05)
    assert ours.shape == (24, 4, 16, 40)
    assert torch.allclose(labels_to_image(ours, (128, 320))[1:], ref[1:], atol=1e-5)
    assert torch.allclose(ours.sum(1), torch.ones(24, 16, 40), atol=1e-4)  # still distributions
    # context 0: frame 0 only; no frame ever enters the ring
    assert torch.allclose(propagate_labels(feats[:4], first, context=0, radius=4)[1:],
                          reference_propagation(feats[:4], first, 0, 10, 4, 0.05)[1:], atol=1e-5)


def test_progress_bar_of_propagation(capsys):
    feats, first = smooth_features(4, 8, 8, 8), three_objects(32, 32)
    propagate_labels(feats, first, progress=True)
    err = capsys.readouterr().err
    assert "propagate" in err and "frame/s" in err  # unit "frame": the rate reads frame/s
    propagate_labels(feats, first, progress=False)
    propagate_labels(feats, first, verbose=True)  # None + verbose: only when stderr is a terminal (not here)
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- the commands' --progress flag
@pytest.fixture
def tiny_davis(tmp_path, monkeypatch):
    """A 2-sequence DAVIS-layout folder and a fake run (random tiny colorizer) behind `load_run`."""
    from PIL import Image

    from multissl.video import training
    from multissl.video.colorizer import ColorizerConfig
    from multissl.video.propagation import PropagationConfig
    from multissl.video.tracking import random_network

    rng = np.random.default_rng(0)
    for seq in ("a", "b"):
        for t in range(5):
            frame = rng.integers(0, 255, (32, 48, 3), dtype=np.uint8)
            folder = tmp_path / "davis" / "JPEGImages" / "480p" / seq
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(frame).save(folder / f"{t:05d}.jpg")
            mask = np.zeros((32, 48), int)
            mask[8 + t : 20 + t, 10:30] = 1
            write_mask(tmp_path / "davis" / "Annotations" / "480p" / seq / f"{t:05d}.png", mask)
    config = ColorizerConfig(backbone="resnet10", width=4, conv3d_layers=0, embed_dim=8, coords=False, normalize=True)
    run = types.SimpleNamespace(model=random_network(config, 0), propagation=PropagationConfig(context=2), eval_short_side=32)
    monkeypatch.setattr(training, "load_run", lambda path, map_location=None: run)
    return tmp_path


def test_eval_progress_flag(tiny_davis, capsys):
    davis = tiny_davis / "davis"
    eval_args = ["video", "eval", "fake-run", str(davis), "--methods", "copy_first", "pixels", "--threads", "1"]
    assert main([*eval_args, "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "| pixels |" in out.out and out.err == ""  # no bar
    assert main([*eval_args, "--progress"]) == 0
    err = capsys.readouterr().err
    assert "sequences" in err and "seq" in err and "frame" in err  # the sequence bar and the frame bars


def test_track_progress_flag(tiny_davis, capsys):
    davis = tiny_davis / "davis"
    seq, first = davis / "JPEGImages" / "480p" / "a", davis / "Annotations" / "480p" / "a" / "00000.png"
    track_args = ["video", "track", "fake-run", str(seq), "--first-mask", str(first), "--threads", "1"]
    assert main([*track_args, "-o", str(tiny_davis / "t1"), "--no-progress"]) == 0
    assert capsys.readouterr().err == ""
    assert len(list((tiny_davis / "t1" / "masks").glob("*.png"))) == 5
    assert main([*track_args, "-o", str(tiny_davis / "t2"), "--progress"]) == 0
    err = capsys.readouterr().err
    assert "track" in err and "5/5" in err and "frame" in err
