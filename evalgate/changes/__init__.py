"""What changed: git → change set → rules → a plan (a tier per suite, with reasons)."""
