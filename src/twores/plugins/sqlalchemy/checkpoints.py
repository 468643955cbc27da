"""SQLite WAL checkpoints off the committing thread.

SQLite copies the write-ahead log back into the database file (a checkpoint) by default
at the end of whichever commit takes the log past 1,000 pages, so that commit waits for
it: a first schedule of 内蒙古 waited 0.2–0.5 s. As the SQLite documentation suggests for
applications that care about commit latency, the store turns those automatic checkpoints
off and runs them here, in a thread of its own with its own connection, after any commit
that leaves the log that large. ``PASSIVE`` checkpoints never block readers or writers;
each commit is durable in the log before it returns (``synchronous=FULL``), checkpointed
or not, and the last connection to close checkpoints whatever is left.
"""

from __future__ import annotations

import os
import sqlite3
import threading

#: The log size past which a commit wakes the checkpointer (SQLite's default threshold:
#: 1,000 pages of 4 KiB).
THRESHOLD_BYTES = 1000 * 4096


class WalCheckpointer:
    """Checkpoints the database at ``path`` in a daemon thread, started on first need."""

    def __init__(self, path: str) -> None:
        self.path, self.log = path, f"{path}-wal"
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def committed(self) -> None:
        """After a commit: checkpoint soon if the log has grown past the threshold."""
        try:
            large = os.stat(self.log).st_size > THRESHOLD_BYTES
        except FileNotFoundError:
            return
        if not large:
            return
        with self._lock:
            if self._closing:
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="twores-wal-checkpoint", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def close(self) -> None:
        """Finish the checkpoint under way (if any) and stop the thread."""
        with self._lock:
            self._closing = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, check_same_thread=False)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._closing:
                    return
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()
