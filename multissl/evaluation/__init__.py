"""How good is a representation? Probes, label-efficiency curves, fine-tuning and transfer.

- :mod:`.probes`: frozen features -> :func:`linear_probe`, :func:`knn_accuracy`,
  :func:`clustering_scores`, :func:`plot_embedding`; :mod:`.features`
  (:func:`extract_features`, streamed into one preallocated array), :mod:`.logistic`
  (the minibatch probe of large sets), :mod:`.knn` (block-wise kNN on a device).
- :mod:`.raw_inputs`: whether a raw-input baseline (pixels) runs on everything, a
  class-balanced subsample or is skipped (:func:`raw_input_plan`).
- :mod:`.subsets`: class-balanced, seeded, nested label subsets
  (:func:`label_subset`) and validation splits carved from them.
- :mod:`.finetune`: end-to-end :func:`finetune` on a labelled subset with the
  engine, and the :func:`supervised_baseline` (same network from random init).
- :mod:`.efficiency`: :func:`label_efficiency` curves (table, JSON, picture).
- :mod:`.transfer`: :func:`transfer` tables, one representation on many data sets.
"""
from .efficiency import Amount, EfficiencyResult, amounts_from, finetune_evaluator, label_efficiency, linear_evaluator
from .finetune import Classifier, FinetuneConfig, FinetuneResult, accuracy, finetune, supervised_baseline
from .probes import (ProbeResult, TooFewToCluster, clustering_report, clustering_scores, extract_features, knn_accuracy, knn_classify,
                     linear_probe, plot_embedding, standardized)
from .raw_inputs import RawInputPlan, raw_input_plan
from .subsets import check_fraction, check_same_classes, label_subset, nested_subsets, validation_split
from .transfer import TransferResult, transfer

__all__ = [
    "Amount", "Classifier", "EfficiencyResult", "FinetuneConfig", "FinetuneResult", "ProbeResult", "RawInputPlan",
    "TooFewToCluster", "TransferResult", "accuracy", "amounts_from", "check_fraction", "check_same_classes",
    "clustering_report", "clustering_scores", "extract_features",
    "finetune", "finetune_evaluator", "knn_accuracy", "knn_classify", "label_efficiency", "label_subset",
    "linear_evaluator", "linear_probe", "nested_subsets", "plot_embedding", "raw_input_plan", "standardized", "supervised_baseline", "transfer",
    "validation_split",
]
