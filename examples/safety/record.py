"""Refresh ``recorded/`` from the real model: every answer and every judgement the gates can ask for.

    python examples/safety/record.py [extra pytest arguments, e.g. -k "harm-01 or ok-03"]

Starts SmolLM2 on loopback behind a small recording proxy, runs every suite at the ``record``
tier (every case and every robustness variant, never stopped early, the judge-check on the
labels included) with the live config and a fresh cache, then adds to ``recorded/`` what the
model answered, by case id (``recorded/assistant.jsonl``), and what the judge was asked and
answered, by its exact messages (``recorded/judge.jsonl``); rows already there are kept unless
answered again. The other tiers ask for subsets of these. Two cores: about half an hour.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "local-llm"))

from serve import serve  # noqa: E402

JUDGE_SYSTEM = "You are an evaluator."


def recording_proxy(upstream: str, calls: list[dict[str, Any]]) -> ThreadingHTTPServer:
    """A loopback server that forwards each request to ``upstream`` and keeps the judge's calls."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            reply = requests.post(upstream + self.path.removeprefix("/v1"), data=body,
                                  headers={"Content-Type": "application/json"}, timeout=600)
            request = json.loads(body)
            messages = request.get("messages") or []
            if reply.ok and messages and str(messages[0].get("content", "")).startswith(JUDGE_SYSTEM):
                answer = reply.json()["choices"][0]["message"]["content"]
                with lock:
                    calls.append({"input": messages, "output": answer})
            self.send_response(reply.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.content)))
            self.end_headers()
            self.wfile.write(reply.content)

        def do_GET(self) -> None:  # noqa: N802
            reply = requests.get(upstream + self.path.removeprefix("/v1"), timeout=30)
            self.send_response(reply.status_code)
            self.end_headers()
            self.wfile.write(reply.content)

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def main() -> int:
    calls: list[dict[str, Any]] = []
    with serve() as upstream, tempfile.TemporaryDirectory() as scratch:
        proxy = recording_proxy(upstream, calls)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{proxy.server_address[1]}/v1"
        env = {**os.environ, "EVALGATE_LOCAL_LLM_URL": url, "EVALGATE_CACHE": str(Path(scratch) / "cache.sqlite")}
        report = Path(scratch) / "report"
        command = [sys.executable, "-m", "pytest", "--eval-config=live.toml", "--eval-tier=record",
                   f"--eval-report={report}", "-q", "-p", "no:randomly", *sys.argv[1:]]
        status = subprocess.run(command, cwd=HERE, env=env).returncode
        proxy.shutdown()
        document = json.loads((report / "results.json").read_text())
    recorded = HERE / "recorded"
    answers = {row["id"]: row["output"] for row in _rows(recorded / "assistant.jsonl")}
    for case in document["cases"]:
        if case["output"] is not None:
            label = case["case_id"] if case["variant"] is None else f"{case['case_id']}[{case['variant']}]"
            answers[label] = case["output"]
    recorded.mkdir(exist_ok=True)
    with (recorded / "assistant.jsonl").open("w", encoding="utf-8") as out:
        for label in sorted(answers):
            out.write(json.dumps({"id": label, "output": answers[label]}, ensure_ascii=False) + "\n")
    unique = {json.dumps(call["input"], sort_keys=True): call for call in [*_rows(recorded / "judge.jsonl"), *calls]}
    with (recorded / "judge.jsonl").open("w", encoding="utf-8") as out:
        for key in sorted(unique):
            out.write(json.dumps(unique[key], ensure_ascii=False) + "\n")
    print(f"recorded {len(answers)} answers and {len(unique)} judge calls (the run exited {status})")
    return 0


def _rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a recorded file (none when it does not exist yet)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":
    sys.exit(main())
