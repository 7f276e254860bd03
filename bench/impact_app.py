"""The application bench/impact.py measures: five suites on distinct code paths, shared
utilities, code no suite uses, and a history of typical commits.

Every Python module carries ``MARK = ""`` and every entry point appends the MARKs of the
modules on its path to its answer, so that setting one MARK changes exactly the outputs
of the suites that use that module; text files reach the answers through their content.
That is what lets the benchmark check that a changed dependency is never served from the
cache ("stale hits") and that the change really changed the answers.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SUITES = ("rag", "safety", "tools", "format", "summarize")
ENTRY = {
    "rag": "app.rag.answer:answer",
    "safety": "app.safety.filter:answer",
    "tools": "app.tools.registry:answer",
    "format": "app.format.render:answer",
    "summarize": "app.summarize.core:answer",
}
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa".split()

SOURCES: dict[str, str] = {
    "app/__init__.py": '"""The Acme assistant."""\n\nMARK = ""\n',
    "app/utils/__init__.py": 'MARK = ""\n',
    "app/utils/text.py": '''"""Text helpers every entry point uses."""

MARK = ""


def normalize(text):
    return " ".join(text.split()).strip()


def marks(*modules):
    """The MARK of each module on an answer's path."""
    return "".join(module.MARK for module in modules)
''',
    "app/utils/keys.py": '''"""Stable keys: the retrieval index and the tool registry use them."""

import re

MARK = ""


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
''',
    "app/rag/__init__.py": 'MARK = ""\n',
    "app/rag/retrieval.py": '''"""Look a question up in the knowledge base (read on every call)."""

import json
from pathlib import Path

from app.utils import keys

MARK = ""
KB = Path(__file__).with_name("kb.json")


def retrieve(question):
    facts = json.loads(KB.read_text())
    return facts.get(keys.slug(question), "unknown")
''',
    "app/rag/answer.py": '''"""RAG: the prompt's style line, then the retrieved fact."""

import sys
from pathlib import Path

import app
from app import rag, utils
from app.rag import retrieval
from app.utils import keys, text

MARK = ""
PROMPT = Path(__file__).parents[2] / "prompts" / "rag.txt"


def answer(question):
    style = PROMPT.read_text().splitlines()[0]
    fact = retrieval.retrieve(question)
    return f"{style} {text.normalize(fact)}" + text.marks(app, utils, rag, retrieval, keys, text, sys.modules[__name__])
''',
    "app/safety/__init__.py": 'MARK = ""\n',
    "app/safety/filter.py": '''"""Safety: refuse requests with a blocked word, in the system prompt's words."""

import sys
from pathlib import Path

import app
from app import safety, utils
from app.utils import text

MARK = ""
PROMPTS = Path(__file__).parents[2] / "prompts" / "safety"


def answer(request):
    blocked = set((PROMPTS / "blocklist.txt").read_text().split())
    refusal = (PROMPTS / "system.txt").read_text().splitlines()[0]
    words = set(text.normalize(request).lower().split())
    verdict = "REFUSE" if words & blocked else "ALLOW"
    return f"{verdict} ({len(blocked)} rules): {refusal}" + text.marks(app, utils, safety, text, sys.modules[__name__])
''',
    "app/tools/__init__.py": 'MARK = ""\n',
    "app/tools/calculator.py": '''"""The calculator tool."""

MARK = ""


def add(a, b):
    return a + b


def mul(a, b):
    return a * b
''',
    "app/tools/registry.py": '''"""Tool use: "add 3 5" calls the calculator."""

import sys

import app
from app import tools, utils
from app.tools import calculator
from app.utils import keys, text

MARK = ""
TOOLS = {"add": calculator.add, "mul": calculator.mul}


def answer(request):
    name, a, b = text.normalize(request).split()
    value = TOOLS[keys.slug(name)](int(a), int(b))
    return f"result={value};" + text.marks(app, utils, tools, calculator, keys, text, sys.modules[__name__])
''',
    "app/format/__init__.py": 'MARK = ""\n',
    "app/format/render.py": '''"""Formatting: a title rendered with the template file."""

import sys
from pathlib import Path

import app
from app import format as package, utils
from app.utils import text

MARK = ""
TEMPLATE = Path(__file__).parents[2] / "templates" / "format.txt"


def answer(title):
    template = TEMPLATE.read_text().splitlines()[0]
    return template.format(title=text.normalize(title).title()) + text.marks(app, utils, package, text, sys.modules[__name__])
''',
    "app/summarize/__init__.py": 'MARK = ""\n',
    "app/summarize/core.py": '''"""Summaries: the prompt's lead-in and the first five words."""

import sys
from pathlib import Path

import app
from app import summarize, utils
from app.utils import text

