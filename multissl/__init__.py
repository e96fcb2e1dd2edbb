"""multissl: self-supervised pretext tasks across text, audio, video and images.

The core (this package) holds what every modality shares: contrastive losses
(:mod:`multissl.losses`), negative samplers and memory queues
(:mod:`multissl.sampling`), projection heads (:mod:`multissl.heads`), momentum
encoders (:mod:`multissl.momentum`), the training engine (:mod:`multissl.engine`)
and evaluation tools (:mod:`multissl.evaluation`). The modalities live in
``multissl.text``, ``multissl.audio``, ``multissl.video`` and ``multissl.vision``.
"""

__version__ = "0.1.0"

MODALITIES = ("text", "audio", "video", "vision")


def load_run(path, map_location=None):
    """Load any run folder (text, audio, video or vision) as a :class:`multissl.run.Run`."""
    from .run import load_run as _load_run

    return _load_run(path, map_location=map_location)


def load_encoder(path, map_location="cpu"):
    """The encoder ``multissl export`` wrote to ``path`` (see :mod:`multissl.export`), in eval mode."""
    from .export import load_encoder as _load_encoder

    return _load_encoder(path, map_location=map_location)


__all__ = ["__version__", "MODALITIES", "load_encoder", "load_run"]
