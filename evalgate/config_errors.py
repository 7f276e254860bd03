"""Messages for invalid config: the file (and line), the key, what is wrong, the fix.

pydantic reports every problem with a location path through the models; a person fixing a
TOML file wants the problems in the words of the file. The location is walked through the
model types — fields, tables of named entries, and the discriminated unions of model and
scorer kinds (whose ``kind`` tags pydantic puts into the location) — to find the key the
user wrote and the model it belongs to, so the message can list that model's keys and
suggest the one meant: ``tiers/smoke.toml:1: unknown key 'sampel'; remove it or fix its
name (did you mean 'sample'?)``. The most useful problem comes first and the others are
summed up after it; no sentence is cut. tomllib keeps no positions, so the line is found by
looking for the key in the file, when it appears exactly once.
"""

from __future__ import annotations

import ast
import difflib
import functools
import inspect
import re
import textwrap
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

_ORDER = {"extra_forbidden": 0, "union_tag_invalid": 1, "union_tag_not_found": 1, "missing": 3}
"""Which problem to show first: a mistyped key explains the missing one it stands for."""
_CASE_KEYS = {"ignore_case", "case_sensitive", "case_insensitive", "ignorecase", "casesensitive", "case"}


@dataclass
class _Located:
    """Where a problem is, in the words of the file."""

    parts: list[str]
    owner: type[BaseModel] | None
    """The model whose key the location ends at (for "allowed keys")."""
    field: str | None
    """The name of the field at the end, when it is one."""


@dataclass
class _Problem:
    kind: str
    where: _Located
    message: str
    value: Any
    context: dict[str, Any]

    @property
    def key(self) -> str:
        return ".".join(self.where.parts)


def format_validation_error(err: ValidationError, model: type[BaseModel], path: Path, prefix: str = "") -> str:
    """One line: the most useful problem in full, then the others in brief."""
    problems = [_problem(error, model) for error in err.errors()]
    # A table where a string was also allowed (``model = "name"`` or a [model] table): the
    # string branch's complaint says nothing useful once the user wrote a table.
    tables = [p for p in problems if not (p.kind == "string_type" and p.where.parts and isinstance(p.value, dict))]
    problems = tables or problems
    problems = _merge_typos(problems)
    problems.sort(key=lambda p: _ORDER.get(p.kind, 2))
    first, rest = problems[0], problems[1:]
    line = line_of_key(path, first.where.parts[-1]) if first.where.parts else None
    where = f"{path}:{line}" if line else str(path)
    text = f"{where}: {_render(first, prefix)}"
    if rest:
        shown = "; ".join(_render(problem, prefix, brief=True) for problem in rest[:3])
        more = f"; and {len(rest) - 3} more" if len(rest) > 3 else ""
        text += f" (also: {shown}{more})"
    return text


def _render(problem: _Problem, prefix: str, brief: bool = False) -> str:
    key = prefix + problem.key
    described = "" if brief else _describe(problem.where.owner, problem.where.field)
    if problem.kind == "extra_forbidden":
        allowed = sorted(problem.where.owner.model_fields) if problem.where.owner else []
        hint = _guess(problem.where.parts[-1], allowed)
        if brief:
            return f"unknown key '{key}'" + (f" ({hint})" if hint.startswith("did") else "")
        return f"unknown key '{key}'; remove it or fix its name ({hint})"
    if problem.kind == "missing":
        return f"missing required key '{key}'" + ("" if brief else f"; add it{described}")
    if problem.kind in ("union_tag_invalid", "union_tag_not_found"):
        expected = str(problem.context.get("expected_tags", "")).replace("'", "")
        choices = [choice.strip() for choice in expected.split(",") if choice.strip()]
        given = problem.context.get("tag")
        guess = difflib.get_close_matches(str(given), choices, n=1) if given else []
        did = f" (did you mean '{guess[0]}'?)" if guess else ""
        listed = ", ".join(f"'{choice}'" for choice in choices)
        if given is None:
            return f"key '{key}.kind' is missing; set it to one of {listed}"
        return f"key '{key}.kind' is {given!r}, not one of {listed}{did}; set it to one of them"
    message = problem.message.removeprefix("Value error, ")
    if not problem.where.parts:
        return f"{message}; fix the file"
    value = problem.value
    shown = f" (got {value!r})" if not isinstance(value, dict | list) else ""
    hint = _share_hint(problem)
    return f"key '{key}': {message}{shown}{hint}" + ("" if brief else f"; fix the value{described}")


def _problem(error: Any, model: type[BaseModel]) -> _Problem:
    return _Problem(error["type"], _locate(model, error["loc"]), error["msg"], error.get("input"), dict(error.get("ctx") or {}))


def _merge_typos(problems: list[_Problem]) -> list[_Problem]:
    """A missing required key next to an unknown key that looks like it is one problem: the
    typo (``min_pas_rate`` for ``min_pass_rate``). Keep the typo, drop the missing key."""
    typos = {".".join(p.where.parts[:-1]) + "." + p.where.parts[-1] for p in problems if p.kind == "extra_forbidden"}
    kept = []
    for problem in problems:
        if problem.kind == "missing" and problem.where.parts:
            table = ".".join(problem.where.parts[:-1])
            names = [typo.rsplit(".", 1)[1] for typo in typos if typo.rsplit(".", 1)[0] == table]
            if difflib.get_close_matches(problem.where.parts[-1], names, n=1, cutoff=0.75):
                continue
        kept.append(problem)
    return kept


