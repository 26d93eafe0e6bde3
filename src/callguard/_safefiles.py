"""Writing evidence files without following a link planted where they go.

A control pack or a checkpoint is written into a folder someone else may have prepared: a
symbolic link named ``report.html`` pointing at a file of the host must never be written
through. Every file is created afresh (``O_EXCL``, ``O_NOFOLLOW``) under a temporary name in the
folder, opened once (``O_DIRECTORY | O_NOFOLLOW``), then renamed over the final name: a rename
replaces a link, it never follows it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from types import TracebackType

from ._exceptions import ConfigurationError
from ._i18n import _

__all__ = ["SafeDir", "write_new"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_new(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> None:
    """Create ``path`` with ``data``; an existing file or link there is an error, never
    overwritten or followed."""
    try:
        fd = os.open(path, _CREATE, mode)
    except FileExistsError:
        raise ConfigurationError(f"{os.fspath(path)!r} already exists: not overwritten") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot create {os.fspath(path)!r}: {exc}") from exc
    try:
        os.fchmod(fd, mode)  # the umask must not widen nor narrow it
        _write_fd(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


class SafeDir:
    """A folder opened once, refusing a link or a non-directory; :meth:`write` puts a file in
    it (a fresh temporary file renamed over the name: never written through a link)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if os.path.islink(self.path):
            raise ConfigurationError(
                _("{path} is a symbolic link, not a folder", path=repr(str(self.path))),
                field="out",
                value=path,
            )
        if os.path.lexists(self.path) and not self.path.is_dir():
            raise ConfigurationError(
                _("{path} exists and is not a folder", path=repr(str(self.path))),
                field="out",
                value=path,
            )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
        except OSError as exc:
            raise ConfigurationError(
                _("cannot open folder {path}: {problem}", path=repr(str(self.path)),
                  problem=str(exc)),
                field="out", value=path,
            ) from exc  # fmt: skip

    def write(self, name: str, data: bytes) -> Path:
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"{name!r} is not a file name")
        tmp = f".{name}.{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(tmp, _CREATE, 0o644, dir_fd=self.fd)
        except OSError as exc:
            raise ConfigurationError(f"cannot write into {str(self.path)!r}: {exc}") from exc
        try:
            try:
                _write_fd(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=self.fd)
            if isinstance(exc, OSError):
                raise ConfigurationError(f"cannot write {str(self.path / name)!r}: {exc}") from exc
            raise
        return self.path / name

    def mkdir(self, name: str) -> SafeDir:
        """A sub-folder (created if missing; a link there is refused)."""
        return SafeDir(self.path / name)

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> SafeDir:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
