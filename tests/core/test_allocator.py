import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import resource, sys, torch
    from multissl.allocator import keep_freed_memory
    if sys.argv[1] == "keep":
        assert keep_freed_memory()
    conv = torch.nn.Conv2d(16, 16, 3, padding=1)
    x = torch.randn(64, 16, 64, 64)  # 16 MB activations, above glibc's default mmap threshold
    def step():
        conv(torch.relu(conv(x))).sum().backward()
    step(); step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        step()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def _faults(mode):
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc only")
def test_keep_freed_memory_stops_page_faulting_repeated_large_blocks():
    default, kept = _faults("default"), _faults("keep")
    if default == 0:  # glibc's dynamic mmap threshold already kept the blocks in this process's heap layout
        pytest.skip("the default allocator did not fault the blocks in again here: nothing to compare against")
    assert default > 5 * 4096  # activations faulted in again every step (a 16 MB block is 4,096 pages)
    assert kept < default / 10


def test_engine_config_has_the_switch():
    from multissl.engine import TrainConfig

    assert TrainConfig().keep_freed_memory is False  # opt-in: it changes the whole process
    assert TrainConfig(keep_freed_memory=True).keep_freed_memory is True
