"""GPU check: training speed and peak memory of the main methods on one CUDA device, against lightly.

Rows (each a few warm-up steps, then timed steps until ``--seconds`` or ``--steps`` run out):

- SimCLR, MoCo v2 and BYOL on torchvision's ResNet-18 and ResNet-50 (``fc`` removed, the same
  network for both libraries), batch 256 at 224 px, bf16 autocast + channels_last + TF32 +
  cudnn.benchmark, SGD with momentum. multissl's step is ``task.training_loss(uint8 images)``,
  which makes both views on the device (crop, flip, colour); lightly's step gets its two views
  ready-made (lightly augments per image on CPU workers), so its rows leave augmentation out.
  Heads are sized alike (SimCLR 2048 -> 128, MoCo v2 2048 -> 128 with a 4096-key queue, BYOL
  4096 -> 256); ``--compile`` puts both libraries' trunks through ``torch.compile``. The ``augmentation`` rows time multissl's two views of each method alone; the
  ``diagnostics`` row is MoCo v2 without its single-device shuffle BN.
- CPC on raw audio (the paper's encoder and GRU, 20480-sample windows, batch 64), negatives
  from the batch and from the same speaker; the video colorizer (ResNet-18 trunk, 4 frames of
  256 x 256, batch 32).

    python benchmarks/gpu_check.py --json benchmarks/results/gpu_check.json

Needs a CUDA device; lightly's rows are skipped (with a note) when lightly is not installed.
Writes the JSON after every row, so a run stopped early keeps what it measured.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, machine, markdown_table  # noqa: E402

PARTS = ("vision", "augmentation", "diagnostics", "audio", "video")
HEADS = {"simclr": dict(proj_hidden=2048, proj_out=128), "moco": dict(proj_hidden=2048, proj_out=128, queue_size=4096),
         "byol": dict(proj_hidden=4096, proj_out=256)}


COMPILE_TRUNKS = [False]  # --compile: both libraries' ResNet trunks through torch.compile


def trunk(arch: str) -> nn.Module:
    import torchvision

    net = getattr(torchvision.models, arch)()
    net.fc = nn.Identity()
    return torch.compile(net) if COMPILE_TRUNKS[0] else net


def feature_dim(arch: str) -> int:
    return 2048 if arch == "resnet50" else 512


def time_steps(step: Callable[[], None], warmup: int, steps: int, seconds: float, device: torch.device) -> Dict:
    """Run ``warmup`` untimed steps, then up to ``steps`` timed ones within ``seconds``: steps/s and peak GiB (CUDA)."""
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    for _ in range(warmup):
        step()
    sync()
    start, done = time.perf_counter(), 0
    while done < steps and time.perf_counter() - start < seconds:
        step()
        done += 1
        if done % 5 == 0:
            sync()
    sync()
    elapsed = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    return {"steps": done, "steps_per_s": done / elapsed, "peak_gib": peak}


def sgd_step(model: nn.Module, loss_fn: Callable[[], torch.Tensor], after: Optional[Callable[[int], None]] = None):
    """One closure doing forward under bf16 autocast, backward and an SGD step (momentum 0.9)."""
    device_type = next(model.parameters()).device.type
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.03, momentum=0.9, weight_decay=1e-4)
    count = [0]

    def step():
        with torch.autocast(device_type, dtype=torch.bfloat16):
            loss = loss_fn()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        count[0] += 1
        if after is not None:
            after(count[0])
    return step


def multissl_vision(method: str, arch: str, batch: int, side: int, device, **settings) -> Callable[[], None]:
    from multissl.vision import BYOL, MoCo, SimCLR

    cls = {"simclr": SimCLR, "moco": MoCo, "byol": BYOL}[method]
    task = cls(backbone=trunk(arch), feature_dim=feature_dim(arch), image_size=side, **HEADS[method], **settings)
    task = task.to(device, memory_format=torch.channels_last).train()
    images = torch.randint(0, 256, (batch, 3, side, side), dtype=torch.uint8, device=device)
    images = images.contiguous(memory_format=torch.channels_last)
    return sgd_step(task, lambda: task.training_loss(images), lambda n: task.after_optimizer_step(n, 10_000))


def lightly_vision(method: str, arch: str, batch: int, side: int, device) -> Callable[[], None]:
    import copy

    from lightly.loss import NegativeCosineSimilarity, NTXentLoss
    from lightly.models.modules import BYOLPredictionHead, BYOLProjectionHead, MoCoProjectionHead, SimCLRProjectionHead
    from lightly.models.utils import deactivate_requires_grad, update_momentum

    d, h = feature_dim(arch), HEADS[method]
    views = [torch.rand(batch, 3, side, side, device=device).contiguous(memory_format=torch.channels_last) for _ in range(2)]
    backbone = trunk(arch)
    if method == "simclr":
        model = nn.ModuleDict({"backbone": backbone, "head": SimCLRProjectionHead(d, h["proj_hidden"], h["proj_out"])})
        criterion = NTXentLoss(temperature=0.5)
        model = model.to(device, memory_format=torch.channels_last)

        def loss():
            z0, z1 = model["head"](model["backbone"](torch.cat(views))).chunk(2)
            return criterion(z0, z1)
        return sgd_step(model, loss)
    if method == "moco":
        online = nn.ModuleDict({"backbone": backbone, "head": MoCoProjectionHead(d, h["proj_hidden"], h["proj_out"])})
        target = copy.deepcopy(online)
        deactivate_requires_grad(target)
        model = nn.ModuleDict({"online": online, "target": target}).to(device, memory_format=torch.channels_last)
        criterion = NTXentLoss(temperature=0.2, memory_bank_size=(h["queue_size"], h["proj_out"]))

        def loss():
            update_momentum(online, target, 0.99)
            query = online["head"](online["backbone"](views[0]))
            with torch.no_grad():
                key = target["head"](target["backbone"](views[1]))
            return criterion(query, key)
        return sgd_step(model, loss)
    online = nn.ModuleDict({"backbone": backbone, "head": BYOLProjectionHead(d, h["proj_hidden"], h["proj_out"])})
    predictor = BYOLPredictionHead(h["proj_out"], h["proj_hidden"], h["proj_out"])
    target = copy.deepcopy(online)
    deactivate_requires_grad(target)
    model = nn.ModuleDict({"online": online, "predictor": predictor, "target": target}).to(device, memory_format=torch.channels_last)
    criterion = NegativeCosineSimilarity()

    def loss():
        update_momentum(online, target, 0.99)
        both = torch.cat(views)
        p0, p1 = predictor(online["head"](online["backbone"](both))).chunk(2)
        with torch.no_grad():
            z0, z1 = target["head"](target["backbone"](both)).chunk(2)
        return 0.5 * (criterion(p0, z1) + criterion(p1, z0))
    return sgd_step(model, loss)


def augmentation_only(method: str, batch: int, side: int, device) -> Callable[[], None]:
    """multissl's two views of ``method`` (its ImageNet settings) made on the device, without a network."""
    from multissl.vision.batch_augment import byol_views, make_views, moco_v2_views, simclr_views

    images = torch.randint(0, 256, (batch, 3, side, side), dtype=torch.uint8, device=device).float() / 255
    configs = {"simclr": lambda: [simclr_views(1.0)] * 2, "moco": lambda: [moco_v2_views()] * 2, "byol": byol_views}[method]()

    def step():
        with torch.no_grad():
            make_views(images, configs)
    return step


