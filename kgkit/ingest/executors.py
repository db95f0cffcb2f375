"""Where extraction runs: in this process (``local``) or on a pool of Ray actors (``ray``).

The ingest driver keeps the ledger and every store write; an executor only turns chunks into
:class:`ChunkExtraction`\\ s. :class:`RayExtractor` is itself an :class:`Extractor` (same ``name`` and
``version`` as the extractor it wraps, so the ledger's extractor key — and so resume — does not
depend on where extraction ran). Each Ray actor receives the extractor once, unloaded (constructors
do no I/O), and calls its ``warm_up()`` once: one spaCy pipeline, trained model or LLM client per
worker, whatever the number of chunks.

A worker that dies mid-run (killed, out of memory, node lost) is replaced and its unfinished task
is sent again; results are collected exactly once per chunk, so nothing is written twice. A task
that keeps killing its worker is given up after ``max_task_retries`` and its chunks come back as
failed (the ingest quarantines them; ``kgkit retry-failed`` retries them).

Pipeline files choose it in the ``ingest`` section::

    ingest: {executor: {name: ray, address: auto, workers: 16, chunks_per_task: 64}}

or ``executor: ray`` (a local Ray with 2 workers); the command line: ``kgkit ingest DIR --executor ray``.
"""

from __future__ import annotations

import pickle
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from kgkit.errors import ConfigError, DependencyMissingError
from kgkit.extract.base import ChunkExtraction, Extractor
from kgkit.types import Chunk

__all__ = ["ExecutorSpec", "RayExtractor", "parse_executor", "extractor_for"]

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class ExecutorSpec:
    """Where extraction runs.

    Args:
        name: ``local`` (this process) or ``ray``.
        address: Ray cluster to join: ``None`` starts a local Ray with ``workers`` CPUs (unless one is
            already initialised in this process), ``auto`` joins the cluster of this node,
            ``ray://host:10001`` a remote one through Ray Client.
        workers: number of extraction actors (each loads the extractor once).
        chunks_per_task: chunks sent to an actor in one call; larger amortises the per-call overhead
            (~1 ms locally), smaller balances load better.
        cpus_per_worker: CPUs Ray reserves for each actor.
        max_task_retries: how often a task is sent again after its worker died.
        batches_ahead: ingest batches handed to the workers before the driver waits for the oldest:
            while the driver writes one batch to the store and reads the next files, the workers
            always have this many batches queued, so they never wait for the driver.
    """

    name: str = "local"
    address: str | None = None
    workers: int = 2
    chunks_per_task: int = 16
    cpus_per_worker: float = 1.0
    max_task_retries: int = 3
    batches_ahead: int = 2


def parse_executor(value: str | Mapping[str, Any] | ExecutorSpec | None) -> ExecutorSpec:
    """An :class:`ExecutorSpec` from a name, a pipeline mapping (``{name: ray, workers: 4}``) or ``None``."""
    if value is None:
        return ExecutorSpec()
    if isinstance(value, ExecutorSpec):
        spec = value
    elif isinstance(value, str):
        spec = ExecutorSpec(name=value)
    elif isinstance(value, Mapping):
        fields = set(ExecutorSpec.__dataclass_fields__)
        unknown = set(value) - fields
        if unknown:
            raise ConfigError(f"executor: unknown option(s) {sorted(unknown)}; allowed: {sorted(fields)}")
        spec = ExecutorSpec(**dict(value))
    else:
        raise ConfigError(f"executor must be a name ({', '.join(EXECUTORS)}) or a mapping, not {type(value).__name__}")
    if spec.name not in EXECUTORS:
        raise ConfigError(f"unknown executor {spec.name!r}; choose one of: {', '.join(EXECUTORS)}")
    if spec.workers < 1 or spec.chunks_per_task < 1 or spec.batches_ahead < 1 or spec.max_task_retries < 0:
        raise ConfigError("executor: workers, chunks_per_task and batches_ahead must be >= 1 and max_task_retries >= 0")
    return spec


