"""Find the passage that shares the most words with the question."""

import json
from pathlib import Path

PASSAGES = Path(__file__).with_name("passages.json")


def best_passage(question: str) -> str:
    passages = json.loads(PASSAGES.read_text(encoding="utf-8"))
    words = set(question.lower().rstrip("?").split())
    return max(passages, key=lambda passage: len(words & set(passage.lower().split())))
