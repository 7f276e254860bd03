"""Retrieval-augmented answers: the system prompt's lead, then the best passage."""

from pathlib import Path

from app.rag.retrieval import best_passage
from app.text import tidy

PROMPT = Path(__file__).parents[2] / "prompts" / "rag.txt"


def answer(question: str) -> str:
    lead = PROMPT.read_text(encoding="utf-8").strip()
    return f"{lead} {best_passage(tidy(question))}"
