"""Audio benchmark: CPC on a synthetic multi-speaker corpus vs MFCC and random init.

    python benchmarks/audio_cpc.py              # 24 speakers x 20 utterances, 10-minute budget
    python benchmarks/audio_cpc.py --quick      # 8 speakers, 1 minute: a smoke run

1. Synthesise the corpus with espeak-ng (``multissl.audio.synth``, seed 0).
2. Train the ``cpu`` preset (its step count, at most ``--minutes`` of wall
   clock) on all but the held-out quarter of each speaker's utterances.
3. On the held-out utterances: window-level (1.28 s) and utterance-level
   linear speaker probes and the frame-level phone probe, and k-means NMI /
   ARI / silhouette of all utterance embeddings, for the trained CPC, the
   probes' standard baseline ``mfcc`` (40 MFCCs of 40 mel bands per frame),
   the classic 39-dim MFCC (13 + deltas + delta-deltas, ``mfcc39``) and the
   same CPC at its random initial weights; windows and utterances pool their
   frames as mean + std for every extractor.
4. Throughput (seconds of audio per wall second) and peak memory of training
   the ``cpu`` and ``paper`` presets (the paper preset only for a short timed
   run), each in its own process so that the peak RSS is its own.

Targets: >= 20 speakers; training <= 10 minutes; CPC window-level speaker
accuracy >= 0.95 and at least 0.05 above the 39-dim MFCC and random init;
CPC NMI above both. The 40-cepstra MFCC (the probes' default baseline) is
reported beside them, not part of these targets. Prints markdown
tables and writes benchmarks/results/audio_cpc.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, peak_rss_mb, run_worker, write_json  # noqa: E402

MARGIN = 0.05


def train_worker(preset: str, data: str, out: str, minutes: float, steps: int, threads: int) -> dict:
    """Train one preset in this process; report time, throughput and peak memory."""
    import torch

    torch.set_num_threads(threads)
    from multissl.audio.folder import AudioFolder
    from multissl.audio.training import recipe, train as train_cpc

    overrides = {"max_minutes": minutes, "verbose": False, "seed": 0, "keep_freed_memory": True, "overwrite": True, **({"steps": steps} if steps else {})}
    settings = recipe(preset, **overrides)
    config, train = settings.model, settings.train
    folder = AudioFolder(data, config.sample_rate)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run = train_cpc(data, out, preset=preset, folder=folder, **overrides)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    fit_s = run.result.elapsed_s
    audio_s = run.result.step * train.batch_size * config.window / config.sample_rate
    logged = [h for h in run.result.history if "loss" in h]
    return {"preset": preset, "steps": run.result.step, "stop_reason": run.result.stop_reason, "batch_size": train.batch_size,
            "window": config.window, "channels": config.encoder_channels, "context": config.context_dim,
            "negatives": config.num_negatives, "train_wall_s": fit_s, "train_cpu_s": cpu, "total_wall_s": wall,
            "audio_s_per_wall_s": audio_s / fit_s, "peak_rss_mb": peak_rss_mb(), "threads": threads,
            "first_acc": logged[0]["acc"] if logged else None, "last_acc": logged[-1]["acc"] if logged else None,
            "last_loss": logged[-1]["loss"] if logged else None}


def evaluate(data: str, run: str, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from multissl.audio.folder import AudioFolder
    from multissl.audio.mfcc import MFCCConfig
    from multissl.audio.probes import ProbeConfig, ProbeData, compare, cpc_extractor, mfcc_extractor
    from multissl.audio.training import load_run, run_recipe

    loaded = load_run(run)
    trained, initial, options = loaded.model, loaded.initial, run_recipe(loaded.config).options
    folder = AudioFolder(data, trained.config.sample_rate)
    probe = ProbeConfig(holdout=options.holdout, split_seed=options.split_seed)
    probe_data = ProbeData.build(folder, probe)
    extractors = {"cpc": cpc_extractor(trained), "mfcc39": mfcc_extractor(MFCCConfig()),
                  "mfcc": mfcc_extractor(), "random": cpc_extractor(initial)}
    start = time.perf_counter()
    results = compare(extractors, probe_data)
    return {"results": results, "data": probe_data.describe(), "eval_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="8 speakers x 8 utterances, 1-minute budget")
    parser.add_argument("--speakers", type=int, default=24)
    parser.add_argument("--utterances", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=9.9, help="wall-clock budget of the cpu-preset training (checked after each step)")
    parser.add_argument("--paper-minutes", type=float, default=1.5, help="wall-clock budget of the paper-preset timing run")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--work", default=None, help="folder for the corpus and runs (default: a temporary folder)")
    parser.add_argument("--json", help="output path (default benchmarks/results/audio_cpc.json)")
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        preset, data, out, minutes, steps, threads = args.worker
        print(json.dumps(train_worker(preset, data, out, float(minutes), int(steps), int(threads))))
        return
    if args.quick:
        args.speakers, args.utterances, args.minutes, args.paper_minutes = 8, 8, 1.0, 0.5

    from multissl.audio.synth import synthesize_corpus

    work = Path(args.work or tempfile.mkdtemp(prefix="multissl-audio-bench-"))
    data = work / f"corpus-{args.speakers}x{args.utterances}"
    start = time.perf_counter()
    if not (data / "metadata.csv").exists():
        synthesize_corpus(data, args.speakers, args.utterances, seed=0, verbose=False)
    synth_s = time.perf_counter() - start
    print(f"corpus: {args.speakers} speakers x {args.utterances} utterances in {data} ({synth_s:.0f} s to synthesise)\n", flush=True)

    cpu_run = work / "run-cpu"
    cpu = run_worker(__file__, ["--worker", "cpu", str(data), str(cpu_run), str(args.minutes), "0", str(args.threads)])
    print(f"cpu preset: {cpu['steps']} steps in {cpu['train_wall_s'] / 60:.1f} min ({cpu['stop_reason']}), "
          f"prediction accuracy {cpu['first_acc']:.3f} -> {cpu['last_acc']:.3f}", flush=True)
    paper = run_worker(__file__, ["--worker", "paper", str(data), str(work / "run-paper"), str(args.paper_minutes), "0", str(args.threads)])
    evaluation = evaluate(str(data), str(cpu_run), args.threads)
    results = evaluation["results"]

    cols = ["speaker_acc_window", "speaker_acc_utterance", "nmi", "ami", "ari", "silhouette", "phone_acc", "dim"]
    rows = [{"features": name, **{c: results[name].get(c) for c in cols}} for name in results]
    print(f"\n## Speaker and phone probes on held-out utterances ({evaluation['data']['test_windows']} test windows of 1.28 s, "
          f"{evaluation['data']['split']['test_segments']} held-out utterances, {args.speakers} speakers)\n")
    print(markdown_table(rows, ["features", *cols]))
    speed_cols = ["preset", "steps", "batch_size", "window", "channels", "negatives", "train_wall_s", "train_cpu_s",
                  "audio_s_per_wall_s", "peak_rss_mb", "threads"]
    print("\n## Training throughput and peak memory (CPU)\n")
    print(markdown_table([cpu, paper], speed_cols))

    c, m, r, m40 = results["cpc"], results["mfcc39"], results["random"], results["mfcc"]
    targets = {
        "speakers >= 20": args.speakers >= 20,
        "training <= 10 min wall": cpu["train_wall_s"] <= 600,
        "cpc window speaker acc >= 0.95": c["speaker_acc_window"] >= 0.95,
        f"cpc window acc >= MFCC39 + {MARGIN} and >= random + {MARGIN}": (c["speaker_acc_window"] >= m["speaker_acc_window"] + MARGIN
                                                                          and c["speaker_acc_window"] >= r["speaker_acc_window"] + MARGIN),
        "cpc NMI > MFCC39 and > random": c["nmi"] > m["nmi"] and c["nmi"] > r["nmi"],
    }
    print("\n## Targets\n")
    for name, met in targets.items():
        print(f"- {name}: {'met' if met else 'NOT met'}")
    print(f"- (not a target) vs the 40-cepstra MFCC: window acc {c['speaker_acc_window']:.3f} vs {m40['speaker_acc_window']:.3f}, "
          f"utterance acc {c['speaker_acc_utterance']:.3f} vs {m40['speaker_acc_utterance']:.3f}, NMI {c['nmi']:.3f} vs {m40['nmi']:.3f}")
    path = write_json("audio_cpc", {"speakers": args.speakers, "utterances": args.utterances, "synth_s": synth_s,
                                    "cpu_preset": cpu, "paper_preset": paper, "probes": results, "data": evaluation["data"],
                                    "eval_s": evaluation["eval_s"], "targets": targets, "all_targets_met": all(targets.values()),
                                    "quick": args.quick, "shared_machine_note": "2 CPU cores shared with other developers' jobs"},
                      args.json)
    print(f"\nall targets met: {all(targets.values())}; JSON written to {path}")


if __name__ == "__main__":
    main()
