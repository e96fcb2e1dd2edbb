"""``multissl vision ...`` commands: image pretext tasks.

  methods                        list the vision methods (`tasks`: the old spelling)
  train METHOD DATA -o RUN       train a method [method, backbone, optimiser and training flags]
  probe RUN DATA [--json F]      linear and kNN probes vs random init and raw pixels
  picture RUN DATA -o F.png      reconstruction / inpainting / colourisation picture
  finetune RUN DATA --labels F   fine-tune the encoder end to end on a labelled subset (+ linear probe, supervised baseline)
  efficiency RUN DATA            label-efficiency curve: linear / fine-tune / supervised at --fractions (table, JSON, picture)
  transfer RUN DATA [DATA ...]   linear probes of the run on several data sets vs random init and raw pixels

DATA is an ImageFolder root or a folder of images, a list file of image paths (and
labels), an .npz (x_train, y_train, x_test, y_test) or .npy of images, 'digits',
'skimage' or a torchvision name with --root. `--data DATA` still works (deprecated).
"""
from __future__ import annotations

import argparse
import sys

from multissl.cliutils import add_command_group, add_deprecated_command, add_recipe_arguments, recipe_overrides, write_json_file
from multissl.streamed import DATA_MODES

DATA_HELP = ("an ImageFolder root or a folder of images, a list file of image paths (and labels), an .npz with "
             "x_train/y_train/x_test/y_test or an .npy of images, 'digits', 'shapes' (generated), 'skimage', or a torchvision "
             "name (cifar10, stl10, ...) with --root")


def register(subparsers) -> None:
    group = add_command_group(subparsers, "vision", "image pretext tasks: reconstruction, proxy and contrastive methods", __doc__)
    _register_methods(group)
    add_deprecated_command(group, "tasks", "multissl vision methods", _register_methods)
    _register_train(group)
    _register_probe(group)
    _register_picture(group)
    from .label_cli import register_label_commands

    register_label_commands(group)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="?", default=None, help=DATA_HELP)
    parser.add_argument("--data", dest="data_flag", default=None, help="deprecated spelling of the DATA argument")
    parser.add_argument("--root", help="folder of a torchvision data set (nothing is downloaded)")
    parser.add_argument("--image-size", type=int, default=None,
                        help="the training side: images are resized to it, or crops of it are cut from the originals "
                             "(default: the images' side when they all have one square size, else 96, at most their median "
                             "short side)")
    parser.add_argument("--data-mode", choices=DATA_MODES, default="auto",
                        help="auto: hold the images in memory at the training side when they fit and are not much larger "
                             "than it, else decode them from disk in worker processes while training; memory; stream "
                             "(default: auto)")


def _data(args) -> str:
    """DATA from the positional argument or the deprecated ``--data`` flag."""
    if args.data_flag is not None:
        print("multissl: warning: `--data DATA` is deprecated; give DATA as a positional argument", file=sys.stderr)
        if args.data is not None and args.data != args.data_flag:
            raise ValueError(f"DATA given twice: {args.data!r} and --data {args.data_flag!r}")
        return args.data_flag
    if args.data is None:
        raise ValueError("DATA is missing: give an .npz, an ImageFolder root, 'digits', 'shapes', 'skimage' or a torchvision name")
    return args.data


def _register_methods(group, name: str = "methods", help_text: str = "list the vision methods"):
    parser = group.add_parser(name, help=help_text)
    parser.set_defaults(func=_cmd_tasks)
    return parser


def _cmd_tasks(args) -> int:
    from .registry import TASKS

    for name, spec in TASKS.items():
        print(f"{name:18s} {spec.summary}")
    return 0


def _register_train(group) -> None:
    from .registry import AUTO_SIZE, DEFAULT_PRESET, PRESETS, SIZE_RECIPES, TASKS
    from .training import recipe

    train = group.add_parser("train", help="train a method", description="Train METHOD on the train split of DATA.")
    methods = train.add_subparsers(title="methods", metavar="METHOD", dest="method")
    methods.required = True
    for name, spec in TASKS.items():
        p = methods.add_parser(name, help=spec.summary, description=spec.summary)
        _add_data_arguments(p)
        p.add_argument("-o", "--output", required=True, help="run folder (config.json, checkpoints, metrics.jsonl)")
        p.add_argument("--preset", choices=[*PRESETS, *SIZE_RECIPES, AUTO_SIZE], default=DEFAULT_PRESET,
                       help="compute-budget preset: cpu (the registry's recipes); 32px/64px/auto are the older spelling of "
                            "--size-recipe")
        p.add_argument("--size-recipe", choices=[AUTO_SIZE, *SIZE_RECIPES], default=AUTO_SIZE,
                       help="image-size recipe: auto (64px for images of 64 pixels or more, else 32px), 32px (CIFAR) or 64px "
                            "(Tiny-ImageNet: blur on, ImageNet photometric settings); flags you type override it")
        add_recipe_arguments(p, recipe(name), {"task": f"{name} options", "backbone": "backbone", "optim": "optimiser",
                                               "train": "training loop"}, preset_note=" (defaults shown: the 32px recipe)")
        p.add_argument("--backbone", dest="arch", default=argparse.SUPPRESS,
                       help="the trunk (same as --arch): resnet18 ..., torchvision:NAME (any torchvision classification "
                            "model, e.g. torchvision:resnet50, random initial weights) or timm:NAME")
        p.set_defaults(func=_cmd_train, task_name=name)


