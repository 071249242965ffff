"""One metrics directory per `idgate serve` run, shared by its worker processes.

prometheus_client picks where values live when it is first imported: this module must not
import it, and `serve` must enter `shared_metrics_directory` before anything that does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

MULTIPROCESS_DIR_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def shared_metrics_directory() -> Iterator[Path]:
    """A fresh directory for this run (a stale one would add an old run's counts), removed
    at the end; worker processes inherit it through the environment."""
    if "prometheus_client.values" in sys.modules:
        raise RuntimeError("prometheus_client was imported before the metrics directory was set")
    directory = tempfile.mkdtemp(prefix="idgate-metrics-")
    previous = os.environ.get(MULTIPROCESS_DIR_ENV)
    os.environ[MULTIPROCESS_DIR_ENV] = directory
    try:
        yield Path(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if previous is None:
            os.environ.pop(MULTIPROCESS_DIR_ENV, None)
        else:
            os.environ[MULTIPROCESS_DIR_ENV] = previous
