"""Cutting a chunk of the encoded corpus into parts of whole sentences (text/encoded.py, text/hogwild.py)."""
import numpy as np

from multissl.text.encoded import split_chunk
from multissl.text.hogwild import chunk_parts

IDS = np.array([1, 2, 3, -1, 4, 5, -1, 6, -1, 7, 8, 9, 10, -1, 11, -1], np.int32)


def test_chunk_parts_end_with_sentences_and_count_the_words_before_them():
    ids = IDS
    cut = list(split_chunk(ids, 4))
    np.testing.assert_array_equal(np.concatenate([piece for piece, _ in cut]), ids)  # nothing lost or repeated
    assert [list(piece) for piece, _ in cut] == [[1, 2, 3, -1], [4, 5, -1, 6, -1], [7, 8, 9, 10, -1], [11, -1]]
    assert [before for _, before in cut] == [0, 3, 6, 10]
    assert [list(p) for p, _ in split_chunk(ids, 100)] == [list(ids)]  # one piece when the chunk is short
    no_end = np.array([1, 2, 3], np.int32)
    assert [list(p) for p, _ in split_chunk(no_end, 2)] == [[1, 2, 3]]


def test_the_epochs_last_chunks_train_as_one_part_per_worker(monkeypatch):
    monkeypatch.setattr("multissl.text.hogwild.MIN_PART_WORDS", 2)
    key = np.uint64(12345)
    assert len(chunk_parts(IDS, key, 1)) == 1 and chunk_parts(IDS, key, 1)[0][2] == key
    parts = chunk_parts(IDS, key, 2)
    assert len(parts) == 2
    np.testing.assert_array_equal(np.concatenate([p for p, _, _ in parts]), IDS)
    assert parts[0][1] == 0 and parts[1][1] == np.count_nonzero(parts[0][0] >= 0)  # positions for the learning rate
    assert len({int(k) for _, _, k in parts}) == 2 and key not in {k for _, _, k in parts}  # own random streams
    assert [list(p) for p, _, _ in parts] == [list(p) for p, _, _ in chunk_parts(IDS, key, 2)]  # deterministic
    one_sentence = np.array([1, 2, 3, 4, -1], np.int32)
    assert len(chunk_parts(one_sentence, key, 4)) == 1  # sentences are never cut
    monkeypatch.setattr("multissl.text.hogwild.MIN_PART_WORDS", 10)
    assert len(chunk_parts(IDS, key, 2)) == 1  # too small to be worth cutting


def test_training_with_split_last_chunks_counts_every_word_once():
    from multissl.text import Word2Vec

    rng = np.random.default_rng(0)
    sentences = [[f"w{int(i)}" for i in rng.integers(0, 30, 9)] for _ in range(300)]

    class Jobs:
        def __init__(self):
            self.count = 0

        def on_chunk_end(self, model, stats):
            self.count += 1

    runs = {}
    for workers in (1, 2):
        jobs = Jobs()
        model = Word2Vec(sentences, vector_size=8, min_count=1, epochs=2, workers=workers, chunk_words=2000, seed=1,
                         verbose=False, callbacks=[jobs])
        runs[workers] = (jobs.count, [entry["words"] for entry in model.training_log])
    assert runs[1][1] == runs[2][1] == [2700, 2700]  # every word of every epoch, once
    assert runs[2][0] > runs[1][0]  # the last chunks of each epoch went out in parts
