"""Data at users' scale: time to the first step, memory and throughput as the data set grows, per modality.

Each section generates its own data (or reads ../shared/data) and checks its targets:

- vision: folders of 2,000 and 50,000 JPEGs (mixed sizes around 256-400 px) trained with
  ``multissl vision train simclr FOLDER -o RUN --image-size 96 --steps 30``: time to the first
  step, peak memory, steady images/s against a plain torchvision pipeline on the same cores;
- audio: 20 and 400 generated utterances of 30 s: time to the first step and peak memory;
- video: time to the first step on ../shared/data/natural-video, against the library before streaming;
- vision_quality: SimCLR on Tiny-ImageNet at 64 px, streamed vs in memory at equal steps (linear probe);
- probes: a linear probe and kNN on 200,000 x 512 features, memory beyond the features.

    python benchmarks/data_scale.py                  # every section (about an hour on 2 cores)
    python benchmarks/data_scale.py --only vision    # one or more sections

Writes benchmarks/results/data_scale.json (or data_scale_<sections>.json) and prints a markdown table.
Run it alone: the timings are only comparable on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, machine, markdown_table  # noqa: E402

SECTIONS = ("vision", "vision_quality", "audio", "video", "probes")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--work", default=None, help="folder for generated data and runs (default: a temporary folder)")
    parser.add_argument("--baseline", default=None, help="python of an install of the library before streaming "
                                                         "(the video section's reference; skipped without it)")
    args = parser.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="multissl-scale-")).resolve()  # commands run in their run folders' parents
    work.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "sections": {}}
    for name in args.only:
        module = importlib.import_module(f"benchmarks.scale.{name}")
        section = module.run(args, work / name)
        results["sections"][name] = asdict(section)
        print(f"\n## {name}\n\n" + markdown_table(section.rows, list(section.rows[0])) if section.rows else "", flush=True)
    targets = [t for s in results["sections"].values() for t in s["targets"]]
    print("\n## targets\n\n" + markdown_table(targets, ["section", "name", "value", "target", "met"]))
    suffix = "" if set(args.only) == set(SECTIONS) else "_" + "_".join(args.only)
    out = RESULTS / f"data_scale{suffix}.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwritten {out}")
    return results


if __name__ == "__main__":
    main()
