"""Cases and datasets: reading JSONL/CSV rows into cases with stable ids.

A case id must survive re-runs, re-orderings and unrelated edits of the dataset,
because pytest node ids, ``--lf``, the cache and baseline comparisons all key on it.
Rows with an ``id`` field keep it; other rows get a readable slug of their input plus a
hash of their content, so the id changes exactly when the case does.

A malformed row is an error naming ``file:line`` — never silently dropped, because a
dropped case silently changes what the gate measured.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalgate.config import DatasetConfig
from evalgate.errors import ConfigError, DatasetError
from evalgate.sources import project_file, text_lines
from evalgate.untrusted import one_line

Messages = tuple[tuple[str, str], ...]
"""Chat messages as ``((role, content), ...)``: hashable, so cases can be compared."""

_MISSING = object()
_ID_FORBIDDEN = re.compile(r"\s|::|\[|\]|[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""What a case id cannot hold: white space and control characters (a NUL byte is not text to a
database or a log), ``::`` and brackets (pytest's node id syntax)."""


@dataclass(frozen=True, slots=True)
class Case:
    """One eval case: what the model gets, what a correct answer looks like, where it came from."""

    id: str
    prompt: str | None
    """The prompt text, or None when the case is a chat (``messages``)."""
    messages: Messages | None
    """Chat messages, or None when the case is a plain prompt."""
    expected: Any
    tags: tuple[str, ...]
    source: str
    """``file:line`` of the row, for error messages."""
    variant: str | None = None
    """The robustness variant this is (``typo``, ...; :mod:`evalgate.variants`): the same
    case with a perturbed input. None for the case as written."""

    @property
    def input(self) -> str | list[dict[str, str]]:
        """The model input in the shape adapters and user functions expect."""
        if self.messages is not None:
            return [{"role": role, "content": content} for role, content in self.messages]
        assert self.prompt is not None
        return self.prompt

    def content_hash(self) -> str:
        """Hash of everything that defines the case (not its id or source)."""
        return _hash({"input": self.input, "expected": self.expected})


def load_cases(dataset: DatasetConfig, base: Path, allow_outside: bool = False, suite: Path | None = None) -> list[Case]:
    """Read every case of a dataset, in file order; raise DatasetError on the first bad row.
    ``suite`` is the suite file that names the dataset, for messages."""
    path = project_file(base, dataset.path, "dataset", allow_outside)
    fmt = dataset.format or _format_from_suffix(path)
    if path.is_dir():
        raise ConfigError(f"{suite or path}: dataset {dataset.path!r} is a folder, not a file; name the .jsonl or .csv "
                          "file in it", path=suite or path)
    if not path.is_file():
        named_in = f"{suite}: " if suite is not None else ""
        raise ConfigError(
            f"{named_in}dataset {dataset.path!r} not found (looked for {path}); fix 'dataset' in "
            f"{suite.name if suite is not None else 'the suite file'} (paths are relative to {base})",
            path=suite or path,
        )
    rows = _jsonl_rows(path) if fmt == "jsonl" else _csv_rows(path)
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for line, row in rows:
        case = _case_from_row(row, dataset, path, line)
        if case.id in seen:
            raise DatasetError(
                f"duplicate case id '{case.id}' (first at {seen[case.id]}); give rows distinct "
                f"ids or remove the duplicate",
                path=path,
                line=line,
            )
        seen[case.id] = case.source
        cases.append(case)
    if not cases:
        raise DatasetError("the dataset has no cases; add rows, or remove the suite", path=path)
    return cases


def get_field(row: dict[str, Any], dotted: str) -> Any:
    """``row["a"]["b"]`` for ``"a.b"``; a key containing the dot wins. Missing: _MISSING."""
    if dotted in row:
        return row[dotted]
    current: Any = row
    for part in dotted.split("."):
        if not isinstance(current, dict) or part not in current:
            return _MISSING
        current = current[part]
    return current


def is_missing(value: Any) -> bool:
    """True for the sentinel :func:`get_field` returns for an absent field."""
    return value is _MISSING


def _format_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise DatasetError(
        f"cannot tell the format from suffix '{suffix}'; name the file .jsonl or .csv, "
        f"or set format = \"jsonl\" or \"csv\" in [dataset]",
        path=path,
    )


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, text in text_lines(path):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as err:
            raise DatasetError(f"invalid JSON ({_json_problem(text, err)}); each line must be one JSON object", path=path, line=line) from None
        except (ValueError, RecursionError) as err:  # a number of > 4300 digits; arrays nested past the parser's depth
            problem = "nested too deeply" if isinstance(err, RecursionError) else one_line(str(err), limit=120)
            raise DatasetError(f"cannot read this JSON line ({problem}); each line must be one plain JSON object",
                               path=path, line=line) from None
        if not isinstance(row, dict):
            raise DatasetError(
                f"expected a JSON object, got {type(row).__name__}; each line must be one JSON object",
                path=path,
                line=line,
            )
        yield line, row


def _json_problem(text: str, err: json.JSONDecodeError) -> str:
    """What is wrong with a JSON line, and where. A string left open runs into the line's
    end, where JSON sees an "invalid control character": name the string's start instead."""
    message = err.msg.removesuffix(" at")
    if err.msg.startswith("Invalid control character") and text[err.pos : err.pos + 1] in ("\n", "\r"):
        start = _open_quote(text[: err.pos])
        if start is not None:
            return f"unterminated string starting at column {start + 1}"
    return f"{message} at column {err.colno}"


