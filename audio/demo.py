"""The audio part of ``multissl demo``: synthesise a few speakers, probe CPC frame by frame, cluster.

Everything runs on data the project makes itself (espeak-ng from the
``espeakng-loader`` wheel): a corpus of a few synthetic speakers with phone
labels; the shipped ``audio-cpc-synth`` CPC (:func:`build_pretrained`,
``multissl pretrained build audio-cpc-synth``, trained on other speakers) and
a small CPC trained live for a fixed number of steps; frame-level speaker and
phone probes (the CPC paper's protocol) on held-out utterances against 40
MFCCs and the untrained network; and a t-SNE picture of utterance embeddings
coloured by speaker.
"""
from __future__ import annotations

from pathlib import Path

from multissl.demo import DemoSection
from multissl.threads import one_torch_thread


PRETRAINED_NAME = "audio-cpc-synth"
PRETRAINED_SPEAKERS, PRETRAINED_UTTERANCES, PRETRAINED_STEPS = 24, 20, 3000
PRETRAINED_SEED_OFFSET = 1000  # the shipped model's corpus is drawn with seeds the demo's (0, 1, ...) do not use


def build_pretrained(work_dir: Path, seed: int = 0) -> Path:
    """Train the shipped CPC: ``cpu`` preset, :data:`PRETRAINED_STEPS` steps on a synthetic corpus of
    24 speakers x 20 utterances drawn with seed ``1000 + seed``; returns the run folder
    (``multissl pretrained build audio-cpc-synth``)."""
    from .synth import synthesize_corpus
    from .training import train

    corpus = Path(work_dir) / "corpus"
    if not (corpus / "metadata.csv").exists():
        synthesize_corpus(corpus, PRETRAINED_SPEAKERS, PRETRAINED_UTTERANCES, seed=PRETRAINED_SEED_OFFSET + seed,
                          phone_labels=False)
    run_dir = Path(work_dir) / "run"
    train(corpus, run_dir, preset="cpu", steps=PRETRAINED_STEPS, max_minutes=None, holdout=0.0, seed=seed, split_seed=seed,
          overwrite=True)
    return run_dir


def run(out_dir: Path, quick: bool = False, seed: int = 0) -> DemoSection:
    """Synthesise, train live, probe the shipped and live CPCs against MFCC and random init, and cluster."""
    return _run(Path(out_dir), quick, seed)


LIVE_MODEL = dict(encoder_channels=32, context_dim=64, window=5120, num_negatives=8, prediction_steps=8)


def _train_live(corpus: Path, folder, run_dir: Path, steps: int, seed: int):
    """A small CPC trained for ``steps`` steps on the demo corpus minus the probe's held-out utterances
    (one torch thread: its tensors are tiny, more threads only spin)."""
    with one_torch_thread():
        return _train_small(corpus, folder, run_dir, steps, seed)


def _train_small(corpus: Path, folder, run_dir: Path, steps: int, seed: int):
    from .training import load_run, train

    optim = dict(lr=3e-3, schedule="constant", warmup=0)  # not the preset's cosine schedule with warm-up
    engine = dict(steps=steps, batch_size=16, seed=seed, verbose=False, checkpoint_every=0, log_every=10, max_minutes=None)
    result = train(corpus, run_dir, model=LIVE_MODEL, optim=optim, options=dict(holdout=0.25, split_seed=seed), train=engine,
                   folder=folder, overwrite=True).result
    return load_run(run_dir), result


