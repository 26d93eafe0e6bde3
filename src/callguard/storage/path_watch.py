"""Whether anything happened at a file's path, asked without a ``stat`` (Linux inotify).

The SQLite ledger checks before every read and every write that the file at its path is still
the one its connection has open (``SQLiteLedger._check_file``): one ``stat`` of the path, about
2 µs on a virtual machine, a tenth of a decision. A :class:`PathWatch` asks the kernel instead
whether an event is queued for the path — one ``ioctl`` (0.4 µs) — and lets the caller ``stat``
only when one is, or when a second has passed.

The kernel queues an inotify event inside the system call that changes a directory entry,
before that call returns: a rename, unlink, replacement or hard link of the file, and any entry
created, removed or renamed in the file's directory or in any directory above it (which is how
a path stops resolving to the same file), as well as a change of their attributes. So once the
process that changes the path has seen its call return, the next check here sees the event,
as it would see the change with a ``stat``. Any event, related or not, is answered by draining
the queue and making the ``stat``: a busy directory costs what the ``stat`` costs. What inotify
cannot report — a file system mounted over one of those directories — the ``stat`` made at
least once a second (:data:`BACKSTOP_NS`) still finds.

Anything that keeps the watch from being set up (another system, no ``libc`` symbols, the
per-user limit of inotify instances or watches) leaves the caller on a ``stat`` per check.
"""

from __future__ import annotations

import os
import time
from array import array

__all__ = ["BACKSTOP_NS", "PathWatch", "watch"]

BACKSTOP_NS = 1_000_000_000
"""At most this long between two ``stat`` of the path, events or none."""

# <sys/inotify.h>
_IN_ATTRIB = 0x004
_IN_MOVED_FROM = 0x040
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_FILE_EVENTS = _IN_ATTRIB | _IN_DELETE_SELF | _IN_MOVE_SELF
_DIRECTORY_EVENTS = (
    _FILE_EVENTS | _IN_CREATE | _IN_DELETE | _IN_MOVED_FROM | _IN_MOVED_TO
)  # fmt: skip


class PathWatch:
    """An inotify instance watching one file and every directory above it."""

    __slots__ = ("_buffer", "_due", "_fd", "_ioctl", "_request")

    def __init__(self, fd: int) -> None:
        import fcntl
        import termios

        self._fd = fd
        self._ioctl = fcntl.ioctl
        self._request = termios.FIONREAD
        self._buffer = array("i", [0])
        self._due = 0

    def quiet(self) -> bool:
        """True when no event is queued and the last ``stat`` is less than a second old: the
        path still names the file it named then. False means: drain, then ``stat``."""
        self._ioctl(self._fd, self._request, self._buffer, True)
        return not self._buffer[0] and time.monotonic_ns() < self._due

    def drain(self) -> None:
        """Forget the queued events; call it *before* the ``stat`` that answers them, so that an
        event queued after the ``stat`` stays queued for the next check."""
        try:
            while os.read(self._fd, 65536):
                pass
        except BlockingIOError:
            pass
        self._due = time.monotonic_ns() + BACKSTOP_NS

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()


def watch(path: str) -> PathWatch | None:
    """A watch of the absolute ``path`` and every directory above it, or None where inotify
    cannot give one."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        init, add = libc.inotify_init1, libc.inotify_add_watch
    except (ImportError, OSError, AttributeError):
        return None
    fd = init(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        return None
    found = PathWatch(fd)
    # The directories above the path as written and above the file it resolves to (through
    # symbolic links); a link elsewhere in a chain of links is left to the backstop.
    places = {path: _FILE_EVENTS}
    for start in (path, os.path.realpath(path)):
        place = os.path.dirname(start)
        while place not in places:
            places[place] = _DIRECTORY_EVENTS
            place = os.path.dirname(place)
    for place, mask in places.items():
        if add(fd, os.fsencode(place), mask) < 0:
            found.close()
            return None
    return found
