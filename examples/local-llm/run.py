"""Run the local-LLM example end to end: start SmolLM2 on loopback, run the gates, stop it.

    python examples/local-llm/run.py [extra pytest arguments]

Exits with pytest's status (0 when every gate passes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from serve import serve  # noqa: E402


def main() -> int:
    with serve() as base_url:
        print(f"SmolLM2-135M-Instruct is serving at {base_url}", flush=True)
        env = {**os.environ, "EVALGATE_LOCAL_LLM_URL": base_url}
        command = [sys.executable, "-m", "pytest", "--eval-tier=full", *sys.argv[1:]]
        return subprocess.run(command, cwd=HERE, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
