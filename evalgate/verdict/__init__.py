"""Verdicts: outcomes in sampling order → anytime-valid decisions → one verdict per suite. Pure."""
