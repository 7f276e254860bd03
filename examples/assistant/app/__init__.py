"""A small assistant: retrieval-augmented answers, a safety guard, a calculator tool."""