def _guess(unknown: str, allowed: list[str]) -> str:
    """``did you mean 'x'?`` or the allowed keys; case-sensitivity keys get a sensible pair."""
    squashed = unknown.lower().replace("_", "").replace("-", "")
    if any(difflib.SequenceMatcher(None, squashed, key.replace("_", "")).ratio() > 0.8 for key in _CASE_KEYS):
        if "ignore_case" in allowed:
            return "did you mean 'ignore_case'?"
        if "case_sensitive" in allowed:
            return "did you mean 'case_sensitive'? letter case is ignored by default; case_sensitive = true matches it"
    guess = difflib.get_close_matches(unknown, allowed, n=1)
    if guess:
        return f"did you mean '{guess[0]}'?"
    return f"allowed keys: {', '.join(allowed)}" if allowed else "this table takes no keys"


def _share_hint(problem: _Problem) -> str:
    """``min_pass_rate = 90``: a share was written as a percentage."""
    if problem.kind != "less_than_equal" or problem.context.get("le") != 1:
        return ""
    value = problem.value
    if isinstance(value, int | float) and 2 <= value <= 100:
        return f"; it is a share between 0 and 1 — did you mean {value / 100:g}?"
    return ""


def _locate(model: type[BaseModel], loc: tuple[Any, ...]) -> _Located:
    """Walk pydantic's location through the model types: the user's key, and its model."""
    parts: list[str] = []
    owner: type[BaseModel] | None = None
    field: str | None = None
    annotation: Any = model
    for part in loc:
        target = _unwrap(annotation)
        if isinstance(target, type) and issubclass(target, BaseModel):
            owner = target
            parts.append(str(part))
            info = target.model_fields.get(str(part))
            field = str(part) if info is not None else None
            annotation = info.annotation if info is not None else None
        elif get_origin(target) is dict:
            parts.append(str(part))  # a name the user chose: [models.<name>]
            annotation, field = get_args(target)[1], None
        elif get_origin(target) is list:
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
            annotation, field = get_args(target)[0], None
        elif _is_union(target):
            member = _member(target, part)
            if member is not None:
                annotation = member  # a kind tag or a branch name: not a key the user wrote
            else:
                parts.append(str(part))
                annotation = None
        else:
            parts.append(str(part))
            annotation = None
    return _Located(parts, owner, field)


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` down to the type that matters."""
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    if _is_union(annotation):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0])
    return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (typing.Union, types.UnionType)


def _member(union: Any, part: Any) -> Any:
    """The union member a location part selects: a ``kind`` tag, a branch name such as
    ``str`` or ``tagged-union[...]``; None when the part is not one."""
    for arg in get_args(union):  # a tagged branch (``Tag("several")``): the tag is not a key
        if get_origin(arg) is typing.Annotated and any(getattr(meta, "tag", None) == part for meta in get_args(arg)[1:]):
            return _unwrap(arg)
    members = [_unwrap(arg) for arg in get_args(union)]
    flat: list[Any] = []
    for member in members:
        flat += [_unwrap(arg) for arg in get_args(member)] if _is_union(member) else [member]
    for member in flat:
        fields = getattr(member, "model_fields", {})
        if "kind" in fields and part in get_args(fields["kind"].annotation):
            return member
        if isinstance(member, type) and part in (member.__name__, getattr(member, "__qualname__", "")):
            return member
    if isinstance(part, str) and part.startswith(("tagged-union[", "function-", "union[")):
        inner = next((member for member in members if _is_union(member)), None)
        return inner if inner is not None else union
    return None


def field_doc(model: type[BaseModel], name: str) -> str:
    """The docstring written under field ``name`` of a config model (or of the base that
    declares it), "" when there is none. Read from the source when an error message or the
    published schema wants it: pydantic's ``use_attribute_docstrings`` parses every class's
    source at import, which was 40 % of this module's import time, paid by every run."""
    owner = next((cls for cls in model.__mro__ if name in getattr(cls, "__annotations__", {})), None)
    return _field_docs(owner).get(name, "") if owner is not None else ""


@functools.cache
def _field_docs(owner: type) -> dict[str, str]:
    """Field name → the docstring under it, for the fields ``owner`` declares itself."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(owner)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    return {
        statement.target.id: inspect.cleandoc(following.value.value)
        for statement, following in zip(body, body[1:], strict=False)
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
        and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
        and isinstance(following.value.value, str)
    }


def _describe(owner: type[BaseModel] | None, field: str | None) -> str:
    doc = field_doc(owner, field) if owner is not None and field is not None else ""
    if not doc:
        return ""
    text = " ".join(doc.replace("``", "'").split())
    # The first sentence: up to a full stop followed by a capital letter (so "e.g. '0.8'"
    # and "0.5 s" stay inside it) — never cut mid-sentence.
    first = re.split(r"(?<=\.)\s+(?=[A-Z])", text, maxsplit=1)[0].rstrip(".")
    return f" ({first})"


def line_of_key(path: Path, key: str) -> int | None:
    """Best-effort line of ``key = ...`` or ``[...key]`` in a TOML file (tomllib keeps no
    positions); None when the key is absent or appears more than once."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    bare = key.split("[", 1)[0]
    pattern = re.compile(rf"^\s*(\[+\s*)?([\w.\"-]+\.)?\"?{re.escape(bare)}\"?\s*(=|\])|[{{,]\s*{re.escape(bare)}\s*=")
    hits = [number for number, text in enumerate(lines, start=1) if pattern.search(text)]
    return hits[0] if len(hits) == 1 else None
