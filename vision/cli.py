"""``multissl vision ...`` commands: image pretext tasks.

    multissl vision tasks
    multissl vision train TASK --data DATA -o RUN [task, backbone, optimiser and training flags]
    multissl vision probe RUN --data DATA [--json probe.json]
    multissl vision picture RUN --data DATA -o picture.png
"""
from __future__ import annotations

import argparse

from multissl.cliutils import add_command_group, add_dataclass_arguments, add_train_arguments, dataclass_from_args, train_config_from_args, write_json_file

DATA_HELP = ".npz with x_train/y_train/x_test/y_test, an ImageFolder root, 'digits', 'skimage', or a torchvision name (cifar10, stl10, ...) with --root"


def register(subparsers) -> None:
    group = add_command_group(subparsers, "vision", "image pretext tasks: reconstruction, proxy and contrastive methods", __doc__)
    _register_tasks(group)
    _register_train(group)
    _register_probe(group)
    _register_picture(group)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help=DATA_HELP)
    parser.add_argument("--root", help="folder of a torchvision data set (nothing is downloaded)")
    parser.add_argument("--image-size", type=int, default=None, help="resize images to this side (default: keep; folders: 32)")


def _register_tasks(group) -> None:
    parser = group.add_parser("tasks", help="list the vision tasks")
    parser.set_defaults(func=_cmd_tasks)


def _cmd_tasks(args) -> int:
    from .registry import TASKS

    for name, spec in TASKS.items():
        print(f"{name:18s} {spec.summary}")
    return 0


def _register_train(group) -> None:
    from .encoder import BackboneConfig
    from .registry import TASKS
    from .training import OptimConfig

    train = group.add_parser("train", help="train a pretext task", description="Train TASK on the train split of --data.")
    tasks = train.add_subparsers(title="tasks", metavar="TASK", dest="task")
    tasks.required = True
    for name, spec in TASKS.items():
        p = tasks.add_parser(name, help=spec.summary, description=spec.summary)
        _add_data_arguments(p)
        p.add_argument("-o", "--output", required=True, help="run folder (config.json, checkpoints, metrics.jsonl)")
        add_dataclass_arguments(p, spec.config, title=f"{name} options")
        add_dataclass_arguments(p, BackboneConfig, title="backbone")
        add_dataclass_arguments(p, OptimConfig, defaults=spec.optim_defaults, title="optimiser")
        add_train_arguments(p, **{"batch_size": 128, **spec.defaults})
        p.set_defaults(func=_cmd_train, task_name=name)


def _cmd_train(args) -> int:
    from .data import load_images
    from .encoder import BackboneConfig
    from .registry import task_spec
    from .training import OptimConfig, train_task

    spec = task_spec(args.task_name)
    splits = load_images(args.data, args.root, args.image_size, seed=args.seed)
    task, result = train_task(
        args.task_name,
        splits,
        dataclass_from_args(spec.config, args),
        dataclass_from_args(BackboneConfig, args),
        dataclass_from_args(OptimConfig, args),
        train_config_from_args(args, output_dir=args.output),
        data_spec=args.data,
    )
    print(f"trained {args.task_name} for {result.step} steps ({result.stop_reason}, {result.elapsed_s:.0f} s); run folder: {args.output}")
    return 0


def _register_probe(group) -> None:
    p = group.add_parser("probe", help="linear-probe and kNN accuracy of a run, vs random init and raw pixels")
    p.add_argument("run", help="run folder written by `multissl vision train`")
    _add_data_arguments(p)
    p.add_argument("--pool", type=int, default=1, help="average-pool the last feature map to pool x pool before probing (default 1)")
    p.add_argument("--knn-k", type=int, default=20, help="neighbours of the kNN classifier (default 20)")
    p.add_argument("--json", help="also write the scores to this JSON file")
    p.set_defaults(func=_cmd_probe)


def _cmd_probe(args) -> int:
    from .data import load_images
    from .probe import evaluate
    from .run import load_run

    task, random_task, cfg = load_run(args.run)
    splits = load_images(args.data, args.root, args.image_size or cfg["image_size"])
    if splits.channels != cfg["in_channels"]:
        raise ValueError(f"--data has {splits.channels}-channel images but the run was trained on {cfg['in_channels']} channel(s)")
    scores = evaluate(task, random_task, splits, pool=args.pool, knn_k=args.knn_k)
    scores = {"task": cfg["task"], **scores}
    for key, value in scores.items():
        print(f"{key:20s} {value:.4f}" if isinstance(value, float) else f"{key:20s} {value}")
    if args.json:
        write_json_file(args.json, scores)
    return 0


def _register_picture(group) -> None:
    p = group.add_parser("picture", help="write a reconstruction / inpainting / colourisation picture of a run")
    p.add_argument("run", help="run folder")
    _add_data_arguments(p)
    p.add_argument("-o", "--output", required=True, help="PNG path")
    p.add_argument("--count", type=int, default=8, help="images per row (default 8)")
    p.set_defaults(func=_cmd_picture)


def _cmd_picture(args) -> int:
    from .data import load_images
    from .pictures import save_task_picture
    from .run import load_run

    task, _, cfg = load_run(args.run)
    splits = load_images(args.data, args.root, args.image_size or cfg["image_size"])
    images = splits.x_test[: args.count] if len(splits.x_test) else splits.x_train[: args.count]
    written = save_task_picture(task, images, args.output)
    if not written:
        raise ValueError(f"task {cfg['task']!r} has no reconstruction picture (dae, context-encoder and split-brain do)")
    print(f"wrote {written[0]}")
    return 0
