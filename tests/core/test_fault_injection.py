"""The fast subset of benchmarks/fault_injection.py: >= 20 random kills of a real training process."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


@pytest.mark.slow
def test_twenty_random_faults_lose_no_run_and_change_no_weight(tmp_path):
    from fault_injection import modality, run_modality

    vision = modality("vision", tmp_path, steps=30)
    # kills within 1 s of a start's first logged step: the tiny run then rarely completes between faults, so the
    # 20 faults take ~21 starts (~95 s) instead of ~30 with 2 s or more (the benchmark keeps the wider spread)
    report = run_modality(vision, tmp_path, faults=20, seed=0, max_delay=1.0)
    assert report.faults >= 20
    assert report.runs_lost == 0 and report.restarts_from_scratch == 0, report
    assert max(report.steps_lost or [0]) <= vision.checkpoint_every, report
    assert report.final_equal is True, report
