"""Untrusted text stays data: model output, server error bodies, exception messages and
file names, escaped for each place they are shown.

Where it goes, and what could go wrong there:

- **a log line** (the terminal, pytest's output, a CI log): GitHub's runner reads every line
  of a step's output for workflow commands — ``::cmd::`` at the start of a line (after
  leading spaces), and the legacy ``##[cmd]`` *anywhere* in it, ``##[stop-commands]``
  included (actions/runner, ``ActionCommand.TryParseV2`` / ``TryParse``). :func:`one_line`
  keeps untrusted text on the line it was put on (line breaks and other control characters
  become visible escapes) and breaks up ``##[``; :func:`log_line` also keeps a line from
  starting with ``::``.
- **markdown** (summary.md, the step summary, PR comments): :func:`code_span` shows text
  literally, fenced with more backticks than it contains (``|`` escaped in table cells);
  :func:`markdown_text` for prose (HTML-escaped, markup characters escaped).
- **HTML**: :func:`html_text`.

Workflow-command *messages* (annotations) have their own escaping in :mod:`evalgate.ci`.
"""

from __future__ import annotations

import html
import re

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\x1b": "\\e", "\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\x85"}
_LEGACY_COMMAND = "##["
_WORD_JOINER = "\u2060"
"""Invisible; placed inside ``##[`` so the runner's legacy parser no longer sees it."""
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
"""What can start markup in the middle of a line: code, emphasis, links and images (``[``),
table cells, strikethrough. HTML (``<``, ``&``) is escaped separately; the text never starts
a line, so list and heading markers stay as they are."""


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` on one line: CR, LF and other control characters shown as escapes (``\\n``),
    tabs as spaces, ``##[`` broken up; cut to ``limit`` characters with ``…``."""
    text = text.replace("\t", " ")
    text = _CONTROL.sub(lambda match: _NAMED.get(match.group(0), f"\\x{ord(match.group(0)):02x}"), text)
    text = text.replace(_LEGACY_COMMAND, "#" + _WORD_JOINER + "#[")
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


def log_line(text: str) -> str:
    """A whole line for a log: :func:`one_line`, and never starting with ``::`` (which
    the runner would take for a command)."""
    line = one_line(text)
    return " " + line.replace("::", ":" + _WORD_JOINER + ":", 1) if line.lstrip().startswith("::") else line


def code_span(text: str, limit: int | None = 200, table: bool = False) -> str:
    """Markdown that shows ``text`` literally, on one line: a code span fenced with one
    backtick more than the longest run inside it. Nothing inside a code span is markup —
    neither markdown nor HTML, and entities are not decoded, so nothing is escaped but the
    table-cell separator ``|`` when the span sits in a ``table`` cell (GFM reads ``\\|`` there
    as a literal pipe)."""
    flat = one_line(text, limit)
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {flat} " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else flat
    return fence + (padded.replace("|", "\\|") if table else padded) + fence


def markdown_text(text: str, limit: int | None = 300) -> str:
    """Prose from an untrusted source for markdown, placed after other text on a line: one
    line, HTML-escaped, every character that could start markup escaped (no emphasis, code,
    links, images or table cells), and no ``@mention`` or ``#123`` reference (a word joiner
    after ``@`` and ``#``: GitHub notifies nobody, links nothing, and the text reads the same)."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(one_line(text, limit), quote=False))
    return escaped.replace("@", "@" + _WORD_JOINER).replace("#", "#" + _WORD_JOINER)


def html_text(text: str) -> str:
    """Text for HTML element content or attribute values."""
    return html.escape(text, quote=True)
