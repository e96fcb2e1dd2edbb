"""Helpers shared by the vision tests."""
import torch


def coordinate_image(size: int) -> torch.Tensor:
    """(1, 3, size, size) float image whose channel 0 is the row index and channel 1 the column index."""
    rows = torch.arange(size, dtype=torch.float32)[:, None].expand(size, size)
    cols = torch.arange(size, dtype=torch.float32)[None, :].expand(size, size)
    return torch.stack([rows, cols, torch.zeros(size, size)])[None]
