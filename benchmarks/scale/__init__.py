"""Sections of benchmarks/data_scale.py: one module per modality (plus probes), each with ``run(args) -> Section``."""
