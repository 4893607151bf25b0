"""Running a batch: one task per file, here or on a Dask cluster, outcomes as files finish.

:func:`run_batch` is a generator: it yields an :class:`Outcome` per file as
soon as that file is done, failed or skipped, so the command line and the
window report progress as it happens; closing it early cancels what has not
run. Without ``jobs`` or ``scheduler`` the files run one after another in this
process (the command line's default); with ``jobs`` a local Dask cluster of
that many worker processes runs them, with ``scheduler`` an existing cluster
(``dask scheduler`` and ``dask worker`` processes) does.

Every file goes through :func:`run_task`, one code path wherever it runs. A
task holds one core's share of the machine: the NMF passes of a file run on
``cores // tasks at once`` threads, so tasks do not oversubscribe the cores,
and since the passes' summation order never depends on the thread count
(:mod:`dsp.nmf.kernels.plan`) the stems are bit-identical to a sequential run.

A file whose task raises is reported failed with its one-line reason, and the
others go on. A worker that dies mid-file (killed, out of memory) leaves only
a hidden staging folder, never a partial stem set (:class:`dsp.stems.StemSet`
publishes a set whole); Dask runs the file again on another worker, and the
outcome says so, or reports it failed once it killed
``distributed.scheduler.allowed-failures`` workers.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from dsp.stems import complete_set_hash

__all__ = ["DONE", "FAILED", "SKIPPED", "FileReport", "FileTask", "Outcome", "SchedulerError",
           "run_batch", "run_task", "up_to_date"]

DONE, FAILED, SKIPPED = "done", "failed", "skipped"


class SchedulerError(RuntimeError):
    """The Dask scheduler given cannot be reached; the message names its address."""


@dataclass(frozen=True)
class FileTask:
    """One file of a batch: its name for the user, its path (None: the demo), its output."""

    label: str
    path: Path | None
    folder: Path


@dataclass(frozen=True)
class FileReport:
    """What the separation of one file has to say: notes (stems written…) and warnings."""

    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


#: ``work(path, folder, *, label) -> FileReport``: separates one file, raising an
#: exception whose message is the one-line reason when it cannot. Picklable
#: (a module-level function or a ``partial`` of one) to run on Dask workers.
Work = Callable[..., FileReport]


@dataclass(frozen=True)
class Outcome:
    """How one file of a batch ended.

    Attributes
    ----------
    status : {'done', 'failed', 'skipped'}
    seconds : float
        Time the file's (last) run took.
    report : FileReport
        What a done file's separation said.
    reason : str
        Why a failed file failed: one line naming the file.
    retried : int
        Runs of the file lost with the worker that ran them (killed) before this one.
    peak_memory : int
        Peak resident memory in bytes of the process that ran it, up to its end
        (0 where the platform does not say).
    """

    task: FileTask
    status: str
    seconds: float = 0.0
    report: FileReport = field(default_factory=FileReport)
    reason: str = ""
    retried: int = 0
    peak_memory: int = 0


def up_to_date(task: FileTask, settings_hash: str) -> bool:
    """Whether ``task.folder`` holds a complete stem set of this file made with these settings."""
    found = complete_set_hash(task.folder)
    if found is None or found[0] != settings_hash:
        return False
    recorded = found[1]
    return task.path is None or recorded is None or Path(recorded).name == task.path.name


def run_task(work: Work, task: FileTask, threads: int | None = None) -> Outcome:
    """Separate one file with ``work`` on ``threads`` NMF threads; never raises an Exception.

    ``threads`` None on a Dask worker: the worker's cores shared among its
    task threads; elsewhere, what the process already uses.
    """
    threads = threads or _worker_share()
    saved = os.environ.get("PARTWISE_NUM_THREADS")
    if threads:
        os.environ["PARTWISE_NUM_THREADS"] = str(threads)
    started = time.perf_counter()
    try:
        report = work(task.path, task.folder, label=task.label)
    except Exception as exc:  # noqa: BLE001 - a file's failure is reported; the batch goes on
        outcome = Outcome(task, FAILED, reason=failure_reason(task, exc))
    else:
        outcome = Outcome(task, DONE, report=report)
    finally:
        if threads:
            _restore("PARTWISE_NUM_THREADS", saved)
    return replace(outcome, seconds=time.perf_counter() - started, peak_memory=_peak_memory())


def failure_reason(task: FileTask, error: BaseException) -> str:
    """``error``'s message as one line that names the file (once)."""
    text = " ".join((str(error) or type(error).__name__).split())
    named = text.startswith("'") or task.path is None
    return text if named else f"'{task.label}': {text}"


