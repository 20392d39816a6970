"""Keeps a catalog on the versions the registry's aliases name, off the request path.

A daemon thread reads each served model's alias once per interval (one strongly consistent
``GetItem`` per model). When the alias names other versions, it loads them beside the ones
serving (:func:`load_version`: download, sha256, load, smoke run) and only then swaps the
catalog's entry in one assignment; requests already running finish on the model they hold. A
version that is refused keeps the current one serving, with a log line and a metric, once per
version (it is not downloaded again every interval).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from servekit.observability import logger
from servekit.registry.errors import ArtifactRefusedError
from servekit.registry.loading import load_version
from servekit.registry.records import AliasRecord
from servekit.rollouts.errors import RolloutPlanError
from servekit.rollouts.plan import RolloutPlan
from servekit.runtime.served import ServedVersions

if TYPE_CHECKING:
    from pathlib import Path

    from servekit.registry.bucket import ArtifactBucket
    from servekit.registry.metrics import RegistryMetrics
    from servekit.registry.store import RegistryStore
    from servekit.runtime.catalog import ModelCatalog
    from servekit.runtime.model import LoadedModel

__all__ = ["RegistryWatcher"]


class RegistryWatcher:
    def __init__(
        self,
        catalog: ModelCatalog,
        store: RegistryStore,
        bucket: ArtifactBucket,
        metrics: RegistryMetrics,
        *,
        alias: str,
        interval_s: float,
        cache_dir: Path,
        threads: int,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.bucket = bucket
        self.metrics = metrics
        self.alias = alias
        self.interval_s = interval_s
        self.cache_dir = cache_dir
        self.threads = threads
        self._refused: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> RegistryWatcher:
        self._thread = threading.Thread(target=self._run, name="servekit-registry", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll_once()

    def poll_once(self) -> list[str]:
        """Read every served model's alias and swap where it changed; the names swapped."""
        swapped = []
        for name in self.catalog.names:
            try:
                record = self.store.alias(name, self.alias)
            except Exception as exc:  # the table unreachable: keep serving, try next interval
                logger.warning(
                    "registry check failed", extra={"model": name, "reason": str(exc)[:300]}
                )
                self.metrics.check_failed(name)
                continue
            if record is not None and self.apply(record):
                swapped.append(name)
        return swapped

    def apply(self, record: AliasRecord) -> bool:
        """Serve what ``record`` names, unless it is served already or refused; True if the
        catalog changed."""
        current = self.catalog.served(record.name)
        plan = self._plan(record)
        wanted = (record.version,) + (() if plan is None else (plan.candidate,))
        if current.versions == wanted and current.plan == plan:
            return False
        incumbent = self._model(current, record.version)
        candidate = None if plan is None else self._model(current, plan.candidate)
        if incumbent is None or (plan is not None and candidate is None):
            return False
        self.catalog.serve(ServedVersions.of(incumbent, candidate, plan))
        logger.info(
            "model version swapped",
            extra={
                "model": record.name,
                "from": current.versions,
                "to": wanted,
                "alias": self.alias,
                "revision": record.revision,
            },
        )
        self.metrics.swapped(record.name, record.version)
        return True

    def _plan(self, record: AliasRecord) -> RolloutPlan | None:
        """The alias's rollout plan, parsed; a bad one is refused (the incumbent serves alone),
        logged and counted once per alias revision."""
        if record.rollout is None:
            return None
        try:
            return RolloutPlan.from_json(record.rollout)
        except RolloutPlanError as exc:
            if (record.name, f"plan#{record.revision}") not in self._refused:
                self._refused.add((record.name, f"plan#{record.revision}"))
                logger.error(
                    "rollout plan refused: serving the incumbent alone",
                    extra={"model": record.name, "revision": record.revision, "detail": str(exc)},
                )
                self.metrics.refused(record.name, record.version, "plan")
            return None

    def _model(self, current: ServedVersions[LoadedModel], version: str) -> LoadedModel | None:
        """``version`` loaded: the one serving already, else from the registry; None when it
        is (or was before) refused."""
        name = current.name
        served = current.version(version)
        if served is not None:
            return served
        if (name, version) in self._refused:
            return None
        try:
            return load_version(
                self.store.version(name, version), self.bucket, self.cache_dir, self.threads
            )
        except Exception as exc:  # ArtifactRefusedError, or the version item unreadable
            refusal = (
                exc
                if isinstance(exc, ArtifactRefusedError)
                else ArtifactRefusedError(name, version, "download", str(exc)[:300])
            )
            if refusal.reason != "download":  # a download may work next time; the rest not
                self._refused.add((name, version))
            logger.error(
                "model version refused: still serving the current one",
                extra={
                    "model": name,
                    "version": version,
                    "serving": current.incumbent.version,
                    "reason": refusal.reason,
                    "detail": refusal.detail,
                },
            )
            self.metrics.refused(name, version, refusal.reason)
            return None