def _open_quote(text: str) -> int | None:
    """Index of the quote that opens a string still open at the end of ``text``."""
    opened: int | None = None
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and opened is not None:
            escaped = True
        elif char == '"':
            opened = index if opened is None else None
    return opened


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    # Decoded line by line (ends kept, so quoted cells may span lines): a bad byte is
    # reported with its line.
    reader = csv.DictReader(text for _, text in text_lines(path))
    for row in reader:
        # DictReader puts surplus cells under the key None.
        if None in row:
            raise DatasetError(
                "more cells than header columns; quote cells that contain commas",
                path=path,
                line=reader.line_num,
            )
        yield reader.line_num, {k: v for k, v in row.items() if v is not None}


def _case_from_row(row: dict[str, Any], dataset: DatasetConfig, path: Path, line: int) -> Case:
    def fail(message: str) -> DatasetError:
        return DatasetError(message, path=path, line=line)

    prompt = get_field(row, dataset.input_field)
    raw_messages = get_field(row, dataset.messages_field)
    messages: Messages | None = None
    if is_missing(prompt) or prompt is None:
        if is_missing(raw_messages):
            raise fail(
                f"row has no '{dataset.input_field}' (prompt) and no '{dataset.messages_field}' "
                f"(chat) field; add one, or set input_field / messages_field in [dataset] to the "
                f"names your file uses (fields here: {_field_names(row)})"
            )
        messages = _messages(raw_messages, dataset.messages_field, fail)
        prompt = None
    elif not isinstance(prompt, str):
        raise fail(f"field '{dataset.input_field}' must be text, got {type(prompt).__name__}")

    expected = get_field(row, dataset.expected_field)
    expected = None if is_missing(expected) else expected
    tags = _tags(get_field(row, dataset.tags_field), dataset.tags_field, fail)

    raw_id = get_field(row, dataset.id_field)
    if is_missing(raw_id) or raw_id in (None, ""):
        case_id = _generated_id(prompt, messages, expected)
    elif isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
        case_id = str(raw_id)
        if _ID_FORBIDDEN.search(case_id):
            raise fail(
                f"case id {case_id!r} contains white space, a control character, '::', '[' or ']', which "
                f"pytest ids cannot hold; rename it"
            )
    else:
        raise fail(f"field '{dataset.id_field}' must be text or an integer, got {raw_id!r}")

    return Case(
        id=case_id,
        prompt=prompt,
        messages=messages,
        expected=expected,
        tags=tags,
        source=f"{path}:{line}",
    )


def _field_names(row: dict[str, Any]) -> str:
    """A few of a row's field names, each cut short: enough to spot a misnamed field, never
    a quote of the file (a wrong path could point at anything)."""
    names = [one_line(str(name), 30) for name in sorted(row)[:8]]
    more = f", … ({len(row) - 8} more)" if len(row) > 8 else ""
    return (", ".join(names) or "none") + more


def _messages(raw: Any, field: str, fail: Any) -> Messages:
    if isinstance(raw, str):  # CSV cells hold JSON text
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise fail(f"field '{field}' must be a JSON list of messages") from None
    if not isinstance(raw, list) or not raw:
        raise fail(f"field '{field}' must be a non-empty list of {{\"role\", \"content\"}} objects")
    messages = []
    for index, message in enumerate(raw):
        if (
            not isinstance(message, dict)
            or not isinstance(message.get("role"), str)
            or not isinstance(message.get("content"), str)
        ):
            raise fail(
                f"{field}[{index}] must be an object with text 'role' and 'content', got {message!r}"
            )
        messages.append((message["role"], message["content"]))
    return tuple(messages)


def _tags(raw: Any, field: str, fail: Any) -> tuple[str, ...]:
    if is_missing(raw) or raw is None or raw == "":
        return ()
    if isinstance(raw, str):
        return tuple(tag.strip() for tag in raw.split(",") if tag.strip())
    if isinstance(raw, list) and all(isinstance(tag, str) for tag in raw):
        return tuple(raw)
    raise fail(f"field '{field}' must be a list of strings or a comma-separated string, got {raw!r}")


def _generated_id(prompt: str | None, messages: Messages | None, expected: Any) -> str:
    text = prompt if prompt is not None else (messages[-1][1] if messages else "")
    words = re.findall(r"[a-z0-9]+", text.lower())[:5]
    slug = "-".join(words)[:40].strip("-") or "case"
    payload = {"prompt": prompt, "messages": messages, "expected": expected}
    return f"{slug}-{_hash(payload)[:8]}"


def _hash(value: Any) -> str:
    encoded = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True)
class CaseText:
    """What a case asked and expected, as text for reviewers (results hold only outputs)."""

    input: str
    expected: str | None


def case_text(case: Case) -> CaseText:
    """A case's input as one text (a chat as ``role: content`` lines) and its expected value."""
    if case.messages is not None:
        asked = "\n".join(f"{role}: {content}" for role, content in case.messages)
    else:
        asked = case.prompt or ""
    expected = case.expected
    shown = None if expected is None else expected if isinstance(expected, str) else json.dumps(expected, ensure_ascii=False)
    return CaseText(asked, shown)