def cpc_audio(negatives: str, batch: int, device) -> Callable[[], None]:
    from multissl.audio import CPC, CPCConfig

    model = CPC(CPCConfig(negatives=negatives)).to(device).train()
    wave = torch.randn(batch, model.config.window, device=device)
    speakers = torch.arange(batch, device=device) // 8
    data = {"wave": wave, "speaker": speakers}
    return sgd_step(model, lambda: model(data)[0])


def colorizer(batch: int, frames: int, side: int, device) -> Callable[[], None]:
    from multissl.video import Colorizer

    model = Colorizer().to(device)
    clips = torch.rand(batch, frames, 3, side, side, device=device)
    model.fit_colors(clips[:4].reshape(-1, 3, side, side), num_samples=20_000)
    model.train()
    return sgd_step(model, lambda: model(clips)[0])


def plan(args) -> List[Dict]:
    rows = []
    parts = set(args.parts)
    for arch in args.archs if "vision" in parts else ():
        for method in args.methods:
            for library in ("multissl", "lightly"):
                rows.append(dict(part="vision", library=library, method=method, arch=arch, batch=args.batch, unit="images"))
    for method in args.methods if "augmentation" in parts else ():
        rows.append(dict(part="augmentation", library="multissl", method=f"{method} views alone", arch="-", batch=args.batch,
                         unit="images"))
    if "diagnostics" in parts:  # MoCo's single-device shuffle BN (8 groups of batch statistics) off
        rows.append(dict(part="diagnostics", library="multissl", method="moco", arch=args.archs[0], batch=args.batch,
                         unit="images", settings={"shuffle_bn": False}))
    for negatives in ("batch", "speaker") if "audio" in parts else ():
        rows.append(dict(part="audio", library="multissl", method=f"cpc negatives={negatives}", arch="cpc", batch=args.audio_batch,
                         unit="windows"))
    if "video" in parts:
        rows.append(dict(part="video", library="multissl", method="colorizer", arch="resnet18", batch=args.video_batch, unit="clips"))
    return rows


