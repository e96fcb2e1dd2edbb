"""Importing or calling the library leaves process-wide state alone.

matplotlib's backend and pyplot (pictures are drawn on plain ``Figure`` objects),
numba's threading layer (chosen lazily, never over the user's choice) and the
global random generators of Python, NumPy and torch (seeded functions use their
own generators or restore the global ones).
"""
import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch


def _python(code: str, **env_extra: str) -> str:
    """Run ``code`` in a fresh interpreter without MPLBACKEND / NUMBA_THREADING_LAYER; its last printed line."""
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "NUMBA_THREADING_LAYER")}
    env.update(env_extra)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


# --------------------------------------------------------------------------- #
# matplotlib
# --------------------------------------------------------------------------- #
_BACKEND = """
import matplotlib


def backend():
    get = getattr(matplotlib.rcParams, "_get_backend_or_none", None)
    return get() if get is not None else matplotlib.get_backend()
"""


def test_importing_the_modalities_leaves_the_matplotlib_backend_and_pyplot_alone():
    out = _python(_BACKEND + """
import sys
before = backend()
import multissl.vision, multissl.audio, multissl.video, multissl.text, multissl.sampling, multissl.evaluation
print(before == backend() and "matplotlib.pyplot" not in sys.modules)
""")
    assert out == "True"


_PICTURES = _BACKEND + """
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from multissl.audio.clusters import plot_speaker_clusters
from multissl.evaluation import plot_embedding
from multissl.video.colorizer import Colorizer, ColorizerConfig
from multissl.video.visualize import plot_colorization, plot_tracking
from multissl.vision.pictures import save_rows

torch.manual_seed(0)
rng = np.random.default_rng(0)
folder = Path(tempfile.mkdtemp())
frames = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
masks = np.zeros((3, 16, 16), np.int64)
masks[:, 4:10, 4:10] = 1
clips = [torch.rand(3, 3, 16, 16)]
model = Colorizer(ColorizerConfig(backbone="resnet10", width=4, conv3d_layers=0, embed_dim=8, num_colors=4)).eval()
model.fit_colors(clips[0], num_samples=64)


def draw(tag):
    return [
        plot_embedding(rng.normal(size=(12, 4)), np.arange(12) % 3, folder / f"{tag}-embedding.png", method="pca"),
        plot_speaker_clusters({"a": torch.randn(5, 4), "b": torch.randn(5, 4)}, np.arange(5) % 2, folder / f"{tag}-clusters.png"),
        plot_tracking(frames, masks, folder / f"{tag}-tracking.png", masks, title="t", count=2),
        plot_colorization(model, clips, folder / f"{tag}-colour.png", title="c"),
        save_rows([("x", torch.rand(2, 3, 8, 8)), ("y", torch.rand(2, 1, 8, 8))], folder / f"{tag}-rows.png", title="r"),
    ]


def pngs(paths):
    return all(Path(p).read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n" for p in paths)


before = backend()
ok = pngs(draw("plain")) and backend() == before and "matplotlib.pyplot" not in sys.modules
# with pyplot in use (as in a notebook): its backend stays and it keeps no figure of ours
import matplotlib.pyplot as plt

user_backend = matplotlib.get_backend()
ok = ok and pngs(draw("pyplot")) and matplotlib.get_backend() == user_backend and plt.get_fignums() == []
print(ok)
"""


def test_pictures_are_written_without_pyplot_or_a_backend_change():
    assert _python(_PICTURES) == "True"


# --------------------------------------------------------------------------- #
# numba
# --------------------------------------------------------------------------- #
def test_importing_sampling_leaves_the_numba_threading_layer_alone():
    out = _python("""
import numba
before = numba.config.THREADING_LAYER
import multissl.sampling
print(numba.config.THREADING_LAYER == before == "default")
""")
    assert out == "True"


def test_the_sampler_picks_the_workqueue_layer_only_when_it_first_runs():
    out = _python("""
import numba
import numpy as np
from multissl.sampling import AliasSampler, sample_negative_indices
unchanged = numba.config.THREADING_LAYER == "default"
sample_negative_indices(np.zeros(10, np.int64), np.arange(10), 3, seed=0)
print(unchanged and numba.config.THREADING_LAYER == numba.threading_layer() == "workqueue")
""")
    assert out == "True"


