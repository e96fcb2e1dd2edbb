"""The speaker-clustering demo: synthesise speakers, train CPC, draw t-SNE clusters.

    python examples/audio/speaker_clustering_demo.py out/ --speakers 10 --minutes 5

Writes ``out/corpus`` (espeak-ng speakers in LibriSpeech layout), the CPC run
in ``out/run`` and ``out/speaker_clusters.png``: one t-SNE panel each for the
trained CPC, MFCC and the random initialisation, points coloured by speaker,
with k-means NMI / ARI in the titles (cf. Figure 2 of the CPC paper, 10 speakers).
"""
import argparse
from pathlib import Path

from multissl.audio import (AudioFolder, cluster_scores, cpc_extractor, load_run, mfcc_extractor, plot_speaker_clusters,
                            synthesize_corpus, train, utterance_embeddings)
from multissl.audio.clusters import score_line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--speakers", type=int, default=10)
    parser.add_argument("--utterances", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    out = Path(args.out)
    corpus = out / "corpus"
    if not (corpus / "metadata.csv").exists():
        synthesize_corpus(corpus, args.speakers, args.utterances, seed=args.seed)
    folder = AudioFolder(corpus)
    train(corpus, out / "run", preset="cpu", folder=folder, max_minutes=args.minutes, seed=args.seed, overwrite=True)

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
