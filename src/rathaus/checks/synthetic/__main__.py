"""python -m rathaus.checks.synthetic samples [DIR] | generate DIR [--clean N] [--defective N] [--seed S]
[--degradation LEVEL]"""

from __future__ import annotations

import argparse
from pathlib import Path

from rathaus.checks.synthetic import LEVELS, generate, write_samples

SAMPLES_DIR = Path(__file__).resolve().parent.parent.parent / "samples" / "checks"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rathaus.checks.synthetic",
                                     description="Synthetische Antragspakete (MUSTER) erzeugen")
    commands = parser.add_subparsers(dest="command", required=True)
    samples = commands.add_parser("samples", help="die mitgelieferten Musterpakete neu erzeugen")
    samples.add_argument("dir", nargs="?", type=Path, default=SAMPLES_DIR)
    gen = commands.add_parser("generate", help="ein Test-Set mit manifest.json erzeugen")
    gen.add_argument("dir", type=Path)
    gen.add_argument("--clean", type=int, default=6)
    gen.add_argument("--defective", type=int, default=10)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--degradation", choices=LEVELS, default="moderate")
    args = parser.parse_args(argv)
    if args.command == "samples":
        for folder in write_samples(args.dir):
            size = sum(path.stat().st_size for path in folder.iterdir())
            print(f"{folder}: {len(list(folder.iterdir()))} Dateien, {size / 1024:.0f} KB")
        return 0
    manifest = generate(args.dir, args.clean, args.defective, args.seed, args.degradation)
    print(f"{args.dir}: {len(manifest['packets'])} Pakete")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