def _run(out_dir: Path, quick: bool, seed: int) -> DemoSection:
    from multissl.pretrained import describe, load_pretrained

    from .clusters import plot_speaker_clusters, utterance_embeddings
    from .folder import AudioFolder
    from .probes import ProbeConfig, ProbeData, compare, cpc_extractor, mfcc_extractor
    from .synth import synthesize_corpus

    speakers, utterances, steps = (6, 6, 150) if quick else (8, 8, 500)
    corpus = out_dir / "audio-corpus"
    if not (corpus / "metadata.csv").exists():
        synthesize_corpus(corpus, speakers, utterances, seed=seed, phone_labels=True, verbose=False)
    folder = AudioFolder(corpus)
    live, result = _train_live(corpus, folder, out_dir / "audio-cpc-run", steps, seed)
    shipped = load_pretrained(PRETRAINED_NAME)
    extractors = {"CPC shipped": cpc_extractor(shipped.model), "CPC live": cpc_extractor(live.model),
                  "MFCC": mfcc_extractor(), "random init": cpc_extractor(shipped.initial)}
    data = ProbeData.build(folder, ProbeConfig(holdout=0.25, split_seed=seed, frames=True, seed=seed))
    probes = compare(extractors, data)
    embeddings = utterance_embeddings(extractors, folder)
    picture = plot_speaker_clusters(embeddings, folder.speaker_ids, out_dir / "audio_speaker_clusters.png", folder.speakers,
                                    {n: {k: p[k] for k in ("nmi", "ami", "ari", "silhouette", "not_scored")} for n, p in probes.items()}, seed=seed,
                                    title=f"utterance embeddings of {len(folder)} synthetic utterances, coloured by speaker")
    logged = [h for h in result.history if "loss" in h]
    info = describe(PRETRAINED_NAME)
    markdown = _markdown(folder, data, probes, info, result.step, logged, speakers)
    metrics = {"live_steps": result.step, "live_first_acc": logged[0]["acc"], "live_last_acc": logged[-1]["acc"],
               "shipped_steps": info.get("step"), "probes": probes,
               "shipped_beats_baselines_on": learned_wins(probes)}
    return DemoSection("Audio: CPC on synthetic speech, frame-level speaker and phone probes", markdown, [picture.name], metrics)


HEADLINE = (("speaker_acc_frame", "speaker (10 ms frame)"), ("phone_acc", "phone (10 ms frame)"))
HEADLINE_ROWS = ("CPC shipped", "MFCC", "random init")


def learned_wins(probes) -> list:
    """The headline columns on which the shipped CPC beats both MFCC and random init."""
    return [label for key, label in HEADLINE
            if probes["CPC shipped"][key] > max(probes["MFCC"][key], probes["random init"][key])]


def _nmi(scores) -> str:
    return scores["not_scored"] or f"{scores['nmi']:.3f}"


def _markdown(folder, data, probes, info, live_steps, logged, speakers) -> str:
    from .probes import probe_table

    wins, live, mfcc, shipped = learned_wins(probes), probes["CPC live"], probes["MFCC"], probes["CPC shipped"]
    verdict = ("Frame by frame, the shipped CPC reads both the speaker and the phone from the waveform better than 40 MFCCs and "
               "than the same network untrained, on voices it never heard: what one 10 ms context vector knows was learned "
               "by predicting the future." if len(wins) == len(HEADLINE) else
               f"In this run the shipped CPC does not beat both baselines on every frame-level probe (won on: "
               f"{', '.join(wins) or 'none'}).")
    return (
        f"{speakers} synthetic espeak-ng speakers x {len(folder) // speakers} utterances ({folder.seconds():.0f} s of speech, "
        f"phone labels from the synthesiser). **CPC shipped**: the package's `{PRETRAINED_NAME}` weights ({info.get('step')} "
        f"steps of the `cpu` preset on 24 other synthetic speakers, built by `{info.get('command')}`; it never heard these "
        f"speakers). Linear probes on every 10 ms frame (the CPC paper's protocol) of the {len(data.split.test)} held-out "
        f"utterances; chance {1 / speakers:.2f} for speakers:\n\n"
        f"{probe_table(probes, HEADLINE, HEADLINE_ROWS)}\n\n"
        f"**Trained live**: a small CPC (32 channels, GRU 64) trained now for {live_steps} steps on these speakers' other "
        f"utterances (prediction accuracy {logged[0]['acc']:.2f} -> {logged[-1]['acc']:.2f}, chance 0.11) reaches "
        f"{live['speaker_acc_frame']:.3f} speaker and {live['phone_acc']:.3f} phone accuracy per frame: far above an untrained "
        f"network, not yet the shipped model's level. Pooled over 1.28 s windows (mean + std), spectral averages identify "
        f"these synthetic voices almost perfectly (MFCC {mfcc['speaker_acc_window']:.3f}, shipped CPC "
        f"{shipped['speaker_acc_window']:.3f}; k-means NMI over {mfcc['clustered']} {_nmi(mfcc)} vs {_nmi(shipped)}).\n\n"
        f"{verdict}"
    )
