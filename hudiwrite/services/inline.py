"""Table services around writes: the services lock, and the services a commit runs inline.

Compaction scheduling, cleaning and archival run in one process at a time (two would plan
overlapping compactions, or clean and archive the same instants); the lock is a heartbeat
file, taken over from a dead holder. Inline services run after a write has committed, so a
service that fails is logged and retried by a later run: it never turns a landed write into
a failed one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import attrs

from hudiwrite.concurrency.heartbeat import SERVICES_LOCK, Heartbeat
from hudiwrite.exceptions import CommitConflictError
from hudiwrite.read.fsview import FileSystemView
from hudiwrite.services.archive import archive_due, run_archive
from hudiwrite.services.clean import clean_due, run_clean
from hudiwrite.services.compaction import run_compaction, should_compact
from hudiwrite.services.settings import ArchiveSettings, CleanSettings, CompactionSettings
from hudiwrite.timeline.metaclient import MetaClient

__all__ = ["InlineSettings", "run_inline_services", "services_lock"]

log = logging.getLogger("hudiwrite")


@attrs.frozen
class InlineSettings:
    """Which services run after a commit, and how (``TableOptions.inline_settings()``)."""

    compaction: CompactionSettings
    clean: CleanSettings
    archive: ArchiveSettings
    auto_clean: bool
    auto_archive: bool
    heartbeat_interval: float

    @property
    def auto_compact(self) -> bool:
        return self.compaction.delta_commits is not None or self.compaction.log_bytes is not None


@contextlib.contextmanager
def services_lock(meta: MetaClient, heartbeat_interval: float) -> Iterator[None]:
    """Hold the table-services lock; CommitConflictError if a live process holds it."""
    lock = Heartbeat.lock(meta.storage, SERVICES_LOCK, heartbeat_interval)
    if lock is None:
        raise CommitConflictError(
            f"table services of {meta.storage.uri} are running in another process; try again later"
        )
    with lock:
        yield


def _due(meta: MetaClient, settings: InlineSettings) -> list[tuple[str, Callable[[], object]]]:
    """The services with something to do, judged from one timeline listing, so a commit that
    leaves nothing to compact, clean or archive takes no lock. When a compaction is due every
    enabled service runs after it (it makes more to clean)."""
    timeline = meta.timeline()
    steps: list[tuple[str, Callable[[], object]]] = []
    if settings.auto_compact:
        due = bool(timeline.pending_compactions) or should_compact(
            timeline,
            lambda: FileSystemView.load(
                meta.storage, timeline, None, replaced=meta.replaced_file_groups(timeline)
            ),
            settings.compaction,
        )
        if due:
            steps.append(
                ("compaction", lambda: run_compaction(meta, settings.compaction, force=False))
            )
    compacting = bool(steps)
    if settings.auto_clean and (compacting or clean_due(meta, timeline, settings.clean)):
        steps.append(("cleaning", lambda: run_clean(meta, settings.clean)))
    # Archival is judged on the timeline before the compaction; a compaction adds a
    # completed commit, which can make it due, so archival follows every compaction (as
    # Java's archiver runs on the timeline after the inline services).
    if settings.auto_archive and (compacting or archive_due(meta, timeline, settings.archive)):
        steps.append(("archival", lambda: run_archive(meta, settings.archive)))
    return steps


def run_inline_services(meta: MetaClient, settings: InlineSettings) -> None:
    """Run the services a commit made due, under the services lock; skipped when another
    process holds it. Never raises for a service's failure (the write has landed)."""
    uri = meta.storage.uri
    try:
        steps = _due(meta, settings)
    except Exception:
        log.warning("inline services of %s failed; retried later", uri, exc_info=True)
        return
    if not steps:
        return
    lock = Heartbeat.lock(meta.storage, SERVICES_LOCK, settings.heartbeat_interval)
    if lock is None:
        log.info("table services of %s run in another process; skipped", uri)
        return
    with lock:
        for name, step in steps:
            try:
                step()
            except Exception:  # HudiErrors too: the write has landed, whatever follows
                log.warning("inline %s of %s failed; it will be retried", name, uri, exc_info=True)