MARK = ""
PROMPT = Path(__file__).parents[2] / "prompts" / "summarize.txt"


def answer(document):
    lead = PROMPT.read_text().splitlines()[0]
    return f"{lead} {' '.join(text.normalize(document).split()[:5])}" + text.marks(app, utils, summarize, text, sys.modules[__name__])
''',
    "app/web/__init__.py": 'MARK = ""\n',
    "app/web/ui.py": '"""The web UI: no suite uses it."""\n\nBUTTON_COLOUR = "blue"\nMARK = ""\n',
    "app/web/routes.py": '"""HTTP routes: no suite uses them."""\n\nROUTES = {"/": "index"}\nMARK = ""\n',
}
TEXTS: dict[str, str] = {
    "prompts/rag.txt": "Answer briefly, citing the knowledge base.\nNever invent facts.\n",
    "prompts/summarize.txt": "In short:\nKeep the author's terms.\n",
    "prompts/safety/system.txt": "I cannot help with that request.\nStay polite.\n",
    "prompts/safety/blocklist.txt": "weapon poison exploit\n",
    "templates/format.txt": "== {title} ==\n",
    "app/web/static/style.css": "body { color: black; }\n",
    "docs/guide.md": "# Guide\n",
    "docs/api.md": "# API\n",
    "README.md": "# Acme assistant\n",
    "requirements.txt": "requests==2.32.3\npydantic==2.9.2\nnumpy==1.26.4\n",
    "tests/test_app.py": "def test_nothing():\n    assert True\n",
    ".github/workflows/ci.yml": "name: ci\non: [push]\n",
    ".gitignore": ".evalgate/\nreports/\n__pycache__/\n.pytest_cache/\n",
}


def rows(suite: str, cases: int) -> tuple[list[dict[str, str]], dict[str, str]]:
    """A suite's cases, and for rag the knowledge base they ask about. Every 33rd case
    expects something wrong, so no suite is a perfect 100 %."""
    rng = random.Random(suite)
    out, kb = [], {}
    for index in range(cases):
        words = [rng.choice(WORDS) for _ in range(8)]
        if suite == "rag":
            question = f"What about topic {index}?"
            kb[f"what-about-topic-{index}"] = f"fact {index}: {' '.join(words[:3])}"
            text, expected = question, kb[f"what-about-topic-{index}"]
        elif suite == "safety":
            bad = index % 4 == 0
            text = " ".join(words[:5] + (["poison"] if bad else []))
            expected = "REFUSE" if bad else "ALLOW"
        elif suite == "tools":
            a, b = rng.randrange(100), rng.randrange(100)
            op = "add" if index % 2 else "mul"
            text, expected = f"{op} {a} {b}", f"result={a + b if op == 'add' else a * b};"
        elif suite == "format":
            text = " ".join(words[:3])
            expected = f"== {text.title()} =="
        else:
            text, expected = " ".join(words), " ".join(words[:5])
        if index % 33 == 32:
            expected = "something else entirely"
        out.append({"id": f"{suite}-{index:04d}", "input": text, "expected": expected})
    return out, kb


def write_app(root: Path, cases: int, components: bool, recorded_dependencies: bool) -> None:
    """The repository's first commit. ``components`` declares the app's code and prompts
    (what a cache needs to be safe without recorded dependencies)."""
    for path, text in {**SOURCES, **TEXTS}.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (root / "data").mkdir(exist_ok=True)
    (root / "evals").mkdir(exist_ok=True)
    for suite in SUITES:
        cases_of, kb = rows(suite, cases)
        (root / "data" / f"{suite}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in cases_of))
        if kb:
            (root / "app" / "rag" / "kb.json").write_text(json.dumps(kb, indent=1) + "\n")
        concerns = '["safety"]' if suite == "safety" else "[]"
        (root / "evals" / f"{suite}.toml").write_text(
            f'dataset = "data/{suite}.jsonl"\nmodel = "{suite}"\nconcerns = {concerns}\n'
            '[scorer]\nkind = "contains"\n[gate]\nmin_pass_rate = 0.9\n'
        )
    (root / "tiers").mkdir(exist_ok=True)
    (root / "tiers" / "exhaustive.toml").write_text('description = "every case, no early stop (benchmark checks)"\nearly_stop = false\n')
    lines = ["[tool.evalgate]", 'suites = ["evals/*.toml"]']
    if components:
        lines.append('components = ["app/**", "prompts/**", "templates/**"]')
    lines += [
        "", "[[tool.evalgate.rules]]", 'paths = ["prompts/safety/**"]', 'change = "targeted"', 'concern = "safety"',
        "", "[tool.evalgate.changes]", f"recorded_dependencies = {str(recorded_dependencies).lower()}",
    ]
    for suite in SUITES:
        lines += ["", f"[tool.evalgate.models.{suite}]", 'kind = "python"', f'function = "{ENTRY[suite]}"']
    lines += ["", "[tool.pytest.ini_options]", 'addopts = "-p no:cacheprovider"', ""]
    (root / "pyproject.toml").write_text("\n".join(lines))


@dataclass(frozen=True)
class Commit:
    """One commit of the history: what kind of change, to which file, and the edit."""

    kind: str
    path: str
    edit: Callable[[Path, int], None]

    def apply(self, root: Path, number: int) -> str:
        self.edit(root, number)
        return f"{self.kind}: {self.path} (#{number})"


def _append(path: str, line: str) -> Callable[[Path, int], None]:
    def edit(root: Path, number: int) -> None:
        target = root / path
        target.write_text(target.read_text() + line.format(n=number))
    return edit


def _prompt_tweak(path: str) -> Callable[[Path, int], None]:
    def edit(root: Path, number: int) -> None:
        target = root / path
        first, *_ = target.read_text().splitlines()
        target.write_text(f"{first}\nGuidance revision {number}: be concise.\n")
    return edit


def _bump(root: Path, number: int) -> None:
    target = root / "requirements.txt"
    lines = [f"numpy==1.26.{number}" if line.startswith("numpy==") else line for line in target.read_text().splitlines()]
    target.write_text("\n".join(lines) + "\n")


def _rename(old: str, new: str, fix: tuple[str, str, str] | None = None) -> Callable[[Path, int], None]:
    def edit(root: Path, number: int) -> None:
        (root / new).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "mv", old, new], cwd=root, check=True, capture_output=True)
        if fix is not None:
            path, before, after = fix
            target = root / path
            target.write_text(target.read_text().replace(before, after))
    return edit


def history(commits: int, seed: int = 7) -> list[Commit]:
    """``commits`` typical commits in a seeded order: docs, UI code, tests and CI, one
    suite's prompt or code, shared utilities (some suites; every suite), dependency bumps and
    renames, in roughly the proportions of an application repository's log."""
    pool: list[tuple[int, str, Callable[[str], Callable[[Path, int], None]], list[str]]] = [
        (22, "docs", lambda p: _append(p, "\nNote {n}.\n"), ["docs/guide.md", "docs/api.md", "README.md"]),
        (18, "ui", lambda p: _append(p, "\n/* tweak {n} */\n" if p.endswith(".css") else "\n# tweak {n}\n"),
         ["app/web/ui.py", "app/web/routes.py", "app/web/static/style.css"]),
        (6, "tests-ci", lambda p: _append(p, "\n# {n}\n"), ["tests/test_app.py", ".github/workflows/ci.yml"]),
        (14, "one suite's prompt", _prompt_tweak,
         ["prompts/rag.txt", "prompts/summarize.txt", "prompts/safety/system.txt", "templates/format.txt"]),
        (16, "one suite's code", lambda p: _append(p, "\n# refactor {n}\n"),
         ["app/rag/retrieval.py", "app/tools/calculator.py", "app/format/render.py", "app/summarize/core.py", "app/safety/filter.py"]),
        (8, "shared by some", lambda p: _append(p, "\n# cleanup {n}\n"), ["app/utils/keys.py"]),
        (6, "shared by all", lambda p: _append(p, "\n# cleanup {n}\n"), ["app/utils/text.py"]),
        (4, "dependency bump", lambda p: _bump, ["requirements.txt"]),
    ]
    rng = random.Random(seed)
    weights = [weight for weight, *_ in pool]
    chosen: list[Commit] = []
    renames = [
        Commit("rename", "docs/api.md → docs/reference.md", _rename("docs/api.md", "docs/reference.md")),
        Commit("rename", "app/web/routes.py → app/web/views.py", _rename("app/web/routes.py", "app/web/views.py")),
        Commit("rename", "prompts/summarize.txt → prompts/summary.txt", _rename(
            "prompts/summarize.txt", "prompts/summary.txt", ("app/summarize/core.py", '"summarize.txt"', '"summary.txt"'))),
        Commit("rename", "tests/test_app.py → tests/test_unit.py", _rename("tests/test_app.py", "tests/test_unit.py")),
    ]
    moved: dict[str, str] = {}
    slots = {max(1, commits * (index + 1) // (len(renames) + 1)): commit for index, commit in enumerate(renames)}
    for number in range(commits):
        if number in slots:
            chosen.append(slots[number])
            old, new = slots[number].path.split(" → ")
            moved[old] = new
            continue
        _, kind, make, paths = rng.choices(pool, weights)[0]
        path = rng.choice([moved.get(path, path) for path in paths])
        chosen.append(Commit(kind, path, make(path)))
    return chosen
