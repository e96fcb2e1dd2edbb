import pytest

from multissl.demo import DemoSection


@pytest.mark.slow
def test_demo_part_shows_the_shipped_cpc_beating_mfcc_and_random_init_frame_by_frame(tmp_path):
    from multissl.audio.demo import HEADLINE, run

    section = run(tmp_path, quick=False, seed=0)
    assert isinstance(section, DemoSection)
    assert (tmp_path / section.pictures[0]).read_bytes()[:4] == b"\x89PNG"
    probes = section.metrics["probes"]
    for key, label in HEADLINE:
        assert probes["CPC shipped"][key] > max(probes["MFCC"][key], probes["random init"][key]), key
        assert probes["CPC live"][key] > probes["random init"][key], key
        assert label in section.markdown
    assert section.metrics["shipped_beats_baselines_on"] == [label for _, label in HEADLINE]
    assert section.markdown.strip().splitlines()[-1].startswith("Frame by frame, the shipped CPC reads")
    assert section.metrics["live_last_acc"] > section.metrics["live_first_acc"]  # the live CPC's prediction accuracy rose
