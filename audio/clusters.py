"""Speaker clustering of utterance embeddings, and its picture.

:func:`cluster_scores` gives k-means NMI / ARI and the silhouette for every
feature extractor (core :func:`multissl.evaluation.clustering_report`, k =
number of speakers), or, with fewer than 2 utterances per speaker on average,
says that they are not scored; :func:`plot_speaker_clusters` draws one t-SNE
panel per extractor (the core's :func:`~multissl.evaluation.probes.project_2d`),
side by side, points coloured by speaker (the CPC paper's Figure 2), as a PNG.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from multissl.evaluation import clustering_report, standardized
from multissl.evaluation.probes import project_2d

from .folder import AudioFolder
from .probes import Extractor, pooled_features


def utterance_embeddings(extractors: Dict[str, Extractor], folder: AudioFolder, verbose: bool = False) -> Dict[str, torch.Tensor]:
    """{name: (N, 2D) [mean, std] of the frames of every utterance of ``folder``, standardised per dimension}
    (``verbose``: a progress bar over the utterances for each extractor)."""
    waves = [folder.wave(i) for i in range(len(folder))]
    return {name: standardized(pooled_features(fn, waves, progress=f"embedding ({name})" if verbose else None))
            for name, fn in extractors.items()}


def cluster_scores(embeddings: Dict[str, torch.Tensor], speaker_ids: np.ndarray, seed: int = 0) -> Dict[str, Dict[str, float]]:
    """{name: {"nmi", "ari", "silhouette", "not_scored", ...}} of k-means of utterances (N, D) with k = number of speakers
    (:func:`multissl.evaluation.clustering_report`: the scores are None and ``not_scored`` says why when there are
    fewer than 2 utterances per speaker on average)."""
    return {name: clustering_report(x, speaker_ids, "utterances", seed=seed) for name, x in embeddings.items()}


def score_line(scores: Dict[str, float], digits: int = 3) -> str:
    """``"NMI 0.912  AMI 0.880  ARI 0.803  silhouette 0.214"``, or the reason they were not scored."""
    if scores.get("not_scored") or scores.get("nmi") is None:
        return scores.get("not_scored") or "not scored"
    return "  ".join(f"{label} {scores[key]:.{digits}f}" for key, label in (("nmi", "NMI"), ("ami", "AMI"), ("ari", "ARI"), ("silhouette", "silhouette")))


def plot_speaker_clusters(
    embeddings: Dict[str, torch.Tensor],
    speaker_ids: np.ndarray,
    path,
    speaker_names: Optional[Sequence[str]] = None,
    scores: Optional[Dict[str, Dict[str, float]]] = None,
    seed: int = 0,
    title: Optional[str] = None,
) -> Path:
    """Write a PNG with one t-SNE panel per embedding (N, D), coloured by speaker; returns the path."""
    from multissl.figures import colormap, new_figure

    if not embeddings:
        raise ValueError("no embeddings to plot")
    y = np.asarray(speaker_ids)
    speakers = np.unique(y)
    cmap = colormap("tab20" if len(speakers) > 10 else "tab10")
    markers = "os^Dv<>p*h"
    fig = new_figure(figsize=(5 * len(embeddings), 5.2))
    axes = fig.subplots(1, len(embeddings), squeeze=False)
    for ax, (name, x) in zip(axes[0], embeddings.items()):
        xy = project_2d(np.asarray(x, dtype=np.float64), "tsne", seed)
        for i, s in enumerate(speakers):
            m = y == s
            label = speaker_names[s] if speaker_names is not None else str(s)
            ax.scatter(xy[m, 0], xy[m, 1], s=16, color=cmap(i % cmap.N), marker=markers[(i // cmap.N) % len(markers)],
                       label=label, alpha=0.85, edgecolors="none")
        sub = f"{name}"
        if scores and name in scores:
            sub += "\n" + score_line(scores[name], digits=2)
        ax.set_title(sub, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    if len(speakers) <= 30:
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="center right", fontsize=7, title="speaker", ncol=1 if len(speakers) <= 15 else 2)
        fig.subplots_adjust(right=0.88 if len(speakers) <= 15 else 0.82)
    fig.suptitle(title or f"t-SNE of {len(y)} utterance embeddings, colour = speaker", fontsize=11)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


__all__ = ["cluster_scores", "plot_speaker_clusters", "score_line", "utterance_embeddings"]
