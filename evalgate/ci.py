"""CI plumbing: files a CI runner names in environment variables, and escaping for the
lines it parses as commands.

Kept below every stage (the plan writes ``$GITHUB_OUTPUT``, the reports write the step
summary and annotations), so none of them has to import another's module for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from evalgate.errors import EvalgateError
from evalgate.untrusted import one_line


def escape_data(text: str) -> str:
    """Escape a workflow command's message (GitHub's rules for ``%``, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value (also ``:`` and ``,``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def append_to(env: Mapping[str, str], variable: str, text: str) -> Path:
    """Append ``text`` to the file named by the environment variable ``variable``."""
    target = env.get(variable)
    if not target:
        raise EvalgateError(f"{variable} is not set: this runs inside a GitHub Actions step")
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return path


def write_outputs(env: Mapping[str, str], values: Mapping[str, str]) -> Path:
    """Append ``name=value`` lines to ``$GITHUB_OUTPUT``."""
    # A value with a line break would write a second output of the writer's choosing.
    return append_to(env, "GITHUB_OUTPUT", "".join(f"{name}={one_line(value)}\n" for name, value in values.items()))
