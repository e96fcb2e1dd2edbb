"""gensim's word2vec tutorial flow, unchanged but for the import: multissl.text.Word2Vec is a drop-in.

    python examples/text/gensim_tutorial.py [--epochs 10]
    python examples/text/gensim_tutorial.py --smoke   # one epoch: a quick check that it runs

Builds a vocabulary of gensim's Lee background corpus, trains, grows the vocabulary with
sentences it did not have, trains on them, saves, loads, then asks for neighbours
(most_similar, most_similar_cosmul), the likeliest centre word of a context
(predict_output_word) and gensim's evaluations. To run the same script with gensim, replace
the import line below by ``from gensim.models import Word2Vec``.
"""
import argparse
import os
import tempfile

from gensim import utils
from gensim.test.utils import datapath

from multissl.text import Word2Vec

QUERIES = ("police", "fire", "government")
# related words of the Lee corpus: the rank of the second among the first's neighbours measures the vectors
# (gensim's own tests ask for 'bombings' within the 50 nearest of 'attacks')
RELATED = (("attacks", "bombings"), ("israeli", "palestinian"), ("fire", "bushfire"))
NEW_SENTENCES = [
    "the firefighters fought the bushfire near sydney all night",
    "volunteer firefighters arrived to fight the bushfire",
    "the bushfire destroyed homes before firefighters contained it",
    "police said firefighters contained the bushfire on sunday",
    "a bushfire warning was issued as firefighters gathered",
]


def lee_sentences():
    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        return [utils.simple_preprocess(line) for line in f]


def run(epochs: int = 10, seed: int = 1) -> dict:
    """The tutorial; returns what it printed: WS-353 Spearman, analogy accuracy, neighbours, ranks of related words."""
    sentences = lee_sentences()
    model = Word2Vec(vector_size=100, window=5, min_count=3, workers=2, epochs=epochs, seed=seed)
    model.build_vocab(sentences)
    model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs)
    print(f"vocabulary: {len(model.wv)} words; 'police' -> {[w for w, _ in model.wv.most_similar('police', topn=5)]}")

    more = [s.split() for s in NEW_SENTENCES]
    model.build_vocab(more, update=True)
    model.train(more, total_examples=model.corpus_count, epochs=model.epochs)
    print(f"after the update: {len(model.wv)} words, 'firefighters' known: {'firefighters' in model.wv}")

    path = os.path.join(tempfile.mkdtemp(), "lee.model")
    model.save(path)
    model = Word2Vec.load(path)

    neighbours = {word: [w for w, _ in model.wv.most_similar(word, topn=10)] for word in QUERIES}
    for word in QUERIES:
        print(f"{word}: {', '.join(neighbours[word][:6])}")
    cosmul = model.wv.most_similar_cosmul(positive=["police", "fire"], negative=["government"], topn=5)
    print(f"police + fire - government (3CosMul): {', '.join(w for w, _ in cosmul)}")
    predicted = model.predict_output_word(["the", "bushfire", "near"], topn=5)
    print(f"centre of 'the bushfire near': {', '.join(f'{w} ({p:.3f})' for w, p in predicted)}")
    ranks = {f"{a}->{b}": [w for w, _ in model.wv.most_similar(a, topn=len(model.wv))].index(b) + 1 for a, b in RELATED}
    print(f"ranks of related words: {ranks}")
    pearson, spearman, oov = model.wv.evaluate_word_pairs(datapath("wordsim353.tsv"))
    accuracy, _ = model.wv.evaluate_word_analogies(datapath("questions-words.txt"))
    print(f"WordSim-353: Spearman {spearman[0]:.3f} ({oov:.1f}% of pairs unknown); analogies: {accuracy:.3f}")
    return {"ws353_spearman": spearman[0], "analogy_accuracy": accuracy, "neighbours": neighbours, "ranks": ranks,
            "vocabulary": len(model.wv), "predicted": predicted}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="one epoch (a quick check; the neighbours mean little)")
    args = parser.parse_args()
    run(1 if args.smoke else args.epochs)
