import torch

from tests.api.run_checks import train_and_reload


def test_video_run_round_trip(tmp_path, monkeypatch):
    from multissl import video

    config = video.SynthConfig(height=64, width=80, train_frames=8, eval_frames=5, max_objects=2)
    video.generate_benchmark(tmp_path / "bench", videos=2, eval_videos=1, seed=0, config=config, verbose=False)
    tiny = dict(steps=2, batch_size=2, crop=32, short_side=64, width=4, conv3d_channels=8, conv3d_layers=1, embed_dim=8,
                backbone="resnet10", clips_per_video=4, verbose=False, color_frames=8)
    clip = torch.rand(1, 2, 3, 32, 32)
    run, loaded = train_and_reload("multissl.video.training", lambda: video.train(tmp_path / "bench" / "train", tmp_path / "run", **tiny),
                                   lambda model: model.embed(clip), monkeypatch)
    assert run.result.step == 2 and loaded.propagation.context == 10 and loaded.eval_short_side == 256
    # the colour clusters were fitted before step 1: the initial twin has them too
    assert torch.equal(loaded.initial.quantizer.centers, loaded.model.quantizer.centers)
