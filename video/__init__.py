"""multissl.video: tracking that emerges from colorization (Vondrick et al. 2018).

- Data: :func:`open_video` (decord, PyAV fallback, frame folders), :func:`write_video`,
  :class:`VideoFolder` clips, DAVIS-layout folders (:func:`list_sequences`,
  :func:`load_sequence`), palette masks (:func:`read_mask`, :func:`write_mask`).
- Model: :class:`Colorizer` (ResNet with output stride 8 + dilated 3-D convolutions,
  pointer attention over reference frames, k-means colour targets), trained with
  :func:`train` (``train(data, output, method="colorizer", *, preset="cpu", **overrides) -> Run``;
  :func:`recipe` gives the merged settings) and rebuilt with :func:`load_run`; :func:`features` gives a run's
  per-frame features (T, D, h, w).
- Tracking: :func:`propagate_labels` (encoder-independent), :func:`track_masks`,
  baselines (:func:`pixel_features`, :func:`random_network`), DAVIS J/F
  (:func:`evaluate_davis`, :mod:`multissl.video.metrics`); :func:`probe_run`: a run's J&F on a DAVIS-layout
  folder beside the baselines.
- Real video without masks: :func:`cycle_consistency` / :func:`cycle_scores`
  (palindrome cycle consistency), :func:`colorization_accuracy` on held-out
  videos (:func:`evaluation_videos`).
- :func:`generate_benchmark`: the synthetic tracking benchmark.
"""
from .colorizer import ColorizationNetwork, Colorizer, ColorizerConfig, pointer_colors
from .dataset import ClipConfig, VideoFolder
from .cycle import cycle_consistency, cycle_scores
from .davis import list_sequences, load_sequence
from .heldout import colorization_accuracy, evaluation_videos
from .io import VideoDecodeError, list_videos, open_video, write_video
from .masks import VOID, heatmaps_to_keypoints, keypoints_to_heatmaps, mask_to_onehot, onehot_to_mask, read_mask, read_masks, write_mask
from .metrics import f_measure, jaccard, score_sequence, summarize
from .probe_run import features, probe_run
from .propagation import PropagationConfig, propagate_labels
from .synthetic import SynthConfig, generate_benchmark, generate_video
from .tracking import evaluate_davis, format_table, model_features, pixel_features, random_network, track_masks
from .training import PRESETS, ColorizerOptions, ColorizerRun, load_run, recipe, train, train_colorizer
from .visualize import plot_colorization, plot_tracking

__all__ = [
    "ClipConfig", "ColorizationNetwork", "Colorizer", "ColorizerConfig", "ColorizerOptions", "ColorizerRun", "PRESETS", "PropagationConfig", "SynthConfig", "VOID",
    "VideoDecodeError", "VideoFolder", "colorization_accuracy", "cycle_consistency", "cycle_scores", "evaluate_davis", "evaluation_videos", "f_measure", "features", "format_table", "generate_benchmark",
    "generate_video", "heatmaps_to_keypoints", "jaccard", "keypoints_to_heatmaps", "list_sequences", "list_videos",
    "load_run", "load_sequence", "mask_to_onehot", "model_features", "onehot_to_mask", "open_video", "pixel_features",
    "plot_colorization", "plot_tracking", "pointer_colors", "probe_run", "propagate_labels", "random_network", "read_mask",
    "read_masks", "recipe", "score_sequence", "summarize", "track_masks", "train", "train_colorizer", "write_mask", "write_video",
]
