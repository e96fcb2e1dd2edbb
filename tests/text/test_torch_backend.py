import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from multissl.text import Word2Vec
from multissl.text.torch_backend import CBOWNS, SkipGramNS


@pytest.mark.parametrize("sg", [1, 0])
def test_torch_backend_learns_topics(sg, topic_corpus):
    model = Word2Vec(topic_corpus, backend="torch", sg=sg, vector_size=16, min_count=1, epochs=5, batch_size=256,
                     alpha=0.05, sample=0, workers=1, verbose=False, device="cpu")
    log = model.training_log
    assert len(log) == 5 and log[-1]["mean_loss"] < log[0]["mean_loss"]
    wv = model.wv
    # each word's nearest neighbours are from its own topic
    for word in ("a0", "a5", "b0", "b5"):
        neighbours = [w for w, _ in wv.most_similar(word, topn=5)]
        assert all(w[0] == word[0] for w in neighbours), (word, neighbours)
    assert model.syn1neg.shape == wv.vectors.shape


def test_modules_return_the_core_loss():
    from multissl.losses import negative_sampling_loss

    m = SkipGramNS(6, 4)
    torch.nn.init.normal_(m.outputs.weight)
    batch = {"input": torch.tensor([0, 1]), "target": torch.tensor([2, 3]), "negatives": torch.tensor([[4, 5], [5, 4]]),
             "scale": torch.ones(2)}
    loss, metrics = m(batch)
    ref = negative_sampling_loss(m.inputs(batch["input"]), m.outputs(batch["target"]), m.outputs(batch["negatives"]), reduction="sum")
    assert torch.allclose(loss, ref)
    c = CBOWNS(6, 4)
    batch = {"context": torch.tensor([[0, 1, -1], [2, -1, -1]]), "target": torch.tensor([3, 4]),
             "negatives": torch.tensor([[5], [5]]), "scale": torch.tensor([1.0, 0.5])}
    loss, _ = c(batch)
    loss.backward()
    assert c.inputs.weight.grad is not None


def test_torch_backend_rejects_hs():
    with pytest.raises(ValueError, match="numba backend"):
        Word2Vec([["a", "b"]] * 3, backend="torch", hs=1, min_count=1, verbose=False)


def test_cbow_gives_every_context_word_the_full_error_like_word2vec_c():
    """The hidden layer is the context mean, but each context vector gets the hidden layer's whole gradient."""
    from multissl.losses import negative_sampling_loss

    torch.manual_seed(0)
    c = CBOWNS(6, 4, sparse=False)
    torch.nn.init.normal_(c.outputs.weight)
    batch = {"context": torch.tensor([[0, 1, 2]]), "target": torch.tensor([3]), "negatives": torch.tensor([[4, 5]]),
             "scale": torch.ones(1)}
    loss, _ = c(batch)
    loss.backward()
    hidden = c.inputs.weight[:3].detach().mean(0, keepdim=True).requires_grad_()
    ref = negative_sampling_loss(hidden, c.outputs.weight[3:4].detach(), c.outputs.weight[None, 4:6].detach(), reduction="sum")
    assert torch.allclose(loss, ref)
    (grad_hidden,) = torch.autograd.grad(ref, hidden)
    for word in range(3):
        assert torch.allclose(c.inputs.weight.grad[word], grad_hidden[0], atol=1e-6)


@pytest.mark.slow
def test_two_processes_write_one_run(tmp_path):
    """Under torchrun rank 0 alone writes the run's metrics, checkpoint and vectors (two ranks used to race on
    checkpoints/last.npz and each logged every epoch)."""
    rng = np.random.default_rng(0)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.choice([f"w{i}" for i in range(30)], 12)) for _ in range(300)) + "\n")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "multissl", "text",
           "train", str(corpus), "-o", str(out), "--backend", "torch", "--min-count", "1", "--epochs", "2",
           "--batch-size", "128"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [entry["epoch"] for entry in logged] == [1, 2]  # one line per epoch, not one per rank
    assert (out / "checkpoints" / "last.npz").is_file() and (out / "vectors.bin").is_file()
