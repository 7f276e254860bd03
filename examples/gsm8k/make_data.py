"""Rebuild data/gsm8k.jsonl from the original file (kept for provenance; not run by evalgate).

Source: github.com/openai/grade-school-math, grade_school_math/data/example_model_solutions.jsonl,
commit 3101c7d5072418e28b9008a6636bde82a006892c (MIT, see data/LICENSE).
This takes the first 300 of its 1,319 rows unchanged and adds an ``id`` field
(``gsm8k-test-0001`` …, the row's 1-based position in the original file) and a ``steps`` tag
(``steps-1-2``, ``steps-3-4``, ``steps-5-or-more``): how many calculations the reference
solution annotates (``<<16-3-4=9>>``), for the slice example in examples/slices.

    python make_data.py path/to/example_model_solutions.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROWS = 300


def main(source: Path) -> None:
    out = Path(__file__).parent / "data" / "gsm8k.jsonl"
    with source.open(encoding="utf-8") as handle, out.open("w", encoding="utf-8") as sink:
        for number, line in enumerate(handle, start=1):
            if number > ROWS:
                break
            row = json.loads(line)
            sink.write(json.dumps({"id": f"gsm8k-test-{number:04d}", **row, "steps": steps(row["ground_truth"])}, ensure_ascii=False) + "\n")


def steps(solution: str) -> str:
    """The reference solution's length as a tag: its annotated calculations, in three groups."""
    count = solution.count("<<")
    return "steps-1-2" if count <= 2 else "steps-3-4" if count <= 4 else "steps-5-or-more"


if __name__ == "__main__":
    main(Path(sys.argv[1]))
