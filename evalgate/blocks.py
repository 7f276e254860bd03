"""A Python source file as blocks: each function (with its methods' bodies) and the module's own code.

Recorded dependencies are per block, not per file, so a suite whose model function lives in
a shared ``models.py`` is charged with that function (and the module-level code every
function of the file shares), not with its neighbours: editing another suite's function
leaves this suite's cached results valid and its plan untouched. pytest-testmon works the
same way (it fingerprints the blocks a test executed).

A block is an *outermost* function — a top-level ``def`` or a method of a top-level class,
decorators included — named by its qualified name (``answer``, ``Bot.reply``); nested
functions, lambdas and comprehensions belong to the function around them. Everything else
— imports, constants, class bodies, module-level statements — is the ``<module>`` block.
Executing any block of a file also depends on the file's ``<module>`` block, since
functions read the module's globals. A file that does not parse is one ``<file>`` block.
"""

from __future__ import annotations

import ast
import bisect
import hashlib
from dataclasses import dataclass

MODULE = "<module>"
WHOLE_FILE = "<file>"


@dataclass(frozen=True)
class Blocks:
    """The blocks of one source file: their digests, and which block each line is in."""

    digests: dict[str, str]
    """Block name → SHA-256 (first 16 hex digits) of its source text."""
    starts: tuple[int, ...] = ()
    """First line of each function block, ascending (for :meth:`at`)."""
    spans: tuple[tuple[int, int, str], ...] = ()
    """``(first line, last line, name)`` of each function block, in ``starts`` order."""

    def at(self, line: int) -> str:
        """The block a code object starting at ``line`` belongs to."""
        if WHOLE_FILE in self.digests:
            return WHOLE_FILE
        index = bisect.bisect_right(self.starts, line) - 1
        if index >= 0:
            first, last, name = self.spans[index]
            if first <= line <= last:
                return name
        return MODULE


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def blocks_of(source: bytes) -> Blocks:
    """The blocks of ``source`` (a file's bytes)."""
    try:
        text = source.decode("utf-8")
        tree = ast.parse(text)
    except (SyntaxError, ValueError, UnicodeDecodeError):
        return Blocks({WHOLE_FILE: hashlib.sha256(source).hexdigest()[:16]})
    lines = text.splitlines(keepends=True)
    spans: list[tuple[int, int, str]] = []
    for node, prefix in _outermost_functions(tree):
        first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
        spans.append((first, node.end_lineno or node.lineno, prefix + node.name))
    spans.sort()
    named: set[str] = set()
    for index, (first, last, name) in enumerate(spans):
        if name in named:  # a redefinition is a block of its own
            spans[index] = (first, last, f"{name}@{first}")
        named.add(spans[index][2])
    digests = {name: _digest("".join(lines[first - 1 : last])) for first, last, name in spans}
    inside = [False] * (len(lines) + 2)
    for first, last, _ in spans:
        for line in range(first, last + 1):
            inside[line] = True
    digests[MODULE] = _digest("".join(line for number, line in enumerate(lines, start=1) if not inside[number]))
    return Blocks(digests, tuple(first for first, _, _ in spans), tuple(spans))


def _outermost_functions(tree: ast.Module) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]]:
    """Top-level functions and the methods of top-level classes (nested classes included),
    with their qualified-name prefix."""
    found: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]] = []
    pending: list[tuple[ast.AST, str]] = [(tree, "")]
    while pending:
        node, prefix = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((child, prefix))
            elif isinstance(child, ast.ClassDef):
                pending.append((child, f"{prefix}{child.name}."))
            elif isinstance(child, ast.If | ast.Try | ast.With | ast.For | ast.While):
                pending.append((child, prefix))  # functions defined under `if TYPE_CHECKING:` and the like
    return found
