"""Report writers: junit.xml (gates), summary.md (humans), results.json (tools) and
report.html (reviewers) — see :mod:`evalgate.report.writer`.

Kept empty of imports: every pytest run with ``--eval-tier`` loads ``evalgate.report.terminal``
for its verdict table, and the writers (junit-xml, the typed results document) cost ~80 ms
to import — paid only by runs that write reports.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CaseText", "RunReport", "write_reports"]

REPORT_FILES = ("junit.xml", "summary.md", "results.json", "report.html")
"""The files a report folder holds (``--eval-report``, ``report merge --out``): the gates for
JUnit readers, the summary for humans, the typed document for tools, the page for reviewers.
Help texts name them from here; the writer writes exactly these."""


def __getattr__(name: str) -> Any:
    if name in __all__:
        from evalgate.report import writer

        return getattr(writer, name)
    raise AttributeError(f"module 'evalgate.report' has no attribute {name!r}")
