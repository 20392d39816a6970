"""Start loading the bundled models before the rest of a handler imports.

A cold start spends ~30 ms in onnxruntime building sessions and ~90 ms importing Python
(Powertools, the routes, every capability's wiring). onnxruntime releases the GIL while it
builds a session, as hashlib does while it hashes the file, so ``start()`` at the top of a
handler runs ``load_model`` for each bundled model on a thread while the imports go on, and the
catalog ``take``s each loaded model (or its error) instead of loading it again. The two
overlap as far as the function has CPU beyond one vCPU (Lambda: one vCPU's share per 1,769 MB).

Models followed from the registry are resolved through DynamoDB and S3 when the catalog loads
(``registry/wiring.py``); they are not preloaded.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

from servekit.registry.settings import RegistrySettings
from servekit.runtime.catalog import discover
from servekit.runtime.loader import load_model
from servekit.runtime.model import LoadedModel
from servekit.settings import Settings

__all__ = ["start", "take"]


class _Load(threading.Thread):
    def __init__(self, folder: Path, intra_op_threads: int) -> None:
        super().__init__(name=f"preload-{folder.name}", daemon=True)
        self.folder, self.intra_op_threads = folder, intra_op_threads
        self.model: LoadedModel | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.model = load_model(self.folder, self.intra_op_threads)
        except BaseException as exc:  # re-raised on the thread that takes it
            self.error = exc


_lock = threading.Lock()
_pending: dict[tuple[Path, int], _Load] = {}


def start(environ: Mapping[str, str] | None = None) -> None:
    """Begin loading the models ``ModelCatalog.from_settings`` will load for this environment.

    Bad settings or a missing folder start nothing here: the catalog's own load reports them.
    """
    env = os.environ if environ is None else environ
    try:
        settings = Settings.from_env(env)
        if RegistrySettings.from_env(env).enabled:
            return
        folders = discover(settings.model_dir, settings.models)
    except Exception:  # reported by the regular load, with its context
        return
    with _lock:
        for folder in folders:
            key = (folder, settings.intra_op_threads)
            if key not in _pending:
                _pending[key] = load = _Load(folder, settings.intra_op_threads)
                load.start()


def take(folder: Path, intra_op_threads: int) -> LoadedModel | None:
    """The model preloaded from ``folder`` with these threads (waiting for it), once; ``None``
    when none was started. A preload that failed raises its error here."""
    with _lock:
        load = _pending.pop((folder, intra_op_threads), None)
    if load is None:
        return None
    load.join()
    if load.error is not None:
        raise load.error
    return load.model
