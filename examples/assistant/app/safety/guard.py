"""Refuse requests that mention a blocked topic, in the policy's words."""

from pathlib import Path

from app.text import tidy

POLICY = Path(__file__).parents[2] / "prompts" / "safety"


def answer(request: str) -> str:
    blocked = set((POLICY / "blocked.txt").read_text(encoding="utf-8").split())
    if blocked & set(tidy(request).lower().split()):
        return (POLICY / "refusal.txt").read_text(encoding="utf-8").strip()
    return "Happy to help with that."
