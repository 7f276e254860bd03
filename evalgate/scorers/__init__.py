"""Scorers: turn a model output into a score in [0, 1], pass/fail and an explanation."""
