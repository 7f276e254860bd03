"""Run the safety example against the real model: start SmolLM2 on loopback, run the gates, stop it.

    python examples/safety/run.py [extra pytest arguments, e.g. --eval-tier=deep-dive]

SmolLM2-135M-Instruct is both the model under test and the judge (``live.toml``). Exits with
pytest's status. Without the model installed, run ``pytest`` in this folder instead: the
recorded variant (``pyproject.toml``) replays what the model said.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "local-llm"))

from serve import serve  # noqa: E402


def main() -> int:
    args = sys.argv[1:] or ["--eval-tier=full"]
    with serve() as base_url:
        print(f"SmolLM2-135M-Instruct is serving at {base_url}", flush=True)
        env = {**os.environ, "EVALGATE_LOCAL_LLM_URL": base_url}
        command = [sys.executable, "-m", "pytest", "--eval-config=live.toml", *args]
        return subprocess.run(command, cwd=HERE, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