def extractor_for(extractor: Extractor, spec: ExecutorSpec) -> Extractor:
    """The extractor to call for ``spec``: ``extractor`` itself when local, a :class:`RayExtractor` otherwise."""
    if spec.name == "local":
        return extractor
    return RayExtractor(extractor, spec)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise DependencyMissingError("ray", "the Ray executor (--executor ray)", extra="ray") from err
    return ray


class _ExtractionWorker:
    """The body of one Ray actor: one warmed-up extractor, many calls."""

    def __init__(self, extractor: Extractor) -> None:
        self.extractor = extractor
        self.extractor.warm_up()

    def extract(self, chunks: list[Chunk]) -> tuple[list[ChunkExtraction], float]:
        """The extractions, and the seconds this worker spent on them (for the driver's figures)."""
        t0 = time.perf_counter()
        out = self.extractor.extract(chunks)
        return out, time.perf_counter() - t0

    def ping(self) -> bool:
        return True


@dataclass
class _Task:
    index: int
    chunks: list[Chunk]
    attempts: int = 0
    actor: Any = None  # the actor it was last sent to


class RayExtractor:
    """An :class:`Extractor` that spreads chunks over a pool of Ray actors; see the module docstring.

    ``warm_up()`` joins or starts Ray and creates the actors; ``close()`` removes them (and shuts down
    the Ray it started). ``prefetch(chunks)`` starts extracting chunks a later ``extract`` call will
    ask for, so workers keep busy while the driver writes the previous batch to the store; the ingest
    run keeps ``prefetch_depth`` batches ahead. A task goes to the actor with the fewest unfinished
    tasks, so a slow task on one worker does not hold back the others' queues.

    ``figures()`` tells where the time went: start-up (creating the actors, loading the extractor in
    each), the driver's waits for results, and the workers' own extraction time.
    """

    def __init__(self, inner: Extractor, spec: ExecutorSpec | None = None) -> None:
        self.inner = inner
        self.spec = spec or ExecutorSpec(name="ray")
        self.name = inner.name
        self.version = inner.version
        self.actors: list[Any] = []
        self.restarts = 0  # workers replaced after dying
        self.resent = 0  # tasks sent again because their worker died
        self._ray: Any = None
        self._actor_cls: Any = None
        self._started_ray = False
        self._prefetched: dict[tuple[str, ...], list[tuple[_Task, Any]]] = {}
        self._next_actor = 0  # tasks submitted so far
        self._unfinished: dict[Any, int] = {}  # actor -> tasks sent to it and not yet collected
        self.startup_seconds = 0.0  # warm_up: joining Ray, creating the actors, loading the extractor
        self.wait_seconds = 0.0  # the driver blocked on results
        self.worker_seconds = 0.0  # extraction time reported by the workers, summed

    @property
    def prefetch_depth(self) -> int:
        """How many ingest batches the driver hands out ahead of the one it waits for."""
        return self.spec.batches_ahead

    def figures(self) -> dict[str, float]:
        return {"startup_s": round(self.startup_seconds, 2), "wait_s": round(self.wait_seconds, 2),
                "worker_s": round(self.worker_seconds, 2), "tasks": self._next_actor, "resent": self.resent,
                "restarts": self.restarts}

    # -- lifecycle ------------------------------------------------------------------------------
    def warm_up(self) -> None:
        if self.actors:
            return
        t0 = time.perf_counter()
        ray = self._ray = _import_ray()
        if not ray.is_initialized():
            if self.spec.address is None:
                ray.init(num_cpus=max(1, int(self.spec.workers * self.spec.cpus_per_worker)),
                         include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=self.spec.address, log_to_driver=False)
            self._started_ray = True
        try:
            pickle.dumps(self.inner)
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            raise ConfigError(
                f"extractor {self.inner.name!r} cannot be sent to Ray workers ({err}); pass an extractor that was "
                "not warmed up in this process (constructors do no I/O) or use --executor local") from err
        self._actor_cls = ray.remote(num_cpus=self.spec.cpus_per_worker, max_restarts=0)(_ExtractionWorker)
        self.actors = [self._new_actor() for _ in range(self.spec.workers)]
        ray.get([a.ping.remote() for a in self.actors])  # fail here, not mid-run, if the extractor cannot load
        self.startup_seconds += time.perf_counter() - t0

    def _new_actor(self) -> Any:
        return self._actor_cls.remote(self.inner)

    def close(self) -> None:
        ray = self._ray
        if ray is None:
            return
        for a in self.actors:
            ray.kill(a)
        self.actors = []
        self._prefetched.clear()
        self._unfinished.clear()
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def __enter__(self) -> "RayExtractor":
        self.warm_up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- extraction -----------------------------------------------------------------------------
    def prefetch(self, chunks: Sequence[Chunk]) -> None:
        """Start extracting ``chunks``; the next :meth:`extract` of the same chunks collects the results."""
        if not chunks:
            return
        self.warm_up()
        key = self._key(chunks)
        if key in self._prefetched:
            return
        self._prefetched[key] = [(t, self._submit(t)) for t in self._split(chunks)]

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        if not chunks:
            return []
        self.warm_up()
        key = self._key(chunks)
        running = self._prefetched.pop(key, None)
        if running is None:
            running = [(t, self._submit(t)) for t in self._split(chunks)]
        results: dict[int, list[ChunkExtraction]] = {}
        self._collect(running, results)
        out = [r for i in sorted(results) for r in results[i]]
        if len(out) != len(chunks) or any(r.chunk.id != c.id for r, c in zip(out, chunks)):
            raise RuntimeError("Ray extraction returned results that do not match the chunks sent (a kgkit bug)")
        return out

    @staticmethod
    def _key(chunks: Sequence[Chunk]) -> tuple[str, ...]:
        return tuple(c.id for c in chunks)

    def _split(self, chunks: Sequence[Chunk]) -> list[_Task]:
        n = self.spec.chunks_per_task
        # Never fewer tasks than workers when there are enough chunks: each worker gets a share.
        n = max(1, min(n, -(-len(chunks) // len(self.actors))))
        return [_Task(i, list(chunks[s : s + n])) for i, s in enumerate(range(0, len(chunks), n))]

    def _submit(self, task: _Task) -> Any:
        # The actor with the fewest unfinished tasks; ties go round the pool from the last choice.
        n = len(self.actors)
        order = [self.actors[(self._next_actor + i) % n] for i in range(n)]
        task.actor = min(order, key=lambda a: self._unfinished.get(a, 0))
        self._unfinished[task.actor] = self._unfinished.get(task.actor, 0) + 1
        self._next_actor += 1
        task.attempts += 1
        return task.actor.extract.remote(task.chunks)

    def _finished(self, actor: Any) -> None:
        if self._unfinished.get(actor, 0) > 0:
            self._unfinished[actor] -= 1

    def _collect(self, running: list[tuple[_Task, Any]], results: dict[int, list[ChunkExtraction]]) -> None:
        ray = self._ray
        pending = deque(running)
        while pending:
            task, ref = pending.popleft()
            t0 = time.perf_counter()
            try:
                results[task.index], seconds = ray.get(ref)
                self.worker_seconds += seconds
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                    ray.exceptions.ObjectLostError) as err:
                self._finished(task.actor)
                self._replace(task.actor)
                if task.attempts > self.spec.max_task_retries:
                    reason = f"Ray worker died {task.attempts} times on this task: {type(err).__name__}"
                    results[task.index] = [ChunkExtraction(chunk=c, error=reason) for c in task.chunks]
                    continue
                self.resent += 1
                pending.append((task, self._submit(task)))
            else:
                self._finished(task.actor)
            finally:
                self.wait_seconds += time.perf_counter() - t0

    def _replace(self, actor: Any) -> None:
        """Replace the actor a failed task ran on (once: its other tasks fail the same way)."""
        for i, a in enumerate(self.actors):
            if a is actor:
                self._ray.kill(a)
                self.actors[i] = self._new_actor()
                self._unfinished.pop(a, None)
                self.restarts += 1
