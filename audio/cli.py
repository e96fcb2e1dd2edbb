"""``multissl audio ...`` commands: Contrastive Predictive Coding on speech and speaker clustering.

  synth OUT            write a synthetic multi-speaker corpus (espeak-ng) in LibriSpeech layout
  train [cpc] DATA -o RUN  train CPC on a folder of speech (presets: cpu, paper; `train-cpc` is a deprecated alias)
  probe RUN DATA       speaker (window / utterance) and phone probes: CPC vs MFCC vs random init
  cluster RUN DATA -o clusters.png   k-means NMI/ARI/silhouette and a t-SNE picture per model
  efficiency RUN DATA  speaker identification with few labels: CPC / MFCC linear probes vs a supervised CPC network
"""
from __future__ import annotations

import argparse
from pathlib import Path

from multissl.cliutils import (add_command_group, add_dataclass_arguments, add_deprecated_command, add_recipe_arguments,
                               dataclass_from_args, prepare_output_file, recipe_overrides, write_json_file)

PATTERN_HELP = ("speaker from the file path: a regex with a (?P<speaker>...) or first group, searched in the path relative "
                "to DATA, or a file-name template like '{digit}_{speaker}_{index}.wav' (default: LibriSpeech layout "
                "speaker/chapter/file, else the parent folder)")


def register(subparsers) -> None:
    sub = add_command_group(subparsers, "audio", "Contrastive Predictive Coding on speech and speaker clustering", __doc__)
    _register_synth(sub)
    _register_train(sub)
    add_deprecated_command(sub, "train-cpc", "multissl audio train", _register_train)
    _register_probe(sub)
    _register_cluster(sub)
    _register_efficiency(sub)


# ----------------------------------------------------------------- synth
def _register_synth(sub) -> None:
    p = sub.add_parser("synth", help="write a synthetic multi-speaker corpus with espeak-ng",
                       description="Synthesise N speakers x M utterances of varied English sentences with espeak-ng "
                                   "(voice variant x pitch x range x rate x vocal-tract length) in LibriSpeech layout, "
                                   "with metadata.csv and 10 ms phone labels.")
    p.add_argument("out", help="output folder")
    p.add_argument("--speakers", type=int, default=24, help="number of speakers (default: 24)")
    p.add_argument("--utterances", type=int, default=20, help="utterances per speaker (default: 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--sample-rate", type=int, default=16000, help="sample rate of the FLAC files (default: 16000)")
    p.add_argument("--no-phone-labels", action="store_true", help="do not write phone_labels.txt")
    p.add_argument("--engine", choices=["library", "program"], default=None,
                   help="espeak-ng back-end (default: the espeakng-loader library, else the espeak-ng program)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_synth)


def _cmd_synth(args: argparse.Namespace) -> int:
    from .synth import synthesize_corpus

    info = synthesize_corpus(args.out, args.speakers, args.utterances, args.seed, args.sample_rate,
                             phone_labels=not args.no_phone_labels, engine=None if args.engine == "library" else args.engine,
                             verbose=not args.quiet)
    labels = "with" if info.has_phone_labels else "without"
    print(f"wrote {info.num_utterances} utterances of {len(info.speakers)} speakers ({info.seconds / 60:.1f} min, "
          f"{labels} phone labels) to {info.root} using {info.engine}")
    return 0


# ----------------------------------------------------------------- train
def _register_train(sub, name: str = "train", help_text: str = "train CPC on a folder of speech"):
    from multissl.streamed import DATA_MODES

    from .training import DEFAULT_PRESET, PRESETS, recipe

    p = sub.add_parser(name, help=help_text,
                       description="Train Contrastive Predictive Coding on the audio files under DATA with the core engine "
                                   "(checkpoints, --resume, --max-minutes, torchrun). Flags left out take the preset's "
                                   "values; the defaults shown are the cpu preset's.")
    p.add_argument("method", nargs="?", choices=("cpc",), default="cpc", help="the method (cpc, the only audio method)")
    p.add_argument("data", help="folder of audio files (LibriSpeech layout, or use --speaker-pattern)")
    p.add_argument("-o", "--output", required=True, help="run folder (config.json, checkpoints/, metrics.jsonl)")
    p.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET,
                   help="cpu: small model that learns speakers in minutes on 2 cores; paper: the paper's sizes (default: cpu)")
    p.add_argument("--speaker-pattern", default=None, help=PATTERN_HELP)
    p.add_argument("--data-mode", choices=DATA_MODES, default="auto",
                   help="auto: decode the audio into memory when it is at most 512 MiB as float32 (about 2.3 h at 16 kHz) "
                        "and a quarter of RAM, else read each training window from disk in worker processes; memory; "
                        "stream (default: auto)")
    add_recipe_arguments(p, recipe(preset=DEFAULT_PRESET), {"model": "model", "options": "optimiser and data", "train": "training loop"})
    p.set_defaults(func=_cmd_train)
    return p


