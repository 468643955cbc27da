"""SQLite WAL checkpoints off the committing thread.

SQLite copies the write-ahead log back into the database file (a checkpoint) by default
at the end of whichever commit takes the log past 1,000 pages, so that commit waits for
it: a first schedule of 内蒙古 waited 0.2–0.5 s. As the SQLite documentation suggests for
applications that care about commit latency, the store turns those automatic checkpoints
off and runs them here, in a thread of its own with its own connection, after any commit
that leaves the log that large. ``PASSIVE`` checkpoints never block readers or writers;
each commit is durable in the log before it returns (``synchronous=FULL``), checkpointed
or not, and the last connection to close checkpoints whatever is left. The store's
connections set ``journal_size_limit`` to the same threshold, so the log file shrinks back
once checkpointed and its size keeps telling how much waits.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref

#: The log size past which a commit wakes the checkpointer (SQLite's default threshold:
#: 1,000 pages of 4 KiB).
THRESHOLD_BYTES = 1000 * 4096
_LOG = logging.getLogger(__name__)


class WalCheckpointer:
    """Checkpoints the database at ``path`` in a daemon thread of this process, started
    on first need (again after a fork, a failure or :meth:`close`)."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.log = f"{self.path}-wal"
        self._lock = threading.Lock()
        #: The running thread's signal; replacing it tells that thread to stop.
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        this = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork(this))

    def committed(self) -> None:
        """After a commit: checkpoint soon if the log has grown past the threshold."""
        try:
            if os.stat(self.log).st_size <= THRESHOLD_BYTES:
                return
        except FileNotFoundError:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, args=(self._wake,), name="twores-wal-checkpoint", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def close(self) -> None:
        """Finish the checkpoint under way (if any) and stop the thread; a later commit
        starts another."""
        with self._lock:
            thread, self._thread = self._thread, None
            wake, self._wake = self._wake, threading.Event()
        wake.set()
        if thread is not None:
            thread.join()

    def _run(self, wake: threading.Event) -> None:
        connection = sqlite3.connect(self.path, check_same_thread=False)
        try:
            while True:
                wake.wait()
                wake.clear()
                if wake is not self._wake:
                    return
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:  # the next commit's wake tries again
                    _LOG.exception("WAL checkpoint of %s failed", self.path)
        finally:
            connection.close()


def _after_fork(checkpointer: weakref.ref[WalCheckpointer]) -> None:
    """In a forked child: none of the parent's thread, nor a lock it may have held."""
    found = checkpointer()
    if found is not None:
        found._lock, found._wake = threading.Lock(), threading.Event()
        found._thread = None
