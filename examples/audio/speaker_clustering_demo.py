"""The speaker-clustering demo: synthesise speakers, train CPC, draw t-SNE clusters.

    python examples/audio/speaker_clustering_demo.py out/ --speakers 10 --minutes 5
    python examples/audio/speaker_clustering_demo.py --smoke   # seconds: 4 speakers, a tiny CPC, 2 steps

Writes ``out/corpus`` (espeak-ng speakers in LibriSpeech layout), the CPC run
in ``out/run`` and ``out/speaker_clusters.png``: one t-SNE panel each for the
trained CPC, MFCC and the random initialisation, points coloured by speaker,
with k-means NMI / ARI in the titles (cf. Figure 2 of the CPC paper, 10 speakers).
"""
import argparse
import tempfile
from pathlib import Path

from multissl.audio import (AudioFolder, cluster_scores, cpc_extractor, load_run, mfcc_extractor, plot_speaker_clusters,
                            synthesize_corpus, train, utterance_embeddings)
from multissl.audio.clusters import score_line

# --smoke: a tiny CPC trained for 2 steps on 4 speakers x 4 utterances (checks the script runs; the scores mean nothing)
SMOKE = dict(steps=2, batch_size=4, encoder_channels=8, context_dim=8, window=2048, num_negatives=4, prediction_steps=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", help="output folder (required unless --smoke: then a temporary folder)")
    parser.add_argument("--speakers", type=int, default=10)
    parser.add_argument("--utterances", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="4 speakers, a tiny CPC, 2 training steps (a quick check)")
    args = parser.parse_args()
    if args.smoke:  # 4 speakers x 4 utterances, in a temporary folder unless OUT is given
        args.speakers = args.utterances = 4
        args.out = args.out or tempfile.mkdtemp(prefix="multissl-example-")
    elif args.out is None:
        parser.error("the output folder is required (unless --smoke)")

    out = Path(args.out)
    corpus = out / "corpus"
    if not (corpus / "metadata.csv").exists():
        synthesize_corpus(corpus, args.speakers, args.utterances, seed=args.seed)
    folder = AudioFolder(corpus)
    smoke = SMOKE if args.smoke else {}
    train(corpus, out / "run", preset="cpu", folder=folder, max_minutes=args.minutes, seed=args.seed, overwrite=True, **smoke)

    run = load_run(out / "run")
    trained, initial = run.model, run.initial
    extractors = {"CPC": cpc_extractor(trained), "MFCC": mfcc_extractor(), "random init": cpc_extractor(initial)}
    embeddings = utterance_embeddings(extractors, folder)
    scores = cluster_scores(embeddings, folder.speaker_ids, seed=args.seed)
    for name, s in scores.items():
        print(f"{name:>12}: {score_line(s)}")
    path = plot_speaker_clusters(embeddings, folder.speaker_ids, out / "speaker_clusters.png", folder.speakers, scores, seed=args.seed)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
