"""The core's 2-D projection, shared by plot_embedding and the audio speaker-cluster picture."""
import numpy as np
import pytest

from multissl.evaluation.probes import project_2d


def test_project_2d_gives_two_coordinates_per_point():
    x = np.random.default_rng(0).normal(size=(12, 5))
    assert project_2d(x, "tsne", seed=1).shape == (12, 2)
    assert np.allclose(project_2d(x, "tsne", seed=1), project_2d(x, "tsne", seed=1))
    assert project_2d(x[:4], "tsne").shape == (4, 2)  # too few points for t-SNE: PCA
    with pytest.raises(ValueError, match="method must be 'tsne' or 'pca'"):
        project_2d(x, "umap")
