"""The ``command`` adapter: a program is the model.

For models behind a CLI or a script in another language. Each case runs the program
once, with ``{"id", "input", "tags"}`` as JSON on stdin (never the expected value); its
stdout is the output. A non-zero exit or a timeout is this case's error, quoting the end
of stderr.
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from evalgate.cases import Case
from evalgate.config import CommandModelConfig
from evalgate.errors import ConfigError, ModelError
from evalgate.models.base import ModelAdapter, ModelOutput
from evalgate.sources import file_digest

_EXCERPT = 300


class CommandModel(ModelAdapter[CommandModelConfig]):
    """Runs ``command`` per case in the project directory."""

    kind = "command"
    leaves_process = True
    waits_elsewhere = True

    def __init__(self, config: CommandModelConfig, project_dir: Path) -> None:
        super().__init__(config, project_dir)
        self.argv = shlex.split(config.command) if isinstance(config.command, str) else list(config.command)
        if not self.argv:
            raise ConfigError("model 'command' is empty; give the program to run, e.g. command = [\"python\", \"model.py\"]")
        watch_termination()

    @property
    def deterministic(self) -> bool:
        return self.config.deterministic

    def dependencies(self) -> list[Path]:
        """Files of the project named on the command line (a script): the program's own
        reads cannot be seen — declare them as ``components``."""
        return [self.project_dir / arg for arg in self.argv if (self.project_dir / arg).is_file()]

    def fingerprint(self) -> dict[str, Any]:
        # Arguments that are files of the project (a script) contribute their content.
        files = {
            arg: file_digest(self.project_dir / arg) for arg in self.argv if (self.project_dir / arg).is_file()
        }
        return {"kind": self.kind, "command": self.argv, "files": files}

    def generate(self, case: Case) -> ModelOutput:
        payload = json.dumps({"id": case.id, "input": case.input, "tags": list(case.tags)}, ensure_ascii=False)
        try:
            # Its own process group: on a timeout (or when evalgate exits) the whole group is
            # killed — a shell script's children included, not just the shell.
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=self.project_dir,
                start_new_session=True,
            )
        except OSError as err:
            raise ModelError(f"cannot run {self.argv[0]}: {err.strerror}", kind="exception") from None
        _RUNNING.add(process.pid)
        try:
            stdout, stderr = process.communicate(payload, timeout=self.config.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            _drain(process)
            raise ModelError(
                f"{self.argv[0]} did not finish within {self.config.timeout:g} s (killed with its children); raise 'timeout'",
                kind="timeout",
            ) from None
        finally:
            _RUNNING.discard(process.pid)
        _kill_group(process.pid)  # anything it left running in the background
        if process.returncode != 0:
            tail = stderr.strip()[-_EXCERPT:]
            raise ModelError(f"{self.argv[0]} exited with {process.returncode}: {json.dumps(tail)}", kind="exit")
        return ModelOutput(text=stdout.rstrip("\n"))


_RUNNING: set[int] = set()
"""Process groups of commands still running, killed if evalgate exits first (Ctrl-C, -x, SIGTERM)."""


def _drain(process: subprocess.Popen[str]) -> None:
    """Collect a killed command's pipes. A process it started in a session of its own (out of
    reach of the group kill) may still hold them open: those holders are found by the pipe
    they hold and killed too, so nothing it started outlives the timeout."""
    try:
        process.communicate(timeout=2)
        return
    except subprocess.TimeoutExpired:
        pass
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            for pid in _pipe_holders(stream.fileno()):
                _kill_group(pid)
                _kill(pid)
    try:
        process.communicate(timeout=2)
    except subprocess.TimeoutExpired:  # nothing left to kill that we can see: stop reading
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        process.wait()


def _pipe_holders(fd: int) -> list[int]:
    """Processes holding the other end of the pipe ``fd`` reads (Linux's /proc; none elsewhere)."""
    try:
        target = f"pipe:[{os.fstat(fd).st_ino}]"
        pids = [entry for entry in os.listdir("/proc") if entry.isdigit() and int(entry) != os.getpid()]
    except OSError:
        return []
    found = []
    for pid in pids:
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{handle}") == target for handle in os.listdir(f"/proc/{pid}/fd")):
                found.append(int(pid))
        except OSError:
            continue
    return found


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # already gone


@atexit.register
def _kill_running() -> None:
    for pid in list(_RUNNING):
        _kill_group(pid)


def _on_terminate(previous: Any) -> Any:
    def handler(signum: int, frame: Any) -> None:
        _kill_running()
        if callable(previous):
            previous(signum, frame)
            return
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        os.kill(os.getpid(), signum)  # what SIGTERM would have done, now that no command outlives it

    return handler


def watch_termination() -> None:
    """Kill the running commands' process groups when evalgate is terminated (SIGTERM: a CI
    job cancelled, a timeout): atexit does not run then. Installed once, from the main thread
    (where signal handlers live), chaining any handler already there."""
    global _WATCHING
    if _WATCHING or threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, _on_terminate(signal.getsignal(signal.SIGTERM)))
    _WATCHING = True


_WATCHING = False
