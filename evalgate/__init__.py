"""evalgate: change-aware evaluation gates for LLM / ML systems, run as pytest tests.

The public names below are imported lazily (PEP 562): pytest imports this package on
every run through the plugin entry point, and a plain test run must not pay for
pydantic, GitPython or requests. ``from evalgate import Case`` works as usual.

PYTEST_DONT_REWRITE: ``evalgate run`` imports this package before it starts pytest, so
pytest could not rewrite its asserts anyway (and would warn that it cannot); the package
relies on no assert rewriting.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from evalgate.cases import Case
    from evalgate.errors import ConfigError, DatasetError, EvalgateError, GitError, ModelError, ScorerError
    from evalgate.models.base import ModelAdapter, ModelOutput
    from evalgate.results import CaseResult
    from evalgate.scorers.base import Score
    from evalgate.verdict.gate import SuiteVerdict, Verdict

__all__ = [
    "Case",
    "CaseResult",
    "ConfigError",
    "DatasetError",
    "EvalgateError",
    "GitError",
    "ModelAdapter",
    "ModelError",
    "ModelOutput",
    "Score",
    "ScorerError",
    "SuiteVerdict",
    "Verdict",
    "__version__",
]

_HOMES = {
    "Case": "evalgate.cases",
    "CaseResult": "evalgate.results",
    "ConfigError": "evalgate.errors",
    "DatasetError": "evalgate.errors",
    "EvalgateError": "evalgate.errors",
    "GitError": "evalgate.errors",
    "ModelAdapter": "evalgate.models.base",
    "ModelError": "evalgate.errors",
    "ModelOutput": "evalgate.models.base",
    "Score": "evalgate.scorers.base",
    "ScorerError": "evalgate.errors",
    "SuiteVerdict": "evalgate.verdict.gate",
    "Verdict": "evalgate.verdict.gate",
}
"""Where each public name lives."""


def __getattr__(name: str) -> _typing.Any:
    if name == "__version__":
        from evalgate.about import installed_version

        return installed_version()  # the one version number: pyproject.toml's
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'evalgate' has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
