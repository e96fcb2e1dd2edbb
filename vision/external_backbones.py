"""Standard architectures as vision trunks: ``--backbone torchvision:NAME`` (and ``timm:NAME`` with timm installed).

``torchvision:resnet50`` is ``torchvision.models.get_model("resnet50", weights=None)`` with its classifier
replaced by ``nn.Identity()`` (never pretrained weights: nothing is downloaded), so the trunk returns feature
vectors (B, D) and its ``state_dict`` has torchvision's own keys: ``multissl export`` writes a file that loads
with ``strict=True`` into ``torchvision.models.get_model(NAME)`` whose classifier is an ``nn.Identity()``.
``timm:NAME`` is ``timm.create_model(NAME, pretrained=False, num_classes=0)``. The trunk sees images
normalised with the ImageNet statistics, torchvision's convention.

Vector trunks serve the methods that embed whole images or patches (SimCLR, MoCo, BYOL, rotation, jigsaw,
relative patch, CPC v2); the dense methods (dae, context-encoder, split-brain, dim) need a feature map.
"""
from __future__ import annotations

from typing import Tuple

from torch import nn

PREFIXES = ("torchvision:", "timm:")
CLASSIFIER_NAMES = ("fc", "classifier", "head", "heads")


def is_external(arch: str) -> bool:
    """True for ``torchvision:NAME`` and ``timm:NAME``."""
    return arch.startswith(PREFIXES)


def split_arch(arch: str) -> Tuple[str, str]:
    """``("torchvision", "resnet50")`` of ``"torchvision:resnet50"``; a ValueError for an empty name."""
    library, _, name = arch.partition(":")
    if library + ":" not in PREFIXES or not name:
        raise ValueError(f"an external backbone is 'torchvision:NAME' or 'timm:NAME', got {arch!r}")
    return library, name


def external_trunk(arch: str, in_channels: int = 3) -> nn.Module:
    """The architecture ``arch`` names, at random initial weights, without its classifier: (B, 3, H, W) -> (B, D)."""
    library, name = split_arch(arch)
    if in_channels != 3:
        raise ValueError(f"{arch} takes RGB images (3 channels); this data has {in_channels}")
    return _timm_trunk(name) if library == "timm" else _torchvision_trunk(name)


def _torchvision_trunk(name: str) -> nn.Module:
    import torchvision

    available = torchvision.models.list_models(module=torchvision.models)
    if name not in available:
        raise ValueError(f"torchvision has no classification model {name!r}; choose from torchvision.models.list_models() "
                         f"(e.g. {', '.join(sorted(available)[:6])}, ...)")
    net = torchvision.models.get_model(name, weights=None)
    return without_classifier(net, f"torchvision:{name}")


def _timm_trunk(name: str) -> nn.Module:
    try:
        import timm
    except ImportError:
        raise ImportError(f"timm:{name} needs timm: pip install timm (an optional extra of multissl)") from None
    return timm.create_model(name, pretrained=False, num_classes=0)


def without_classifier(net: nn.Module, what: str) -> nn.Module:
    """``net`` with its classifier attribute (``fc``, ``classifier``, ``head`` or ``heads``) set to ``nn.Identity()``."""
    for attr in CLASSIFIER_NAMES:
        if isinstance(getattr(net, attr, None), nn.Module):
            setattr(net, attr, nn.Identity())
            return net
    raise ValueError(f"{what}: no classifier attribute ({', '.join(CLASSIFIER_NAMES)}) to remove")


__all__ = ["external_trunk", "is_external", "split_arch", "without_classifier"]
