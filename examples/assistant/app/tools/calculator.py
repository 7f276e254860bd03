"""The calculator tool the agent calls."""

OPERATIONS = {"plus": lambda a, b: a + b, "minus": lambda a, b: a - b, "times": lambda a, b: a * b}


def calculate(a: int, operation: str, b: int) -> int:
    return OPERATIONS[operation](a, b)
