"""Tool use: "what is 6 times 7" becomes a calculator call."""

from app.text import tidy
from app.tools.calculator import calculate


def answer(request: str) -> str:
    *_, a, operation, b = tidy(request).rstrip("?").split()
    return f"The answer is {calculate(int(a), operation, int(b))}."
