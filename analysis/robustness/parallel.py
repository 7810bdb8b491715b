"""Run independent tasks serially, on the local cores, or on a Dask cluster.

Randomisation inference and specification curves repeat one estimation many
times on changed inputs. :func:`run_tasks` spreads such tasks over worker
processes (default: one per core), or over a Dask cluster when given a
scheduler address or a ``distributed.Client``, and returns the results in
task order.

Randomness never depends on where a task runs: with ``seed`` given, task i
receives ``numpy.random.default_rng(children[i])``, where ``children`` is
``numpy.random.SeedSequence(seed).spawn(len(tasks))``. The serial, local and
Dask runs of the same tasks with the same seed therefore return identical
numbers.
"""

from __future__ import annotations

import math
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

import cloudpickle
import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

__all__ = ["TaskError", "available_cores", "progress_bar", "run_tasks", "task_seeds"]

# Each worker gets about this many chunks, so a slow chunk does not leave the
# other workers idle at the end, while the per-chunk overhead stays small.
CHUNKS_PER_WORKER = 4

# The function a local worker process runs, unpickled once per process.
_WORKER_FUNCTION = None


class TaskError(RuntimeError):
    """A task raised; the message names the task index and the original error."""


def available_cores() -> int:
    """Cores this process may use (its CPU affinity where the OS reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def task_seeds(seed, n_tasks: int) -> list[np.random.SeedSequence] | None:
    """The independent seed of each task, or None without a seed.

    Parameters
    ----------
    seed
        An integer, a ``numpy.random.SeedSequence`` or None.
    n_tasks
        Number of tasks.
    """
    if seed is None:
        return None
    sequence = seed if isinstance(seed, np.random.SeedSequence) else (
        np.random.SeedSequence(_checked_seed(seed)))
    return sequence.spawn(n_tasks)


def progress_bar(total: int, description: str = "", progress: bool | None = None):
    """A tqdm bar on stderr; ``progress=None`` shows it only on a terminal.

    Parameters
    ----------
    total
        Number of steps.
    description
        Text before the bar.
    progress
        True always shows the bar, False never, None (default) only when
        stderr is a terminal, so logs and notebooks stay clean.
    """
    disable = None if progress is None else not progress
    return tqdm(total=total, desc=description or None, disable=disable,
                file=sys.stderr, leave=False, dynamic_ncols=True)


def run_tasks(
    function: Callable,
    tasks: Sequence,
    *,
    seed=None,
    scheduler=None,
    n_jobs: int | None = None,
    progress: bool | None = None,
    description: str = "",
    chunk_size: int | None = None,
    blas_threads: int | None = 1,
) -> list:
    """Apply ``function`` to every task and return the results in task order.

    Parameters
    ----------
    function
        Called as ``function(task)``, or ``function(task, rng)`` when ``seed``
        is given, with ``rng`` a ``numpy.random.Generator`` of its own. It
        may be a closure or a lambda (it is shipped with cloudpickle), and it
        must not depend on global state that differs between processes.
    tasks
        The inputs, one per call; each and each result must pickle.
    seed
        Integer or ``numpy.random.SeedSequence``; see the module docstring.
        None: ``function`` receives no generator.
    scheduler
        None (default) runs locally. A scheduler address (``"tcp://host:8786"``)
        or a ``distributed.Client`` runs the tasks on that Dask cluster
        (``n_jobs`` is then ignored).
    n_jobs
        Local worker processes; default every core available. 1 runs in this
        process, without pickling.
    progress
        Progress bar on stderr: None (default) only on a terminal, True or
        False to force it on or off.
    description
        Label of the progress bar.
    chunk_size
        Tasks sent to a worker at once; default about a quarter of each
        worker's share.
    blas_threads
        Threads of the BLAS/OpenMP libraries while tasks run (in this process
        for a serial run, in each worker otherwise); default 1, since tasks
        run side by side and small linear algebra runs faster unthreaded.
        It also makes serial, local and Dask runs use the same (single-
        threaded) summation order. None leaves the libraries' setting.

    Returns
    -------
    list
        ``[function(task, ...) for task in tasks]``, in the order of ``tasks``.

    Raises
    ------
    TaskError
        When a task raises; the message gives the task index, the error and
        its traceback from the worker.
    """
    tasks = list(tasks)
    seeds = task_seeds(seed, len(tasks))
    if n_jobs is not None and (int(n_jobs) != n_jobs or n_jobs < 1):
        raise ValueError(f"n_jobs={n_jobs!r} must be a positive integer or None "
                         "(every available core).")
    if not tasks:
        return []

    if scheduler is not None:
        return _run_dask(function, tasks, seeds, scheduler, progress, description,
                         chunk_size, blas_threads)
    workers = min(int(n_jobs or available_cores()), len(tasks))
    if workers == 1:
        with threadpool_limits(blas_threads):
            return _run_serial(function, tasks, seeds, progress, description)
    return _run_processes(function, tasks, seeds, workers, progress, description,
                          chunk_size, blas_threads)


def _checked_seed(seed) -> int:
    if isinstance(seed, (bool, float)) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer, a "
                         "numpy SeedSequence or None.")
    return int(seed)


def _chunks(n_tasks: int, n_workers: int, chunk_size: int | None) -> list[range]:
    if chunk_size is None:
        chunk_size = math.ceil(n_tasks / (n_workers * CHUNKS_PER_WORKER))
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be a positive integer.")
    chunk_size = int(chunk_size)
    return [range(start, min(start + chunk_size, n_tasks))
            for start in range(0, n_tasks, chunk_size)]


def _call(function, task, seed_sequence, index):
    try:
        if seed_sequence is None:
            return function(task)
        return function(task, np.random.default_rng(seed_sequence))
    except Exception as error:
        # The original traceback does not survive the trip back from a
        # worker process, so its text travels in the message.
        raise TaskError(
            f"task {index} ({task!r:.80}) raised {type(error).__name__}: {error}\n"
            f"{traceback.format_exc()}"
        ) from error


def _run_chunk(function, tasks, seeds, indices) -> list:
    seeds = seeds if seeds is not None else [None] * len(tasks)
    return [_call(function, task, seed, index)
            for task, seed, index in zip(tasks, seeds, indices)]


def _run_serial(function, tasks, seeds, progress, description) -> list:
    results = []
    with progress_bar(len(tasks), description, progress) as bar:
        for index, task in enumerate(tasks):
            seed = None if seeds is None else seeds[index]
            results.append(_call(function, task, seed, index))
            bar.update(1)
    return results


def _install_worker_function(payload: bytes, blas_threads) -> None:
    global _WORKER_FUNCTION
    _WORKER_FUNCTION = cloudpickle.loads(payload)
    if blas_threads is not None:
        # The worker only ever runs tasks: limit its thread pools for good.
        threadpool_limits(blas_threads)


def _run_local_chunk(tasks, seeds, indices) -> list:
    return _run_chunk(_WORKER_FUNCTION, tasks, seeds, indices)


def _split(tasks, seeds, chunk: range):
    return ([tasks[i] for i in chunk],
            None if seeds is None else [seeds[i] for i in chunk],
            list(chunk))


def _run_processes(function, tasks, seeds, workers, progress, description,
                   chunk_size, blas_threads) -> list:
    # The function (often a closure holding the data) is pickled once and
    # installed in each worker, not sent again with every chunk.
    payload = cloudpickle.dumps(function)
    chunks = _chunks(len(tasks), workers, chunk_size)
    results: list = [None] * len(chunks)
    with ProcessPoolExecutor(max_workers=workers, initializer=_install_worker_function,
                             initargs=(payload, blas_threads)) as pool, \
            progress_bar(len(tasks), description, progress) as bar:
        pending = {pool.submit(_run_local_chunk, *_split(tasks, seeds, chunk)): i
                   for i, chunk in enumerate(chunks)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                position = pending.pop(future)
                results[position] = future.result()
                bar.update(len(chunks[position]))
    return [result for chunk in results for result in chunk]


def _run_dask_chunk(payload, tasks, seeds, indices, blas_threads) -> list:
    with threadpool_limits(blas_threads):
        return _run_chunk(cloudpickle.loads(payload), tasks, seeds, indices)


def _run_dask(function, tasks, seeds, scheduler, progress, description,
              chunk_size, blas_threads) -> list:
    try:
        from distributed import Client, as_completed
    except ImportError as error:  # pragma: no cover - dask is a dependency
        raise ImportError("scheduler= needs dask.distributed: pip install "
                          "'dask[distributed]'.") from error

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        workers = max(1, sum(client.nthreads().values()))
        chunks = _chunks(len(tasks), workers, chunk_size)
        [payload] = client.scatter([cloudpickle.dumps(function)], broadcast=True)
        futures = [client.submit(_run_dask_chunk, payload,
                                 *_split(tasks, seeds, chunk), blas_threads,
                                 pure=False)
                   for chunk in chunks]
        position = {future.key: i for i, future in enumerate(futures)}
        with progress_bar(len(tasks), description, progress) as bar:
            for future in as_completed(futures):
                bar.update(len(chunks[position[future.key]]))
        results = client.gather(futures)
    finally:
        if client is not scheduler:
            client.close()
    return [result for chunk in results for result in chunk]
