"""Send digits to a running ``servekit serve`` (the README's drift walk-through).

    python scripts/send_digits.py held-out|noisy|bright|inverted [--rows 400] [--url URL]

Held-out: rows of the digits training split (the reference profile holds the test split, so
these are unseen rows from the same distribution); the others shift them. Prints the last
answer's prediction_id once ``make run`` has written the captures of these requests (every
``LOCAL_FLUSH_SECONDS``), so a ``servekit drift report`` run next sees them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.training import load_split
from servekit_cli.local.monitoring import LOCAL_FLUSH_SECONDS

SHIFTS = {
    "held-out": lambda x, rng: x,
    "noisy": lambda x, rng: np.clip(x + rng.normal(0.0, 2.0, x.shape), 0, 16),
    "bright": lambda x, rng: np.clip(x * 1.25, 0, 16),
    "inverted": lambda x, rng: 16.0 - x,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shift", choices=sorted(SHIFTS))
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--model", default="digits-logreg")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    rows = SHIFTS[args.shift](load_split().x_train[: args.rows], np.random.default_rng(0))
    answer: dict[str, str] = {}
    for start in range(0, len(rows), 10):
        body = json.dumps({"model": args.model, "inputs": rows[start : start + 10].tolist()})
        request = urllib.request.Request(
            f"{args.url}/predict", body.encode(), {"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
    time.sleep(int(LOCAL_FLUSH_SECONDS) + 1)  # the capture thread's next write, and a margin
    print(f"sent {len(rows)} {args.shift} rows; last prediction_id {answer['prediction_id']}")


if __name__ == "__main__":
    main()