def run_batch(
    tasks: Iterable[FileTask],
    work: Work,
    *,
    settings_hash: str,
    resume: bool = False,
    jobs: int | None = None,
    scheduler: str | None = None,
) -> Iterator[Outcome]:
    """Separate every task's file with ``work``; yields an outcome per file as it ends.

    Parameters
    ----------
    settings_hash : str
        The run's :attr:`~app.batch.request.Request.settings_hash`; with
        ``resume``, a file whose folder holds a complete set made with it is
        skipped (and yielded first).
    jobs : int, optional
        Files at a time on a local Dask cluster of that many worker processes.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``) to run on.

    Raises
    ------
    SchedulerError
        If the scheduler cannot be reached.
    """
    pending = []
    for task in tasks:
        if resume and up_to_date(task, settings_hash):
            yield Outcome(task, SKIPPED)
        else:
            pending.append(task)
    if not pending:
        return
    if scheduler is None and jobs is None:
        for task in pending:
            yield run_task(work, task)
        return
    yield from _on_dask(pending, work, jobs=jobs or 1, scheduler=scheduler)


def _on_dask(tasks: list[FileTask], work: Work, *, jobs: int, scheduler: str | None):
    from distributed import Client, LocalCluster, as_completed

    from dsp.nmf.kernels.schedule import n_threads

    cluster = None
    if scheduler is None:
        # One task thread per worker process, each task one core's share of the passes.
        threads = max(1, n_threads() // jobs)
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        threads = None  # each worker shares its own cores among its task threads
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise SchedulerError(f"cannot reach the Dask scheduler at '{scheduler}' "
                                 f"({' '.join(str(exc).split())})") from None
    run = uuid.uuid4().hex[:8]
    futures = {
        client.submit(run_task, work, task, threads, key=f"partwise-{run}-{i}", pure=False): task
        for i, task in enumerate(tasks)
    }
    try:
        for future in as_completed(futures):
            task = futures.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, a worker that lacks Partwise…
                outcome = Outcome(task, FAILED, reason=failure_reason(task, _lost(exc)))
            deaths = _deaths(client, future.key)
            future.release()
            yield replace(outcome, retried=deaths) if deaths else outcome
    finally:
        client.cancel(list(futures))
        client.close()
        if cluster is not None:
            cluster.close()


def _lost(error: Exception) -> Exception:
    from distributed import KilledWorker

    if isinstance(error, KilledWorker):
        return RuntimeError("the workers running it died (killed, or out of memory) "
                            "as often as Dask allows; not retried again")
    return error


def _deaths(client, key: str) -> int:
    """How many workers died while running the task ``key`` (Dask then runs it elsewhere)."""

    def suspicious(dask_scheduler, key):  # pickled by value: the scheduler needs no Partwise
        task = dask_scheduler.tasks.get(key)
        return task.suspicious if task is not None else 0

    try:
        return int(client.run_on_scheduler(suspicious, key=key))
    except Exception:  # noqa: BLE001 - only the note "retried" depends on it
        return 0


def _worker_share() -> int | None:
    """On a Dask worker: the cores it may use over its task threads; None elsewhere."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None
    from dsp.nmf.kernels.schedule import n_threads

    return max(1, n_threads() // max(1, worker.state.nthreads))


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _peak_memory() -> int:
    try:
        import resource
    except ImportError:  # Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024