def recipe_from_args(args: argparse.Namespace, image_size: int = 32):
    """The recipe a parsed ``vision train METHOD`` command trains with on images of ``image_size`` pixels
    (the same call as the Python API)."""
    from .registry import AUTO_SIZE, size_recipe_for
    from .training import recipe

    preset, size_recipe = _preset_and_size_recipe(args)
    size_recipe = size_recipe_for(image_size) if size_recipe == AUTO_SIZE else size_recipe
    return recipe(args.task_name, preset=preset, size_recipe=size_recipe, **recipe_overrides(args, recipe(args.task_name)))


def _preset_and_size_recipe(args: argparse.Namespace):
    """(--preset, --size-recipe); an image-size name given to --preset (the older spelling) is the size recipe."""
    from .registry import PRESETS

    if args.preset in PRESETS:
        return args.preset, args.size_recipe
    print(f"multissl: warning: --preset {args.preset} is deprecated; use --size-recipe {args.preset}", file=sys.stderr)
    return None, args.preset


def _cmd_train(args) -> int:
    from .training import recipe, train

    overrides = recipe_overrides(args, recipe(args.task_name))
    preset, size_recipe = _preset_and_size_recipe(args)
    run = train(_data(args), args.output, args.task_name, preset=preset, root=args.root, image_size=args.image_size,
                size_recipe=size_recipe, data_mode=args.data_mode, **overrides)
    result = run.result
    print(f"trained {args.task_name} ({run.config.get('size_recipe', '32px')} recipe) for {result.step} steps ({result.stop_reason}, "
          f"{result.elapsed_s:.0f} s); run folder: {args.output}")
    return 0


def _register_probe(group) -> None:
    p = group.add_parser("probe", help="linear-probe and kNN accuracy of a run, vs random init and raw pixels")
    p.add_argument("run", help="run folder written by `multissl vision train`")
    _add_data_arguments(p)
    p.add_argument("--pool", type=int, default=1, help="average-pool the last feature map to pool x pool before probing (default 1)")
    p.add_argument("--knn-k", type=int, default=20, help="neighbours of the kNN classifier (default 20)")
    p.add_argument("--pixels", action=argparse.BooleanOptionalAction, default=True,
                   help="also probe raw pixels (default: yes; --no-pixels skips it: on 10,000 64-px images of 200 "
                        "classes that linear probe takes minutes)")
    p.add_argument("--json", help="also write the scores to this JSON file")
    p.set_defaults(func=_cmd_probe)


def _load_for_run(run, args):
    """DATA as the run's network takes it (its training side unless --image-size, its channels), held in memory or
    streamed (--data-mode); says so on stderr."""
    from .run import open_for_run
    from .training import describe_images

    images = open_for_run(run, _data(args), args.root, args.image_size, args.data_mode)
    side = run.config.get("image_size")
    size_note = "the run's training size" if images.image_size == (side, side) else f"the run was trained on {side}x{side}"
    print(f"data {describe_images(images)}; {size_note}", file=sys.stderr, flush=True)
    return images


def _cmd_probe(args) -> int:
    from .probe import evaluate
    from .run import load_run

    run = load_run(args.run)
    splits = _load_for_run(run, args)
    scores = evaluate(run.model, run.initial, splits, pool=args.pool, knn_k=args.knn_k, pixels=args.pixels, verbose=True)
    scores = {"task": run.method, **scores}
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
    from .pictures import save_task_picture
    from .probe import first_images
    from .run import load_run

    run = load_run(args.run)
    task = run.model
    data = _load_for_run(run, args)
    written = save_task_picture(task, first_images(data, args.count), args.output)
    if not written:
        raise ValueError(f"method {run.method!r} has no reconstruction picture (dae, context-encoder and split-brain do)")
    print(f"wrote {written[0]}")
    return 0
