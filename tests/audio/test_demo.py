import pytest

from multissl.demo import DemoSection


@pytest.mark.slow
def test_quick_demo_part_writes_a_picture_and_probe_table(tmp_path):
    from multissl.audio.demo import run

    section = run(tmp_path, quick=True, seed=0)
    assert isinstance(section, DemoSection)
    assert (tmp_path / section.pictures[0]).read_bytes()[:4] == b"\x89PNG"
    for name in ("cpc", "mfcc", "random"):
        assert f"| {name} |" in section.markdown
        assert 0 <= section.metrics["probes"][name]["speaker_acc_window"] <= 1
    assert section.metrics["last_acc"] > section.metrics["first_acc"]  # CPC's prediction accuracy rose
