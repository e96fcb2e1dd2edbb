"""Label efficiency, fine-tuning and transfer, as the papers evaluate (CPU, 2 cores).

    python benchmarks/label_efficiency.py                          # everything: pretrain 2 x 15 min, then evaluate
    python benchmarks/label_efficiency.py --runs /tmp/le/run-simclr /tmp/le/run-moco-v2 --audio-run /tmp/le/run-cpc

Parts:
- ``pretrain``: SimCLR and MoCo v2 trained ``--minutes`` each on the CIFAR-10
  subset (ResNet-18 width 16, the vision benchmarks' backbone, each method's
  own recipe), unless ``--runs`` names run folders trained before. Run it
  alone: it is time-budgeted.
- ``vision``: per run, the label-efficiency curve (``multissl.vision.
  efficiency_run``: linear probe, fine-tuning, supervised baseline from the
  run's own random initialisation; fractions 1 %, 10 % and 100 %; 3 subset
  seeds at <= 10 %), then the transfer table on the CIFAR subset and the
  Tiny-ImageNet subset (resized to 32 x 32, bilinear). Fine-tuning budgets are
  optimizer steps, so the numbers do not depend on the machine's load.
- ``audio``: speaker identification with 1, 2, 5 and all labelled windows
  per speaker on ``librispeech_test-other`` (10 unseen speakers) with a CPC
  trained on ``librispeech_train-clean-100`` (``--audio-run``, or trained
  here for ``--audio-steps``, the cpu preset otherwise): CPC linear probe vs
  40-MFCC linear probe (``--audio-seeds`` subset seeds: one window per speaker
  is a noisy estimate) vs the CPC network trained supervised from scratch
  (``--seeds`` subset seeds).

Targets: fine-tuned SimCLR / MoCo v2 beat the supervised baseline at 1 % and
10 % (aim: >= 10 points at 1 %) and are within 2 points of it or better at
100 %; on Tiny-ImageNet both runs beat random init and raw pixels; CPC with one
labelled window per speaker beats MFCC with one. Prints markdown tables,
writes benchmarks/results/label_efficiency.json and the curves as PNG.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import write_json  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).parent / "results"


def pretrain(args) -> list:
    from multissl.vision import train

    runs = []
    for method in ("simclr", "moco-v2"):
        out = Path(args.out) / f"run-{method}"
        print(f"pretraining {method} for {args.minutes} minutes -> {out}", flush=True)
        train(args.cifar, out, method, max_minutes=args.minutes, keep_freed_memory=True, overwrite=True, verbose=False)
        runs.append(out)
    return runs


def _same_initial_encoder(a, b) -> bool:
    sa, sb = a.initial.encoder.state_dict(), b.initial.encoder.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def vision_part(args, run_dirs, save, out: dict) -> dict:
    from multissl.evaluation import FinetuneConfig
    from multissl.run import load_run
    from multissl.vision.label_evaluation import efficiency_run, transfer_run

    config = FinetuneConfig(lrs=tuple(args.lrs), epochs=args.epochs, min_steps=args.min_steps, batch_size=args.batch_size)
    runs = [load_run(d, kind="vision") for d in run_dirs]
    out.update({"finetune_config": {**config.__dict__, "lrs": list(config.lrs)}, "efficiency": {}, "transfer": {}})
    supervised = None
    for run in runs:
        start = time.perf_counter()
        reuse = supervised is not None and _same_initial_encoder(runs[0], run)
        methods = ("linear", "finetune") if reuse else ("linear", "finetune", "supervised")
        print(f"label efficiency of {run.method} ({', '.join(methods)}) ...", flush=True)
        result = efficiency_run(run, args.cifar, fractions=args.fractions, seeds=args.seeds, config=config, methods=methods, verbose=True)
        if reuse:  # the same network from the same initial weights: the baseline is shared, not recomputed
            for row, base in zip(result.rows, supervised):
                row["supervised"] = base["supervised"]
            result.methods.append("supervised")
        else:
            supervised = result.rows
        result.settings["seconds"] = time.perf_counter() - start
        out["efficiency"][run.method] = result.as_dict()
        save()
        print(result.markdown(), flush=True)
        minutes = run.config.get("recipe", {}).get("train", {}).get("max_minutes")
        budget = f"{minutes:g} CPU min" if minutes else "pretrained"
        result.plot(Path(args.figures) / f"label_efficiency_{run.method}.png", title=f"{run.method} ({budget}) on the CIFAR-10 subset")
        print(f"transfer of {run.method} ...", flush=True)
        table = transfer_run(run, [args.cifar, args.tiny])
        out["transfer"][run.method] = table.as_dict()
        save()
        print(table.markdown(), flush=True)
    out["checks"] = vision_checks(out)
    save()
    return out


def vision_checks(out: dict) -> dict:
    checks = {}
    for method, result in out["efficiency"].items():
        rows = result["by_amount"]
        for amount, row in rows.items():
            gap = row["finetune"]["mean"] - row["supervised"]["mean"]
            checks[f"{method}_finetune_minus_supervised_at_{amount}"] = round(gap, 4)
            need = -0.02 if float(amount) >= 1.0 else 0.0
            checks[f"{method}_meets_target_at_{amount}"] = gap > need
        for name, row in out["transfer"][method]["by_dataset"].items():
            checks[f"{method}_transfer_beats_random_and_pixels_on_{Path(name).name}"] = (
                row["linear_acc"] > max(row["random_linear_acc"], row["pixels_linear_acc"]))
    return checks


def _merge(linear, supervised):
    """One result: the linear probes' rows (more seeds) with the supervised column (fewer seeds) added."""
    for row, other in zip(linear.rows, supervised.rows):
        row["supervised"] = other["supervised"]
        row["supervised_seeds"] = other["seeds"]
    linear.methods.append("supervised")
    linear.settings["supervised_seeds"] = supervised.settings.get("seeds")
    return linear


