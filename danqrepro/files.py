"""Writing files safely, used by every layer: strict JSON, atomic files and directories,
locks that die with their process.

Nothing the project writes is ever half-written where a reader looks: files and
directories are written under a temporary name and renamed. Directories are replaced only
when they are absent, empty, or already hold what this project writes there (recognised by
a marker file such as ``manifest.json``); anything else is refused with its path named.
Locks are ``fcntl`` locks on a file inside the locked place, so the kernel releases them
when their process dies, however it dies: a partial directory is removed only once its
writer is dead, and a run directory is trained by one process at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np

LOCK_FILE = ".lock"
NONFINITE_KEY = "nonfinite"  # JSON paths whose NaN or infinite value was written as null


class DataError(ValueError):
    """Input data that is not what was expected; the message names the file and why."""


class LockedError(RuntimeError):
    """Another live process holds the lock of a directory."""


class RefusedError(FileExistsError):
    """A write that would destroy something this project did not write."""


# -- JSON ---------------------------------------------------------------------------

def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return value


def strict_json(obj, path: str = "$", nonfinite: list | None = None):
    """``obj`` with NumPy values made plain and every NaN or infinity replaced by None;
    the JSON path of each replaced value is appended to ``nonfinite``."""
    obj = _plain(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        if nonfinite is not None:
            nonfinite.append(path)
        return None
    if isinstance(obj, dict):
        return {str(k): strict_json(v, f"{path}.{k}", nonfinite) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v, f"{path}[{i}]", nonfinite) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"not JSON serialisable at {path}: {type(obj).__name__}")


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    """Write strict JSON (no NaN or infinity: those become null, and a top-level dict gets
    ``"nonfinite": [their paths]``) under a temporary name, then rename, so readers never
    see half a file. The temporary file is removed if anything fails."""
    path = Path(path)
    nonfinite: list[str] = []
    clean = strict_json(obj, "$", nonfinite)
    if isinstance(clean, dict):
        clean.pop(NONFINITE_KEY, None)
        if nonfinite:
            clean[NONFINITE_KEY] = nonfinite
    text = json.dumps(clean, indent=1, sort_keys=True, allow_nan=False)
    with atomic_file(path) as tmp:
        tmp.write_text(text)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike):
    """Yield a temporary path beside ``path`` (same name and suffixes after a ``.tmp-PID-``
    prefix, so writers that insist on a suffix accept it); on success it is renamed to
    ``path``, on any failure removed."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_json(path: str | os.PathLike, what: str = "JSON file"):
    """Parse a JSON file; a missing, unreadable or broken file raises :class:`DataError`
    naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as err:
        raise DataError(f"{path}: no such {what}") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a valid {what} ({err}); it may be truncated: "
                        "remove it or restore it") from err


# -- locks --------------------------------------------------------------------------

@contextlib.contextmanager
def locked(directory: str | os.PathLike, what: str = "directory", wait: bool = False):
    """Hold an exclusive lock on ``directory`` (created if absent) for the ``with`` block.

    Raises :class:`LockedError` naming the holder's pid at once, or, with ``wait``,
    blocks until the holder ends.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise LockedError(f"{directory}: {what} in progress (pid {holder}); "
                              "wait for it to end or use another directory") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield directory
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def lock_holder(directory: Path) -> str | None:
    """The pid of the live process that holds the lock of ``directory``, or None."""
    try:
        fd = os.open(directory / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        return os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
    finally:
        os.close(fd)


def is_locked(directory: Path) -> bool:
    """Whether a live process holds the lock of ``directory``."""
    return lock_holder(directory) is not None


# -- directories --------------------------------------------------------------------

def _contains(directory: Path, path: Path) -> bool:
    directory, path = directory.resolve(), path.resolve()
    return path == directory or directory in path.parents


def check_output_directory(target: Path, markers: tuple[str, ...], overwrite: bool = False,
                           inputs: tuple[Path, ...] = ()) -> None:
    """Refuse to write ``target`` unless it is absent, empty, or holds one of ``markers``
    (a directory this project wrote); ``overwrite`` lifts that, but never for a directory
    that holds one of ``inputs``. Raises :class:`RefusedError` naming the path."""
    for source in inputs:
        if _contains(target, Path(source)):
            raise RefusedError(f"{target}: holds the input {source}, which writing here would "
                               "destroy; choose another output directory")
    if not target.exists() or overwrite:
        return
    if not target.is_dir():
        raise RefusedError(f"{target}: exists and is not a directory")
    if any((target / m).is_file() for m in markers) or not any(target.iterdir()):
        return
    raise RefusedError(f"{target}: exists and is not empty, and is not a {' or '.join(markers)} "
                       "directory of danqrepro; pass --overwrite (overwrite=True) to replace it")


@contextlib.contextmanager
def atomic_directory(target: Path, markers: tuple[str, ...], overwrite: bool = False,
                     inputs: tuple[Path, ...] = ()):
    """Yield a temporary directory beside ``target`` that replaces it on success and is
    removed on any failure, so nothing half-written ever stands at ``target``.

    ``target`` is checked first (:func:`check_output_directory`). The temporary directory
    is locked by this process; partial directories of dead writers are cleared, those of
    live ones left alone.
    """
    target = Path(target)
    check_output_directory(target, markers, overwrite, inputs)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.partial-*"):
        if not is_locked(stale):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with locked(tmp, "write"):
            yield tmp
            (tmp / LOCK_FILE).unlink()
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