def recipe_from_args(args: argparse.Namespace):
    """The recipe a parsed ``audio train`` command trains with (the same call as the Python API)."""
    from .training import recipe

    return recipe(preset=args.preset, **recipe_overrides(args, recipe(preset=args.preset)))


def _cmd_train(args: argparse.Namespace) -> int:
    from .training import recipe, train

    overrides = recipe_overrides(args, recipe(preset=args.preset))
    run = train(args.data, args.output, args.method, preset=args.preset, speaker_pattern=args.speaker_pattern,
                data_mode=args.data_mode, **overrides)
    last = [h for h in run.result.history if "loss" in h]
    summary = f"loss {last[-1]['loss']:.3f}, prediction accuracy {last[-1].get('acc', float('nan')):.3f}" if last else "no step logged"
    print(f"trained {run.result.step} steps in {run.result.elapsed_s / 60:.1f} min ({run.result.stop_reason}); {summary}; "
          f"run folder {run.path}")
    return 0


# ----------------------------------------------------------------- probe / cluster
def _add_eval_arguments(p) -> None:
    p.add_argument("run", help="run folder written by `multissl audio train`")
    p.add_argument("data", help="folder of audio files to evaluate on")
    p.add_argument("--speaker-pattern", default=None, help=PATTERN_HELP + "; default: the run's pattern for its own data")
    p.add_argument("--feature", choices=["context", "encoder", "both"], default="context",
                   help="CPC features: the GRU context c (paper), the encoder output z, or both (default: context)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _register_probe(sub) -> None:
    from .probes import ProbeConfig

    p = sub.add_parser("probe", help="speaker and phone probes: CPC vs MFCC vs random init",
                       description="Linear probes on frozen features of held-out audio: window-level and "
                                   "utterance-level speaker accuracy (frame-level too with --frames, the CPC paper's "
                                   "protocol), k-means NMI/ARI, and frame-level phone accuracy "
                                   "where phone_labels.txt exists; for the trained CPC, an MFCC baseline and the same CPC "
                                   "at its random initial weights. On the run's own data the split defaults to the one "
                                   "training held out.")
    _add_eval_arguments(p)
    p.add_argument("--json", default=None, help="write the results to this JSON file")
    add_dataclass_arguments(p, ProbeConfig, defaults={"holdout": None, "split_seed": None},
                            title="probe (holdout and split seed default to the run's held-out split)")
    _add_test_fraction_alias(p)
    p.set_defaults(func=_cmd_probe)


def _add_test_fraction_alias(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--test-fraction", dest="holdout", type=float, help=argparse.SUPPRESS)  # the older name of --holdout


def _register_cluster(sub) -> None:
    p = sub.add_parser("cluster", help="speaker clustering scores and a t-SNE picture (CPC, MFCC, random init)",
                       description="k-means NMI / ARI and silhouette of utterance embeddings, and a PNG with one t-SNE "
                                   "panel per model, coloured by speaker.")
    _add_eval_arguments(p)
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.add_argument("--json", default=None, help="also write the scores to this JSON file")
    p.add_argument("--seed", type=int, default=0, help="seed of k-means and t-SNE (default: 0)")
    p.set_defaults(func=_cmd_cluster)


def _cmd_probe(args: argparse.Namespace) -> int:
    from .probe_run import probe_run
    from .probes import ProbeConfig

    settings = {f: getattr(args, f) for f in ProbeConfig.__dataclass_fields__ if hasattr(args, f)}
    payload = probe_run(args.run, args.data, speaker_pattern=args.speaker_pattern, feature=args.feature,
                        verbose=not args.quiet, **settings)
    payload["run"] = str(args.run)
    print(_table({k: v for k, v in payload.items() if k in ("cpc", "mfcc", "random")}))
    if args.json:
        write_json_file(args.json, payload)
        print(f"wrote {args.json}")
    return 0


def _table(results) -> str:
    from .probes import clustering_cell, probe_table

    cols = ["speaker_acc_window", "speaker_acc_utterance", "nmi", "ami", "ari", "silhouette", ("clustering", "clustered"), "phone_acc"]
    if any("speaker_acc_frame" in r for r in results.values()):
        cols.insert(0, "speaker_acc_frame")
    return probe_table({name: {**r, "clustering": clustering_cell(r)} for name, r in results.items()}, cols)


def _cmd_cluster(args: argparse.Namespace) -> int:
    from .clusters import cluster_scores, plot_speaker_clusters, score_line, utterance_embeddings
    from .probe_run import evaluation_setup

    _, folder, extractors, _ = evaluation_setup(args.run, args.data, args.speaker_pattern, args.feature, not args.quiet)
    if folder.num_speakers < 2:
        raise ValueError(f"clustering needs at least 2 speakers; {folder.root} has {folder.num_speakers}; "
                         "pass --speaker-pattern if speakers are in the file names")
    embeddings = utterance_embeddings(extractors, folder, verbose=not args.quiet)
    scores = cluster_scores(embeddings, folder.speaker_ids, seed=args.seed)
    path = plot_speaker_clusters(embeddings, folder.speaker_ids, args.output, folder.speakers, scores, seed=args.seed)
    for name, s in scores.items():
        print(f"{name:>7}: {score_line(s)}")
    if any(s["not_scored"] for s in scores.values()):
        print("(k-means on about one utterance per speaker is perfect whatever the features; "
              "`multissl audio probe` clusters 1.28 s pieces of the held-out audio instead)")
    print(f"wrote {path}")
    if args.json:
        write_json_file(args.json, scores)
    return 0


# ----------------------------------------------------------------- efficiency
def _per_speaker(value: str):
    if value == "all":
        return None
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count of windows or 'all', got {value!r}") from None


def _register_efficiency(sub) -> None:
    from multissl.evaluation import FinetuneConfig

    from .label_evaluation import DEFAULT_METHODS, METHODS
    from .probes import ProbeConfig

    p = sub.add_parser("efficiency", help="speaker identification with few labels: CPC and MFCC linear probes vs a supervised CPC",
                       description="Speaker-identification accuracy on windows of held-out utterances against the number of "
                                   "labelled training windows per speaker (nested subsets; counts averaged over --seeds subset "
                                   "seeds): a linear probe on the run's CPC features, one on MFCC mean+std (80-d), and the run's "
                                   "network trained from its random initial weights on the labelled windows only.")
    p.add_argument("run", help="run folder written by `multissl audio train`")
    p.add_argument("data", help="folder of audio files to evaluate on")
    p.add_argument("--per-speaker", nargs="+", type=_per_speaker, default=[1, 2, 5, None], metavar="N",
                   help="labelled training windows per speaker, 'all' for every one (default: 1 2 5 all)")
    p.add_argument("--seeds", type=int, default=3, help="label-subset seeds for every count (default 3)")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(DEFAULT_METHODS),
                   help=f"the curves to compute (default: {' '.join(DEFAULT_METHODS)})")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("-o", "--output", dest="picture", help="write the curve (accuracy vs labelled windows per speaker) to this PNG")
    p.add_argument("--speaker-pattern", default=None, help=PATTERN_HELP + "; default: the run's pattern for its own data")
    p.add_argument("--device", help="cpu, cuda or cuda:N for CPC features and fine-tuning (default: CUDA if available)")
    p.add_argument("--checkpoints", help="folder for the fine-tuning runs' checkpoints (default: none kept)")
    p.add_argument("--overwrite", action="store_true", help="replace fine-tuning runs already in --checkpoints")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_dataclass_arguments(p, ProbeConfig, exclude=("max_phone_frames", "seed", "frames", "frame_chunk", "max_speaker_frames"), defaults={"holdout": None, "split_seed": None},
                            title="split and windows (holdout and split seed default to the run's held-out split)")
    _add_test_fraction_alias(p)
    add_dataclass_arguments(p, FinetuneConfig, exclude=("seed",), title="fine-tuning (supervised, cpc_finetune)")
    p.set_defaults(func=_cmd_efficiency)


def _cmd_efficiency(args: argparse.Namespace) -> int:
    from multissl.evaluation import FinetuneConfig

    from .label_evaluation import audio_run, efficiency_run
    from .probe_run import probe_config_for

    for name, what in (("json", "--json"), ("picture", "-o")):
        if getattr(args, name):
            prepare_output_file(getattr(args, name), what)
    run = audio_run(args.run)
    probe = probe_config_for(run, args.data, holdout=args.holdout, split_seed=args.split_seed, window=args.window,
                             window_tail=args.window_tail)
    result = efficiency_run(run, args.data, per_speaker=args.per_speaker, seeds=args.seeds, methods=args.methods,
                            config=dataclass_from_args(FinetuneConfig, args), probe=probe, speaker_pattern=args.speaker_pattern,
                            output=args.checkpoints, device=args.device, verbose=not args.quiet, overwrite=args.overwrite)
    print(result.markdown())
    if args.json:
        result.write_json(args.json)
        print(f"wrote {args.json}")
    if args.picture:
        title = f"speaker identification on {Path(args.data).name}: {result.settings['speakers']} speakers"
        print(f"wrote {result.plot(args.picture, title=title)}")
    return 0
