"""The audio part of ``multissl demo``: synthesise a few speakers, train CPC briefly, probe and cluster.

Everything runs on data the project makes itself (espeak-ng from the
``espeakng-loader`` wheel): a corpus of a few synthetic speakers, a small
CPC trained for a short, fixed number of steps, a window-level speaker probe
(CPC vs MFCC vs the same CPC at its random initial weights) on held-out
utterances, and a t-SNE picture of utterance embeddings coloured by speaker.
"""
from __future__ import annotations

from pathlib import Path

from multissl.demo import DemoSection


def run(out_dir: Path, quick: bool = False, seed: int = 0) -> DemoSection:
    """Synthesise, train, probe and cluster; one torch thread (tiny tensors: more threads only spin)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(Path(out_dir), quick, seed)
    finally:
        torch.set_num_threads(threads)


def _run(out_dir: Path, quick: bool, seed: int) -> DemoSection:
    from dataclasses import asdict

    from .clusters import cluster_scores, plot_speaker_clusters, utterance_embeddings
    from .cpc import CPCConfig
    from .folder import AudioFolder
    from .probes import ProbeConfig, ProbeData, cpc_extractor, mfcc_extractor, speaker_scores
    from .synth import synthesize_corpus
    from .training import CPCTrainOptions, load_run, train

    speakers, utterances, steps = (6, 6, 150) if quick else (8, 8, 500)
    corpus = out_dir / "audio-corpus"
    if not (corpus / "metadata.csv").exists():
        synthesize_corpus(corpus, speakers, utterances, seed=seed, phone_labels=False, verbose=False)
    folder = AudioFolder(corpus)
    config = CPCConfig(encoder_channels=32, context_dim=64, window=5120, num_negatives=8, prediction_steps=8)
    options = asdict(CPCTrainOptions(learning_rate=3e-3, holdout=0.25, split_seed=seed, init_seed=seed))
    # dicts set every field they name, so the preset's cosine schedule and time budget do not apply here
    engine = dict(steps=steps, batch_size=16, seed=seed, verbose=False, checkpoint_every=0, log_every=10, max_minutes=None)
    run_dir = out_dir / "audio-cpc-run"
    result = train(corpus, run_dir, model=config, options=options, train=engine, folder=folder, overwrite=True).result
    run = load_run(run_dir)
    trained, initial = run.model, run.initial
    extractors = {"cpc": cpc_extractor(trained), "mfcc": mfcc_extractor(), "random": cpc_extractor(initial)}
    data = ProbeData.build(folder, ProbeConfig(test_fraction=0.25, split_seed=seed, window=10240, seed=seed))
    probes = {name: speaker_scores(fn, data) for name, fn in extractors.items()}
    embeddings = utterance_embeddings(extractors, folder)
    clusters = cluster_scores(embeddings, folder.speaker_ids, seed=seed)
    picture = plot_speaker_clusters(embeddings, folder.speaker_ids, out_dir / "audio_speaker_clusters.png", folder.speakers,
                                    clusters, seed=seed, title=f"CPC vs MFCC vs random init: {len(folder)} synthetic utterances")
    logged = [h for h in result.history if "loss" in h]
    rows = "\n".join(f"| {name} | {p['speaker_acc_window']:.3f} | {p['speaker_acc_utterance']:.3f} | {clusters[name]['nmi']:.3f} |"
                     for name, p in probes.items())
    markdown = (
        f"{speakers} synthetic espeak-ng speakers x {utterances} utterances ({folder.seconds():.0f} s of speech); a small CPC "
        f"(32 channels, GRU 64) trained for {result.step} steps on 0.32 s windows. Prediction accuracy "
        f"{logged[0]['acc']:.2f} -> {logged[-1]['acc']:.2f} (chance {1 / (config.num_negatives + 1):.2f}). Linear speaker "
        f"probes on {len(data.test_windows)} held-out 0.64 s windows ({len(data.split.test)} held-out utterances), "
        f"chance {1 / speakers:.2f}:\n\n"
        f"| features | speaker acc (window) | speaker acc (utterance) | k-means NMI |\n|---|---|---|---|\n{rows}\n"
    )
    metrics = {"steps": result.step, "first_acc": logged[0]["acc"], "last_acc": logged[-1]["acc"],
               "probes": probes, "clusters": clusters}
    return DemoSection("Audio: CPC on synthetic speech, speaker probes and clusters", markdown, [picture.name], metrics)
