"""Run every benchmark in turn; each writes its numbers to bench/results/<name>.json.

    python bench/run.py            # all
    python bench/run.py plan cache # some
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALL = ("startup", "plan", "cache", "throughput", "overhead", "verdicts", "scale", "conformance", "impact", "wire", "control", "slices", "store", "judge")


def main() -> int:
    chosen = sys.argv[1:] or [name for name in ALL if (HERE / f"{name}.py").exists()]
    for name in chosen:
        print(f"== {name}", flush=True)
        status = subprocess.run([sys.executable, str(HERE / f"{name}.py")]).returncode
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