def audio_part(args, save) -> dict:
    from multissl.audio.label_evaluation import efficiency_run
    from multissl.evaluation import FinetuneConfig

    run = args.audio_run
    if run is None:
        from multissl.audio import train

        run = Path(args.out) / "run-cpc"
        print(f"training CPC for {args.audio_steps} steps on librispeech_train-clean-100 -> {run}", flush=True)
        train(str(SHARED / "librispeech-251" / "librispeech_train-clean-100"), run, speaker_pattern=r"^(\d+)-",
              steps=args.audio_steps, max_minutes=None, keep_freed_memory=True, overwrite=True, verbose=False)
    data = SHARED / "librispeech-251" / "librispeech_test-other"
    print(f"audio label efficiency: linear probes over {args.audio_seeds} subset seeds, supervised over {args.seeds} ...", flush=True)
    amounts = (1, 2, 5, None)
    linear = efficiency_run(run, data, per_speaker=amounts, seeds=args.audio_seeds, methods=("cpc_linear", "mfcc_linear"))
    save({"linear_probes": linear.as_dict()})
    print(linear.markdown(), flush=True)
    config = FinetuneConfig(lrs=tuple(args.audio_lrs), epochs=args.audio_epochs, min_steps=args.audio_min_steps, batch_size=args.batch_size)
    supervised = efficiency_run(run, data, per_speaker=amounts, seeds=args.seeds, methods=("supervised",), config=config)
    result = _merge(linear, supervised)
    print(result.markdown(), flush=True)
    result.plot(Path(args.figures) / "label_efficiency_audio.png", title="speaker id on librispeech test-other (10 speakers)")
    rows = result.as_dict()["by_amount"]
    checks = {"cpc_beats_mfcc_with_1_window_per_speaker": rows["1"]["cpc_linear"]["mean"] > rows["1"]["mfcc_linear"]["mean"]}
    return {"efficiency": result.as_dict(), "checks": checks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["vision", "audio"], choices=["vision", "audio"])
    parser.add_argument("--runs", nargs="+", help="vision run folders trained before (default: pretrain SimCLR and MoCo v2 here)")
    parser.add_argument("--minutes", type=float, default=15.0, help="pretraining budget per vision method")
    parser.add_argument("--audio-run", help="a CPC run folder trained on librispeech_train-clean-100 (default: train one)")
    parser.add_argument("--audio-steps", type=int, default=18000, help="CPC training steps when --audio-run is not given")
    parser.add_argument("--audio-seeds", type=int, default=10, help="subset seeds of the audio linear probes (the supervised "
                                                                    "network: --seeds)")
    parser.add_argument("--audio-lrs", type=float, nargs="+", default=[1e-3], help="learning rates of the supervised CPC network")
    parser.add_argument("--audio-epochs", type=int, default=10)
    parser.add_argument("--audio-min-steps", type=int, default=100)
    parser.add_argument("--cifar", default=str(SHARED / "cifar10-subset.npz"))
    parser.add_argument("--tiny", default=str(SHARED / "tiny-imagenet-subset"))
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.1, 1.0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3], help="fine-tuning learning rates (validation picks)")
    parser.add_argument("--epochs", type=int, default=15, help="fine-tuning epochs (at least --min-steps steps)")
    parser.add_argument("--min-steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default="/tmp/multissl-label-efficiency")
    parser.add_argument("--figures", default=str(RESULTS))
    parser.add_argument("--json", help="default benchmarks/results/label_efficiency.json")
    args = parser.parse_args()
    payload = {"settings": vars(args)}

    def save(partial=None):  # results so far, after every measurement: a long run stopped early keeps them
        if partial:
            payload.setdefault("partial", {}).update(partial)
        write_json("label_efficiency", payload, args.json)

    if "vision" in args.parts:
        run_dirs = args.runs or pretrain(args)
        payload["vision"] = {}
        vision_part(args, run_dirs, save, payload["vision"])
        print(payload["vision"]["checks"], flush=True)
    if "audio" in args.parts:
        payload["audio"] = audio_part(args, save)
        payload.pop("partial", None)
        print(payload["audio"]["checks"], flush=True)
    save()
    print(f"wrote {args.json or RESULTS / 'label_efficiency.json'}")


if __name__ == "__main__":
    main()