def _omp_available() -> bool:
    done = subprocess.run([sys.executable, "-c", "import numba.np.ufunc.omppool"], capture_output=True, timeout=60)
    return done.returncode == 0


@pytest.mark.parametrize("how", ["config", "environment"])
def test_a_threading_layer_chosen_by_the_user_is_kept(how):
    if not _omp_available():
        pytest.skip("numba's OpenMP layer is not available here")
    choose = "numba.config.THREADING_LAYER = 'omp'" if how == "config" else "pass"
    out = _python(f"""
import numba
import numpy as np
from multissl.sampling import AliasSampler
{choose}
draws = AliasSampler(np.ones(100), seed=0).draw(200_000)
print(numba.config.THREADING_LAYER == numba.threading_layer() == "omp" and draws.max() < 100)
""", **({"NUMBA_THREADING_LAYER": "omp"} if how == "environment" else {}))
    assert out == "True"


# --------------------------------------------------------------------------- #
# global random generators
# --------------------------------------------------------------------------- #
def _global_states():
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def _assert_same_states(a, b):
    assert a[0] == b[0], "python's random state changed"
    assert all(np.array_equal(x, y) for x, y in zip(a[1], b[1])), "numpy's global state changed"
    assert torch.equal(a[2], b[2]), "torch's global state changed"


def test_random_network_is_seeded_without_touching_the_global_generators():
    from multissl.video.colorizer import ColorizerConfig
    from multissl.video.tracking import random_network

    config = ColorizerConfig(backbone="resnet10", width=4, conv3d_layers=0, embed_dim=8)
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    before = _global_states()
    a = random_network(config, seed=3).state_dict()
    b = random_network(config, seed=3).state_dict()
    c = random_network(config, seed=4).state_dict()
    _assert_same_states(before, _global_states())
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    torch.manual_seed(3)  # the same weights as before the change: torch.manual_seed(seed) then build
    from multissl.video.colorizer import Colorizer

    reference = Colorizer(config).state_dict()
    assert all(torch.equal(a[k], reference[k]) for k in a)


def test_track_masks_leaves_the_global_generators_alone():
    from multissl.video.colorizer import ColorizerConfig
    from multissl.video.tracking import model_features, random_network, track_masks

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    first = np.zeros((32, 32), np.int64)
    first[8:20, 8:20] = 1
    features = model_features(random_network(ColorizerConfig(backbone="resnet10", width=4, conv3d_layers=0, embed_dim=8)), 32,
                              video_statistics=True)
    before = _global_states()
    a = track_masks(frames, first, features)
    b = track_masks(frames, first, features)
    _assert_same_states(before, _global_states())
    assert np.array_equal(a, b)


def test_seeded_evaluation_leaves_the_global_generators_alone(tmp_path):
    from multissl.evaluation import clustering_scores, knn_accuracy, linear_probe, plot_embedding

    rng = np.random.default_rng(0)
    labels = np.arange(40) % 4
    features = rng.normal(size=(40, 6)) + labels[:, None]
    before = _global_states()

    def run(tag):
        return (
            linear_probe(features[:30], labels[:30], features[30:], labels[30:], max_iter=10, seed=2).as_dict(),
            clustering_scores(features, labels, seed=2),
            knn_accuracy(features[:30], labels[:30], features[30:], labels[30:], k=5),
            plot_embedding(features, labels, tmp_path / f"{tag}.png", method="pca", seed=2).read_bytes()[:8],
        )

    first, second = run("a"), run("b")
    _assert_same_states(before, _global_states())
    assert first[:3] == second[:3]
    assert first[3] == b"\x89PNG\r\n\x1a\n"


def test_isolated_rng_seeds_like_manual_seed_and_restores_even_on_error():
    from multissl.randomness import isolated_rng

    torch.manual_seed(5)
    expected = (torch.rand(3), random.Random(5).random())
    np.random.seed(5)
    expected_np = np.random.rand()
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    before = _global_states()
    with isolated_rng(5):
        got = (torch.rand(3), random.random())
        got_np = np.random.rand()
    assert torch.equal(got[0], expected[0]) and got[1] == expected[1] and got_np == expected_np
    _assert_same_states(before, _global_states())
    with pytest.raises(RuntimeError):
        with isolated_rng(1):
            torch.rand(5), np.random.rand(), random.random()
            raise RuntimeError("boom")
    _assert_same_states(before, _global_states())
