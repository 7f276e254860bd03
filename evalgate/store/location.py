"""Which store a project uses: the shared PostgreSQL database when one is configured
(``EVALGATE_STORE_URL`` or ``[tool.evalgate.store] url``), else its SQLite file."""

from __future__ import annotations

from pathlib import Path

from evalgate.project import Project, cache_path, store_url
from evalgate.redact import SECRETS
from evalgate.store.postgres import display
from evalgate.store.sqlite import ResultStore
from evalgate.untrusted import one_line

SPOOL_FILE = "spool.sqlite"


def open_store(project: Project, spool: bool = False, send: bool = True) -> ResultStore:
    """The project's store, opened (created when new). With ``spool`` (a run), a shared store
    that drops mid-run goes on in a local spool file beside the cache, and (with ``send``: the
    run's controller, not its xdist workers) a spool an earlier run left is sent to the
    server first."""
    url = store_url(project)
    if not url:
        return ResultStore.open(cache_path(project))
    store = ResultStore.open_url(url)
    if spool:
        store.spool = cache_path(project).parent / SPOOL_FILE
        if send and store.enabled and store.spool.exists():
            _send(store, store.spool)
    return store


def _send(store: ResultStore, path: Path) -> None:
    """Send an earlier run's spool to the server, then remove it (kept when that fails)."""
    from evalgate.store.transfer import send_spool

    spooled = ResultStore.open(path)
    try:
        sent = send_spool(spooled, store)
    except Exception as err:  # noqa: BLE001 - a spool that cannot be sent must not stop the run
        store.problems.append(f"could not send the spool {path} to {store.location} ({SECRETS(one_line(str(err), limit=200))}); kept for the next run")
        return
    finally:
        spooled.close()
    path.unlink(missing_ok=True)
    store.notices.append(f"sent {sent} result(s) an earlier run kept in {path} while the shared store was unreachable to {store.location}")


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
