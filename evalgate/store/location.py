"""Which store a project uses: the shared PostgreSQL database when one is configured
(``EVALGATE_STORE_URL`` or ``[tool.evalgate.store] url``), else its SQLite file."""

from __future__ import annotations

from evalgate.project import Project, cache_path, store_url
from evalgate.store.postgres import display
from evalgate.store.sqlite import ResultStore


def open_store(project: Project) -> ResultStore:
    """The project's store, opened (created when new)."""
    url = store_url(project)
    return ResultStore.open_url(url) if url else ResultStore.open(cache_path(project))


def existing_store(project: Project) -> ResultStore | None:
    """The project's store when there is one already: None when its file does not exist yet
    (a shared store always exists: its tables are made on first use)."""
    if not store_url(project) and not cache_path(project).exists():
        return None
    return open_store(project)


def store_name(project: Project) -> str:
    """The store as messages name it (a URL without its password, or the file)."""
    url = store_url(project)
    return display(url) if url else str(cache_path(project))
