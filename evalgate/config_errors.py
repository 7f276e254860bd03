"""One-line messages for invalid config: the file (and line), the key, what is wrong, the fix.

pydantic reports every problem with a location path; a person fixing a TOML file wants the
first problem, in the words of the file: ``tiers/smoke.toml:1: unknown key 'sampel'; remove it
or fix its name (did you mean 'sample'?)``. tomllib keeps no positions, so the line is found
by looking for the key in the file, when it appears exactly once.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError


def format_validation_error(
    err: ValidationError, model: type[BaseModel], path: Path, prefix: str = ""
) -> str:
    """One line for the first problem: ``file[:line]: key 'a.b': what is wrong; how to fix``."""
    errors = err.errors()
    # For ``str | table`` fields pydantic reports both branches; the table branch is
    # the one the user meant when they wrote a table.
    meant = [e for e in errors if "str" not in e["loc"]] or errors
    first = meant[0]
    loc = [part for part in first["loc"] if not _is_union_tag(part)]
    key = prefix + ".".join(str(part) for part in loc)
    line = _line_of_key(path, str(loc[-1])) if loc else None
    where = f"{path}:{line}" if line else str(path)
    more = f" (and {len(meant) - 1} more problem(s))" if len(meant) > 1 else ""
    kind = first["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else f"allowed keys: {', '.join(allowed)}"
        return f"{where}: unknown key '{key}'; remove it or fix its name ({hint}){more}"
    if kind == "missing":
        return f"{where}: missing required key '{key}'; add it{_describe(model, loc)}{more}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        kinds = ", ".join(repr(tag) for tag in _union_kinds().get(str(loc[-1]), ()))
        return f"{where}: key '{key}.kind' must be one of {kinds}; set it to one of them{more}"
    message = first["msg"].removeprefix("Value error, ")
    if not loc:
        return f"{where}: {message}; fix the file{more}"
    value = first.get("input")
    shown = f" (got {value!r})" if not isinstance(value, dict | list) else ""
    return f"{where}: key '{key}': {message}{shown}; fix the value{_describe(model, loc)}{more}"


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the discriminator value ("python", "exact", ...) or the union
    # member name into error locations; users never wrote those keys.
    kinds = _union_kinds()
    return isinstance(part, str) and (
        part == "str" or part in kinds["model"] or part in kinds["scorer"] or part.startswith(("function-", "tagged-union["))
    )


def _union_kinds() -> dict[str, tuple[str, ...]]:
    """The kinds of each discriminated union, from :mod:`evalgate.config` itself (imported
    here, not at the top: config imports this module)."""
    from evalgate.config import MODEL_KINDS, SCORER_KINDS

    return {"model": MODEL_KINDS, "scorer": SCORER_KINDS}


def _field_info(model: type[BaseModel], loc: list[Any]) -> Any:
    """Walk ``loc`` through nested models; the FieldInfo at the end, or None."""
    current: Any = model
    info = None
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            return None
        info = fields[part]
        current = _nested_model(info.annotation)
    return info


def _nested_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(model: type[BaseModel], loc: list[Any]) -> list[str]:
    target: Any = model
    if loc:
        info = _field_info(model, loc)
        target = _nested_model(info.annotation) if info is not None else None
    return sorted(getattr(target, "model_fields", {}))


def _describe(model: type[BaseModel], loc: list[Any]) -> str:
    info = _field_info(model, loc)
    if info is None or not info.description:
        return ""
    text = " ".join(info.description.replace("``", "'").split()).split(". ")[0].rstrip(".")
    return f" ({text})"


def _line_of_key(path: Path, key: str) -> int | None:
    """Best-effort line of ``key = ...`` or ``[...key]`` in a TOML file (tomllib keeps no
    positions); None when the key is absent or appears more than once."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    pattern = re.compile(rf"^\s*(\[+\s*)?([\w.\"-]+\.)?\"?{re.escape(key)}\"?\s*(=|\])")
    hits = [number for number, text in enumerate(lines, start=1) if pattern.match(text)]
    return hits[0] if len(hits) == 1 else None
