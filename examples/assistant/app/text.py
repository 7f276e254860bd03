"""Text clean-up every entry point shares."""


def tidy(text: str) -> str:
    """Collapse whitespace: what users type is rarely neat."""
    return " ".join(text.split())