def build(row: Dict, args, device) -> Callable[[], None]:
    if row["part"] == "audio":
        return cpc_audio(row["method"].split("=")[1], row["batch"], device)
    if row["part"] == "video":
        return colorizer(row["batch"], 4, args.video_side, device)
    if row["part"] == "augmentation":
        return augmentation_only(row["method"].split()[0], row["batch"], args.side, device)
    if row["library"] == "lightly":
        return lightly_vision(row["method"], row["arch"], row["batch"], args.side, device)
    return multissl_vision(row["method"], row["arch"], row["batch"], args.side, device, **row.get("settings", {}))


def main(argv=None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=str(RESULTS / "gpu_check.json"))
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    parser.add_argument("--archs", nargs="+", default=["resnet18", "resnet50"])
    parser.add_argument("--methods", nargs="+", default=["simclr", "moco", "byol"])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--side", type=int, default=224)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10.0, help="time limit of each row's timed steps")
    parser.add_argument("--device", default="cuda", help="cuda, or cpu for a quick check of the script itself (tiny sizes)")
    parser.add_argument("--audio-batch", type=int, default=64)
    parser.add_argument("--video-batch", type=int, default=32)
    parser.add_argument("--video-side", type=int, default=256)
    parser.add_argument("--compile", action="store_true", help="torch.compile both libraries' ResNet trunks (the first "
                                                                   "warm-up steps compile)")
    args = parser.parse_args(argv)
    COMPILE_TRUNKS[0] = args.compile
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_check needs a CUDA device (or --device cpu to check the script)")
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    gpu = torch.cuda.get_device_name() if device.type == "cuda" else "none (cpu)"
    result = {"machine": machine(), "gpu": gpu, "torch": torch.__version__,
              "settings": {k: v for k, v in vars(args).items() if k != "json"}, "rows": []}
    for row in plan(args):
        started = time.perf_counter()
        try:
            measured = time_steps(build(row, args, device), args.warmup, args.steps, args.seconds, device)
            row.update(measured, samples_per_s=round(measured["steps_per_s"] * row["batch"], 1))
        except Exception as error:  # a row that cannot run (lightly missing, out of memory) is reported, not fatal
            row["error"] = f"{type(error).__name__}: {error}".splitlines()[0][:300]
            traceback.print_exc()
        row["wall_s"] = round(time.perf_counter() - started, 1)
        if device.type == "cuda":
            torch.cuda.empty_cache()
        result["rows"].append(row)
        print(json.dumps(row), flush=True)
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
    columns = ["part", "library", "method", "arch", "settings", "batch", "samples_per_s", "peak_gib", "steps", "error"]
    print(markdown_table(result["rows"], columns))
    return result


if __name__ == "__main__":
    main()
