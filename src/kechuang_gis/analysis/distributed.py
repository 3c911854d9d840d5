"""Dask backend: destinations split into batches across the workers of a cluster.

``workers=N`` starts a local cluster of N single-threaded worker processes (scipy's
Dijkstra holds the GIL, so processes, not threads); ``scheduler=ADDRESS`` connects to an
existing cluster (``dask scheduler`` + ``dask worker ADDRESS`` on each machine, all with
kechuang-gis installed). The whole :class:`~.kernels.Problem` (CSR graph with the
destinations' virtual nodes, both snaps, the access model) is scattered to every worker
once with ``broadcast=True``; each task then names only its batch range, so the graph
is never shipped with a task. Every batch runs :func:`.kernels.solve_batch`, the very
function of the single-process path, so results are identical.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import InputError
from . import kernels

#: Batches per worker: a few, so a slow batch does not leave the other workers idle.
BATCHES_PER_WORKER = 4


@contextlib.contextmanager
def client_for(workers: int | None = None, scheduler: str | None = None) -> Iterator:
    """A Dask client on a new LocalCluster of ``workers`` processes or on ``scheduler``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a core dependency
        raise InputError("Dask distributed is not installed: pip install 'distributed'") from exc
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise InputError(f"cannot connect to the Dask scheduler at {scheduler!r} ({exc})") from exc
        with client:
            yield client
        return
    n = int(workers or 1)
    if n < 1:
        raise InputError(f"--workers must be at least 1, got {workers!r}")
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def run_distributed(problem: kernels.Problem, *, workers: int | None = None, scheduler: str | None = None,
                    client=None, batch: int | None = None,
                    progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, list | None]:
    """Solve all destination batches on a Dask cluster; same output as :func:`.kernels.run`."""
    if client is None:
        with client_for(workers, scheduler) as c:
            return run_distributed(problem, client=c, batch=batch, progress=progress)
    from distributed import as_completed

    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    size = batch or min(kernels.default_batch(problem.n + problem.m_dest),
                        max(1, math.ceil(problem.m_dest / (n_workers * BATCHES_PER_WORKER))))
    shared = client.scatter(problem, broadcast=True)
    futures = [client.submit(kernels.solve_batch, shared, start, stop, pure=False)
               for start, stop in kernels.batches(problem.m_dest, size)]
    results = []
    for fut in as_completed(futures):
        r = fut.result()
        results.append(r)
        if progress:
            progress(r.stop - r.start)
    return kernels.assemble(problem, results)
