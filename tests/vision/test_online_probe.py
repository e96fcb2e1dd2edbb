"""The online linear probe of the vision methods: trained on the labelled images of a batch, never on the features."""
import torch
import torch.nn.functional as F

from multissl.vision.encoder import BackboneConfig
from multissl.vision.tasks.simclr import SimCLR


def _task(num_classes=3):
    torch.manual_seed(0)
    return SimCLR(backbone=BackboneConfig(arch="resnet10", width=4), image_size=16, num_classes=num_classes)


def test_the_probe_trains_on_the_labelled_images_of_a_batch():
    task = _task()
    features = torch.randn(4, task.encoder.out_dim, requires_grad=True)
    labels = torch.tensor([-1, 2, -1, 0])
    metrics = {}
    loss = task.online_probe_loss(features, (None, labels), metrics)
    expected = F.cross_entropy(task.online_classifier(features[[1, 3]]), labels[[1, 3]])
    torch.testing.assert_close(loss, expected)
    hits = (task.online_classifier(features[[1, 3]]).argmax(1) == labels[[1, 3]]).float().mean()
    torch.testing.assert_close(metrics["online_acc"], hits)
    loss.backward()
    assert features.grad is None  # the representation never learns from the labels
    assert task.online_classifier.weight.grad.abs().sum() > 0


def test_a_batch_without_labels_gives_zero_yet_touches_the_probe():
    """Under DDP every parameter must take part in the loss, also on a rank whose batch has no label."""
    task = _task()
    features = torch.randn(4, task.encoder.out_dim)
    metrics = {}
    loss = task.online_probe_loss(features, (None, torch.full((4,), -1)), metrics)
    assert float(loss.detach()) == 0.0 and "online_acc" not in metrics
    loss.backward()
    assert all(p.grad is not None and not p.grad.any() for p in task.online_classifier.parameters())


def test_no_probe_without_classes():
    task = _task(num_classes=0)
    assert task.online_classifier is None
    assert float(task.online_probe_loss(torch.randn(2, task.encoder.out_dim), (None, torch.tensor([0, 1])), {})) == 0.0
