"""Which store a project uses: the shared PostgreSQL database when one is configured
(``EVALGATE_STORE_URL`` or ``[tool.evalgate.store] url``), else its SQLite file."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from evalgate.checkout import default_branches, run_ref
from evalgate.errors import ConfigError
from evalgate.project import Project, cache_path, store_url
from evalgate.redact import SECRETS
from evalgate.store.postgres import display
from evalgate.store.sqlite import ResultStore
from evalgate.store.trust import Trust
from evalgate.untrusted import one_line

SPOOL_FILE = "spool.sqlite"


def open_store(project: Project, spool: bool = False, send: bool = True) -> ResultStore:
    """The project's store, opened (created when new). With ``spool`` (a run), a shared store
    that drops mid-run goes on in a local spool file beside the cache, and (with ``send``: the
    run's controller, not its xdist workers) a spool an earlier run left is sent to the
    server first."""
    url = store_url(project)
    trust = store_trust(project)
    if not url:
        return ResultStore.open(cache_path(project), trust)
    store = ResultStore.open_url(url, trust)
    if spool:
        store.db.spool = cache_path(project).parent / SPOOL_FILE
        if send and store.enabled and store.db.spool.exists():
            _send(store, store.db.spool)
    return store


def store_trust(project: Project) -> Trust:
    """Whose rows this project's runs may read and how they sign theirs
    (:mod:`evalgate.store.trust`): the run's ref, the trusted refs, and the store key when
    the environment holds it (registered as a secret at once)."""
    settings = project.config.store
    key = os.environ.get(settings.key_env, "") if settings.key_env else ""
    SECRETS.add(key)
    if key and len(key) < 16:
        raise ConfigError(f"the store key in ${settings.key_env} is too short: use at least 16 random characters "
                          "(e.g. the output of: python -c 'import secrets; print(secrets.token_hex(32))')")
    trusted = tuple(settings.trusted_refs) if settings.trusted_refs is not None else default_branches(project.root)
    return Trust(run_ref(project.root), trusted, key.encode() if key else None)


def _send(store: ResultStore, path: Path) -> None:
    """Send an earlier run's spool to the server, then remove it (kept when that fails). Rows the
    server refuses (a NUL byte it cannot store) are written beside the spool and named: they
    never keep the rest from being sent."""
    from evalgate.store.transfer import Quarantine, send_spool

    spooled = ResultStore.open(path, store.db.trust)
    quarantine = Quarantine()
    try:
        sent = send_spool(spooled, store, quarantine)
    except Exception as err:  # noqa: BLE001 - a spool that cannot be sent must not stop the run
        store.db.problems.append(f"could not send the spool {path} to {store.location} ({SECRETS(one_line(str(err), limit=200))}); kept for the next run")
        return
    finally:
        spooled.close()
    if quarantine.rows:
        aside = path.with_name(f"{path.stem}.quarantine-{int(time.time())}.jsonl")
        with aside.open("w", encoding="utf-8") as handle:
            for table, row, why in quarantine.rows:
                handle.write(json.dumps({"table": table, "why": why, "row": row}, default=str) + "\n")
        named = ", ".join(sorted({f"{table} {row.get('suite', '')}::{row.get('case_id', row.get('key', '?'))!r}"
                                  for table, row, _ in quarantine.rows})[:5])
        store.db.problems.append(f"the shared store refused {len(quarantine.rows)} row(s) of the spool ({one_line(named, limit=300)}); "
                                 f"kept in {aside}, the rest was sent")
    path.unlink(missing_ok=True)
    store.db.notices.append(f"sent {sent} result(s) an earlier run kept in {path} while the shared store was unreachable to {store.location}")


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
