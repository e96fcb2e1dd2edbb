"""Train CPC on a LibriSpeech-layout folder and probe what it learned.

    python examples/audio/train_cpc_librispeech.py PATH/TO/LibriSpeech/train-clean-100 runs/cpc --minutes 30
    python examples/audio/train_cpc_librispeech.py ../shared/data/librispeech-sample runs/cpc-sample --minutes 1
    python examples/audio/train_cpc_librispeech.py --smoke   # seconds: a tiny CPC on 4 synthetic speakers

The folder must hold ``speaker/chapter/speaker-chapter-utt.flac`` files (get
LibriSpeech from openslr.org/12 yourself; nothing is downloaded here). A
quarter of each speaker's utterances is held out of training; the probes then
test on exactly those (window- and utterance-level speaker accuracy, NMI, and
phone accuracy when ``phone_labels.txt`` is present), side by side with MFCC
and the randomly initialised network.
"""
import argparse
import json
import tempfile
from pathlib import Path

from multissl.audio import (AudioFolder, ProbeConfig, ProbeData, compare, cpc_extractor, load_run, mfcc_extractor, recipe,
                            synthesize_corpus, train)

# --smoke: a tiny CPC trained for 2 steps on 4 espeak-ng speakers x 4 utterances, in a temporary folder
SMOKE = dict(steps=2, batch_size=4, encoder_channels=8, context_dim=8, window=2048, num_negatives=4, prediction_steps=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", help="a LibriSpeech-layout folder (with --smoke: a synthetic corpus)")
    parser.add_argument("run", nargs="?", help="the run folder to write (with --smoke: a temporary folder)")
    parser.add_argument("--preset", default="cpu", choices=["cpu", "paper"])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--smoke", action="store_true", help="a tiny CPC, 2 steps on 4 synthetic speakers (a quick check)")
    args = parser.parse_args()
    if args.smoke:
        scratch = Path(tempfile.mkdtemp(prefix="multissl-example-"))
        args.run = args.run or str(scratch / "run")
        if args.data is None:
            args.data = str(scratch / "corpus")
            synthesize_corpus(args.data, num_speakers=4, utterances_per_speaker=4, seed=0)
    elif args.data is None or args.run is None:
        parser.error("DATA and RUN are required (unless --smoke)")

    smoke = SMOKE if args.smoke else {"steps": None}
    settings = recipe(preset=args.preset, max_minutes=args.minutes, **smoke)
    folder = AudioFolder(args.data, settings.model.sample_rate, verbose=True)
    print(folder)
    run = train(args.data, args.run, preset=args.preset, folder=folder, max_minutes=args.minutes, overwrite=True, **smoke)
    print(f"trained {run.result.step} steps ({run.result.stop_reason})")

    run = load_run(args.run)
    trained, initial, options = run.model, run.initial, settings.options
    data = ProbeData.build(folder, ProbeConfig(holdout=options.holdout, split_seed=options.split_seed))
    results = compare({"cpc": cpc_extractor(trained), "mfcc": mfcc_extractor(), "random": cpc_extractor(initial)}, data, verbose=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
