"""Audio benchmark on real speech: CPC on the 251 LibriSpeech speakers of the CPC paper.

    python benchmarks/audio_cpc_librispeech.py                 # 30-minute training, then every probe
    python benchmarks/audio_cpc_librispeech.py --minutes 2     # a smoke run
    python benchmarks/audio_cpc_librispeech.py --run RUN       # probe an existing run folder only

Data: ``../shared/data/librispeech-251`` (one train-clean-100 utterance of each
of 251 speakers; 10 test-other speakers x 10 utterances) and
``../shared/data/librispeech-sample`` (two utterances with 10 ms phone labels).

1. Train the default (``cpu``) preset of ``multissl audio train`` with the
   given wall-clock budget on train-clean-100: every utterance is split in
   time, the first 80 % for CPC training (and probe training), the last 20 %
   never seen by CPC.
2. Speaker probes on those last 20 %: frame-level (every 10 ms context
   vector, features over consecutive 1.28 s pieces, 251 classes; the CPC
   paper's protocol), 1.28 s windows and utterance tails, for the trained
   CPC, the strong MFCC baseline (40 MFCCs of 40 mel bands per frame; windows
   and utterances pooled as mean + std, standardised) and the same CPC at its
   random initial weights.
3. k-means NMI / ARI of utterance embeddings of the 10 unseen test-other
   speakers (the same CPC), and their t-SNE picture.
4. The frame-level phone probe on the two aligned utterances of
   librispeech-sample (first 80 % of each trains, last 20 % tests).

Targets: training <= 30 min; CPC frame-level speaker accuracy >= 0.60; CPC
1.28 s window accuracy >= 0.98; both above MFCC and random init; k-means of
the held-out 1.28 s pieces (k = 251): CPC's NMI above random init's, and its
AMI (corrected for chance) at least 0.1 above; test-other NMI above MFCC's. Writes benchmarks/results/audio_cpc_librispeech.json after
every step and prints markdown tables. Run it alone on the machine.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, peak_rss_mb, write_json  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RESULTS = Path(__file__).parent / "results"
HOLDOUT = 0.2


def train_run(data: Path, out: Path, minutes: float) -> dict:
    from multissl.audio import training

    run = training.train(data, out, max_minutes=minutes, holdout=HOLDOUT, overwrite=True, verbose=True)
    return {**train_record(out), "stop_reason": run.result.stop_reason, "peak_rss_mb": round(peak_rss_mb())}


def train_record(run_dir: Path) -> dict:
    """Steps, wall time, last logged loss and prediction accuracy, and the recipe of a run folder."""
    import json

    logged = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    last = [h for h in logged if "loss" in h][-1]
    recipe = json.loads((run_dir / "config.json").read_text())["recipe"]
    return {"steps": last["step"], "train_wall_s": round(last["elapsed_s"], 1), "prediction_acc": last.get("acc"),
            "loss": last["loss"], "recipe": recipe}


def extractors_of(run):
    from multissl.audio.probes import cpc_extractor, mfcc_extractor

    return {"cpc": cpc_extractor(run.model), "mfcc": mfcc_extractor(), "random": cpc_extractor(run.initial)}


def speaker_probes(run, data: Path) -> dict:
    from multissl.audio.folder import AudioFolder
    from multissl.audio.probes import ProbeConfig, ProbeData, compare
    from multissl.audio.training import run_recipe

    options = run_recipe(run.config).options
    folder = AudioFolder(data, run.model.config.sample_rate)
    probe = ProbeData.build(folder, ProbeConfig(holdout=options.holdout, split_seed=options.split_seed, frames=True))
    start = time.perf_counter()
    results = compare(extractors_of(run), probe, verbose=True)
    return {"results": results, "data": probe.describe(), "eval_s": round(time.perf_counter() - start, 1)}


def clustering(run, data: Path, picture: Path) -> dict:
    from multissl.audio.clusters import cluster_scores, plot_speaker_clusters, utterance_embeddings
    from multissl.audio.folder import AudioFolder

    folder = AudioFolder(data, run.model.config.sample_rate)
    embeddings = utterance_embeddings(extractors_of(run), folder)
    scores = cluster_scores(embeddings, folder.speaker_ids)
    plot_speaker_clusters(embeddings, folder.speaker_ids, picture, folder.speakers, scores)
    return {"scores": scores, "speakers": folder.num_speakers, "utterances": len(folder), "picture": picture.name}


def phone_probe(run, data: Path) -> dict:
    from multissl.audio.folder import AudioFolder
    from multissl.audio.probes import ProbeConfig, ProbeData, phone_scores

    folder = AudioFolder(data, run.model.config.sample_rate)
    probe = ProbeData.build(folder, ProbeConfig(holdout=HOLDOUT))
    return {name: phone_scores(fn, probe) for name, fn in extractors_of(run).items()}


def targets(train: dict, speakers: dict, clusters: dict) -> dict:
    r = speakers["results"]
    frame = {k: r[k]["speaker_acc_frame"] for k in r}
    window = {k: r[k]["speaker_acc_window"] for k in r}
    vote = {k: r[k]["speaker_acc_piece_vote"] for k in r}
    nmi = {k: clusters["scores"][k]["nmi"] for k in clusters["scores"]}
    held_out = {k: (r[k]["nmi"], r[k]["ami"]) for k in r}
    return {
        "held-out pieces clustered: cpc NMI above random init's": held_out["cpc"][0] > held_out["random"][0],
        "held-out pieces clustered: cpc AMI above random init's by >= 0.1": held_out["cpc"][1] >= held_out["random"][1] + 0.1,
        "training <= 30 min": train["train_wall_s"] <= 30 * 60 + 30,
        "cpc frame-level speaker acc >= 0.60": frame["cpc"] >= 0.60,
        "cpc 1.28 s window acc >= 0.98 (pooled mean+std features)": window["cpc"] >= 0.98,
        "cpc 1.28 s acc >= 0.98 (frame probe, mean log-probability over the piece)": vote["cpc"] >= 0.98,
        "cpc above mfcc and random (frame)": all(frame["cpc"] > frame[k] for k in ("mfcc", "random")),
        "cpc above mfcc and random (window, pooled)": all(window["cpc"] > window[k] for k in ("mfcc", "random")),
        "cpc above mfcc and random (1.28 s, frame-probe vote)": all(vote["cpc"] > vote[k] for k in ("mfcc", "random")),
        "test-other NMI: cpc above mfcc": nmi["cpc"] > nmi["mfcc"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="wall-clock training budget (default 30)")
    parser.add_argument("--run", help="probe this existing run folder instead of training")
    parser.add_argument("--work", default="/tmp/multissl-audio-librispeech", help="folder for the run (default %(default)s)")
    parser.add_argument("--data", default=str(DATA), help="the shared data folder (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=str(RESULTS / "audio_cpc_librispeech.json"))
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from multissl.audio.training import load_run

    data = Path(args.data)
    train_data = data / "librispeech-251" / "librispeech_train-clean-100"
    payload: dict = {"data": str(train_data), "threads": args.threads}
    train = None
    run_dir = Path(args.run) if args.run else Path(args.work) / "cpc"
    if not args.run:
        train = train_run(train_data, run_dir, args.minutes)
        print(f"trained {train['steps']} steps in {train['train_wall_s'] / 60:.1f} min, prediction accuracy {train['prediction_acc']:.3f}",
              flush=True)
    payload["train"] = train or train_record(run_dir)
    write_json("audio_cpc_librispeech", payload, args.json)
    run = load_run(run_dir)
    payload["run"] = str(run_dir)
    speakers = speaker_probes(run, train_data)
    payload["speaker_probes"] = speakers
    write_json("audio_cpc_librispeech", payload, args.json)
    picture = Path(args.json).with_name("audio_cpc_librispeech_clusters.png")
    clusters = clustering(run, data / "librispeech-251" / "librispeech_test-other", picture)
    payload["test_other_clustering"] = clusters
    write_json("audio_cpc_librispeech", payload, args.json)
    phones = phone_probe(run, data / "librispeech-sample")
    payload["phone_probe"] = phones
    payload["targets"] = targets(payload["train"], speakers, clusters)
    write_json("audio_cpc_librispeech", payload, args.json)

    from multissl.audio.probes import clustering_cell

    cols = ["speaker_acc_frame", "speaker_acc_piece_vote", "speaker_acc_window", "speaker_acc_utterance", "nmi", "ami", "ari", "silhouette"]
    print(f"\n## Speaker probes on the last 20 % of {speakers['data']['speakers']} train-clean-100 speakers\n")
    print(markdown_table([{"features": k, **{c: v.get(c) for c in cols}, "clustered": clustering_cell(v)}
                          for k, v in speakers["results"].items()], ["features", *cols, "clustered"]))
    print(f"\n## test-other: k-means on {clusters['utterances']} utterances of {clusters['speakers']} unseen speakers\n")
    print(markdown_table([{"features": k, **v} for k, v in clusters["scores"].items()], ["features", "nmi", "ami", "ari", "silhouette"]))
    print("\n## Phone probe (librispeech-sample, 2 aligned utterances)\n")
    print(markdown_table([{"features": k, **(v or {})} for k, v in phones.items()], ["features", "phone_acc", "phone_frames_train", "phone_frames_test"]))
    print("\n## Targets\n")
    print(markdown_table([{"target": k, "met": v} for k, v in payload["targets"].items()], ["target", "met"]))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
