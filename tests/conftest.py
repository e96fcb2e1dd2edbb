import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True, scope="session")
def _file_index_in_a_temporary_folder(tmp_path_factory):
    """The tests never write multissl's file indexes into the user's cache folder."""
    os.environ["MULTISSL_CACHE"] = str(tmp_path_factory.mktemp("multissl-cache"))
    yield

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that need it skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} not present")
    return SHARED_DATA
