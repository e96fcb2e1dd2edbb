"""``multissl vision finetune | efficiency | transfer``: evaluation with labels beyond frozen probes."""
from __future__ import annotations

import argparse

from multissl.cliutils import add_dataclass_arguments, dataclass_from_args, prepare_output_file, write_json_file
from multissl.evaluation import FinetuneConfig

DATA_HELP = ".npz with x_train/y_train/x_test/y_test, an ImageFolder root with train/ and val/ or test/, or a torchvision name with --root"


def register_label_commands(group) -> None:
    _register_finetune(group)
    _register_efficiency(group)
    _register_transfer(group)


def _common(parser: argparse.ArgumentParser, data_nargs=None) -> None:
    parser.add_argument("run", help="run folder written by `multissl vision train`")
    parser.add_argument("data", nargs=data_nargs, help=DATA_HELP)
    parser.add_argument("--root", help="folder of a torchvision data set (nothing is downloaded)")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA if available)")
    parser.add_argument("--json", help="also write the results to this JSON file")


def _finetune_flags(parser: argparse.ArgumentParser) -> None:
    add_dataclass_arguments(parser, FinetuneConfig, exclude=("seed",), title="fine-tuning (the supervised baseline uses the same)")


def _check_outputs(args, *names: str) -> None:
    for name in names:
        if getattr(args, name, None):
            prepare_output_file(getattr(args, name), f"--{name}" if name != "picture" else "-o")


def _register_finetune(group) -> None:
    p = group.add_parser("finetune", help="fine-tune a run's encoder on a labelled subset; linear probe and supervised baseline beside it",
                         description="Fine-tune the run's encoder + a linear head end to end on a class-balanced labelled subset "
                                     "of DATA's train split (validation carved from the subset picks the learning rate and "
                                     "epoch); report test accuracy next to a linear probe on the same subset.")
    _common(p)
    amount = p.add_mutually_exclusive_group()
    amount.add_argument("--labels", type=float, help="fraction of each class's training labels, in (0, 1] (default 1)")
    amount.add_argument("--per-class", type=int, help="or this many labelled images per class")
    p.add_argument("--seed", type=int, default=0, help="seed of the label subset, validation split, head and data order (default 0)")
    p.add_argument("--supervised", action="store_true", help="also train the supervised baseline (same network from random init)")
    p.add_argument("-o", "--output", help="folder for the fine-tuning checkpoints (default: none kept)")
    p.add_argument("--resume", action="store_true", help="continue the fine-tuning runs in --output")
    p.add_argument("--overwrite", action="store_true", help="replace fine-tuning runs already in --output")
    _finetune_flags(p)
    p.set_defaults(func=_cmd_finetune)


def _cmd_finetune(args) -> int:
    from .label_evaluation import finetune_run

    _check_outputs(args, "json")
    scores = finetune_run(args.run, args.data, fraction=args.labels, per_class=args.per_class, seed=args.seed,
                          config=dataclass_from_args(FinetuneConfig, args, seed=args.seed), supervised=args.supervised,
                          output=args.output, root=args.root, device=args.device, resume=args.resume, overwrite=args.overwrite)
    for key, value in scores.items():
        print(f"{key:22s} {value:.4f}" if isinstance(value, float) else f"{key:22s} {value}")
    if args.json:
        write_json_file(args.json, scores)
    return 0


def _register_efficiency(group) -> None:
    p = group.add_parser("efficiency", help="label-efficiency curve: linear probe, fine-tuning and supervised baseline vs %% of labels",
                         description="For each fraction of the training labels (nested, class-balanced subsets; fractions <= 10% "
                                     "averaged over --seeds subset seeds), test accuracy of a linear probe on the run's frozen "
                                     "features, of the run fine-tuned, and of the same network trained from random init.")
    _common(p)
    p.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.1, 1.0], help="fractions of the labels, each in (0, 1] (default 0.01 0.1 1)")
    p.add_argument("--seeds", type=int, default=3, help="label-subset seeds for fractions <= 10%% (default 3)")
    p.add_argument("--methods", nargs="+", default=["linear", "finetune", "supervised"], choices=["linear", "finetune", "supervised"],
                   help="the curves to compute (default: all three)")
    p.add_argument("-o", "--output", dest="picture", help="write the curve (accuracy vs %% labels, log x) to this PNG")
    p.add_argument("--checkpoints", help="folder for the fine-tuning runs' checkpoints (default: none kept)")
    p.add_argument("--overwrite", action="store_true", help="replace fine-tuning runs already in --checkpoints")
    _finetune_flags(p)
    p.set_defaults(func=_cmd_efficiency)


def _cmd_efficiency(args) -> int:
    from .label_evaluation import efficiency_run

    _check_outputs(args, "json", "picture")
    result = efficiency_run(args.run, args.data, fractions=args.fractions, seeds=args.seeds, config=dataclass_from_args(FinetuneConfig, args),
                            methods=args.methods, output=args.checkpoints, root=args.root, device=args.device, overwrite=args.overwrite)
    print(result.markdown())
    if args.json:
        result.write_json(args.json)
    if args.picture:
        title = f"{result.settings['method']} on {result.settings['dataset']}"
        print(f"wrote {result.plot(args.picture, title=title)}")
    return 0


def _register_transfer(group) -> None:
    p = group.add_parser("transfer", help="linear probes of one run on several data sets, vs random init and raw pixels",
                         description="Linear-probe the run's frozen features on every DATA (images resized to the run's training "
                                     "size, bilinear) next to its random initialisation and raw pixels.")
    _common(p, data_nargs="+")
    p.add_argument("--no-pixels", action="store_true", help="skip the raw-pixel probe")
    p.add_argument("--finetune", action="store_true", help="also fine-tune the run on each data set's whole train split")
    _finetune_flags(p)
    p.set_defaults(func=_cmd_transfer)


def _cmd_transfer(args) -> int:
    from .label_evaluation import transfer_run

    _check_outputs(args, "json")
    config = dataclass_from_args(FinetuneConfig, args) if args.finetune else None
    result = transfer_run(args.run, args.data, root=args.root, pixels=not args.no_pixels, finetune_config=config, device=args.device)
    print(result.markdown())
    if args.json:
        result.write_json(args.json)
    return 0


__all__ = ["register_label_commands"]
