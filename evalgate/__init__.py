"""evalgate: change-aware evaluation gates for LLM / ML systems, run as pytest tests.

PYTEST_DONT_REWRITE: ``evalgate run`` imports this package before it starts pytest, so
pytest could not rewrite its asserts anyway (and would warn that it cannot); the package
relies on no assert rewriting.
"""

from __future__ import annotations

from evalgate.cases import Case
from evalgate.errors import ConfigError, DatasetError, EvalgateError, ModelError, ScorerError
from evalgate.results import CaseResult
from evalgate.scorers.base import Score
from evalgate.verdict.gate import SuiteVerdict, Verdict

__all__ = [
    "Case",
    "CaseResult",
    "ConfigError",
    "DatasetError",
    "EvalgateError",
    "ModelError",
    "Score",
    "ScorerError",
    "SuiteVerdict",
    "Verdict",
    "__version__",
]

__version__ = "0.1.0"
