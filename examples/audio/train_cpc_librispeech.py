"""Train CPC on a LibriSpeech-layout folder and probe what it learned.

    python examples/audio/train_cpc_librispeech.py PATH/TO/LibriSpeech/train-clean-100 runs/cpc --minutes 30
    python examples/audio/train_cpc_librispeech.py ../shared/data/librispeech-sample runs/cpc-sample --minutes 1

The folder must hold ``speaker/chapter/speaker-chapter-utt.flac`` files (get
LibriSpeech from openslr.org/12 yourself; nothing is downloaded here). A
quarter of each speaker's utterances is held out of training; the probes then
test on exactly those (window- and utterance-level speaker accuracy, NMI, and
phone accuracy when ``phone_labels.txt`` is present), side by side with MFCC
and the randomly initialised network.
"""
import argparse
import json

from multissl.audio import AudioFolder, ProbeConfig, ProbeData, compare, cpc_extractor, load_run, mfcc_extractor, recipe, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data")
    parser.add_argument("run")
    parser.add_argument("--preset", default="cpu", choices=["cpu", "paper"])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()

    settings = recipe(preset=args.preset, max_minutes=args.minutes, steps=None)
    folder = AudioFolder(args.data, settings.model.sample_rate, verbose=True)
    print(folder)
    run = train(args.data, args.run, preset=args.preset, folder=folder, max_minutes=args.minutes, steps=None, overwrite=True)
    print(f"trained {run.result.step} steps ({run.result.stop_reason})")

    run = load_run(args.run)
    trained, initial, options = run.model, run.initial, settings.options
    data = ProbeData.build(folder, ProbeConfig(holdout=options.holdout, split_seed=options.split_seed))
    results = compare({"cpc": cpc_extractor(trained), "mfcc": mfcc_extractor(), "random": cpc_extractor(initial)}, data, verbose=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
