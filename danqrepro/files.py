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
from dataclasses import dataclass
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
    for stale in path.parent.glob(".tmp-*-*"):  # left here by writers that died
        pid = stale.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)) and stale.is_file():
            stale.unlink(missing_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as err:
        close_hdf5_files(tmp)
        tmp.unlink(missing_ok=True)
        _raise_naming(err, tmp, path)
        raise


def reserve(path: str | os.PathLike, size: int) -> None:
    """Back the file ``path`` with disk blocks up to ``size`` bytes (``posix_fallocate``;
    it grows to that size if smaller), so that writes inside it cannot meet a full disk;
    raises the OSError naming it where the blocks cannot be had."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as err:
        raise OSError(err.errno, os.strerror(err.errno), os.fspath(path)) from err
    finally:
        os.close(fd)


def close_hdf5_files(path: str | os.PathLike) -> None:
    """Close every HDF5 file still open at or under ``path``. A writer that fails part way
    (Keras's ``save_weights``, an unclosed ``h5py.File``, on a full disk) leaves its file
    open, and HDF5 flushing it again at exit crashes the interpreter (a segfault)."""
    import h5py
    root = os.path.abspath(path)
    for file_id in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE):
        name = os.path.abspath(os.fsdecode(file_id.name))
        if name == root or name.startswith(root + os.sep):
            with contextlib.suppress(Exception):  # its flush fails again: closed regardless
                h5py.File(file_id).close()


def _raise_naming(err: BaseException, tmp: Path, path: Path) -> None:
    """Re-raise an OSError about the temporary ``tmp`` (or about no file: h5py's) as one
    about ``path``, the output the user named, with the operating system's reason
    ("No space left on device" rather than HDF5's trace)."""
    if not (isinstance(err, OSError) and err.errno):
        return
    named = os.fspath(err.filename) if err.filename is not None else None
    if named is None or named == os.fspath(tmp):
        raise OSError(err.errno, os.strerror(err.errno), os.fspath(path)) from err
    if named.startswith(os.fspath(tmp) + os.sep):
        inside = os.path.join(os.fspath(path), os.path.relpath(named, tmp))
        raise OSError(err.errno, os.strerror(err.errno), inside) from err


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


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


@dataclass(frozen=True)
class Marker:
    """The file by which a directory is known as one that a command of danqrepro wrote:
    ``name``, a JSON object holding ``key`` (equal to ``value`` where one is given). A file
    of that name with other content marks nothing."""

    name: str
    key: str
    value: object = None

    def found_in(self, directory: Path) -> bool:
        try:
            obj = json.loads((Path(directory) / self.name).read_text())
        except (OSError, ValueError):
            return False
        return isinstance(obj, dict) and self.key in obj and (self.value is None
                                                              or obj[self.key] == self.value)


def check_output_directory(target: Path, markers: tuple[Marker, ...], overwrite: bool = False,
                           inputs: tuple[Path, ...] = ()) -> None:
    """Refuse to write ``target`` unless it is absent, empty, or holds one of ``markers``
    (a directory of the same kind that this project wrote); ``overwrite`` lifts that, but
    never for a directory that holds one of ``inputs``. Raises :class:`RefusedError`
    naming the path."""
    for source in inputs:
        if _contains(target, Path(source)):
            raise RefusedError(f"{target}: holds the input {source}, which writing here would "
                               "destroy; choose another output directory")
    if not target.exists() or overwrite:
        return
    if not target.is_dir():
        raise RefusedError(f"{target}: exists and is not a directory")
    if any(m.found_in(target) for m in markers) or not any(target.iterdir()):
        return
    raise RefusedError(f"{target}: exists and is not empty, and is not a directory danqrepro "
                       f"wrote (no {' or '.join(m.name for m in markers)} of its own); pass "
                       "--overwrite (overwrite=True) to replace it")


def check_output_file(out: str | os.PathLike, inputs: tuple = (), keep: tuple = (),
                      overwrite: bool = False) -> Path:
    """The rule for a file a command writes (``-o``): never one of its ``inputs``, never a
    file inside a directory in ``keep`` (a run or a store), never a directory, and not an
    existing file unless ``overwrite``. Raises :class:`RefusedError` naming the path."""
    out = Path(out)
    if out.is_dir():
        raise RefusedError(f"{out}: is a directory; name the file to write")
    for source in inputs:
        if source is not None and out.resolve() == Path(source).resolve():
            raise RefusedError(f"{out}: is an input of this command; choose another output file")
    for directory in keep:
        if directory is not None and _contains(Path(directory), out):
            raise RefusedError(f"{out}: is inside {directory}, whose files danqrepro keeps; "
                               "choose another output file")
    if out.exists() and not overwrite:
        raise RefusedError(f"{out}: exists; pass --overwrite to replace it")
    return out


@contextlib.contextmanager
def _writer_lock(target: Path):
    """One writer of ``target`` at a time: a second is refused at once with the first's pid
    (:class:`LockedError`)."""
    lock = target.parent / f".{target.name}.writer"
    with locked(lock, f"writing {target.name}"):
        try:
            yield
        finally:
            shutil.rmtree(lock, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(target: Path, markers: tuple[Marker, ...], overwrite: bool = False,
                     inputs: tuple[Path, ...] = ()):
    """Yield a temporary directory beside ``target`` that replaces it on success and is
    removed on any failure, so nothing half-written ever stands at ``target``.

    One process writes ``target`` at a time (a second is refused at once, naming the first's
    pid); ``target`` is checked (:func:`check_output_directory`) once that lock is held.
    Partial directories of dead writers are cleared.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _writer_lock(target):
        check_output_directory(target, markers, overwrite, inputs)
        for stale in target.parent.glob(".*.partial-*"):  # of any output here, writer dead
            if stale.is_dir() and not is_locked(stale):
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
        except BaseException as err:
            close_hdf5_files(tmp)
            shutil.rmtree(tmp, ignore_errors=True)
            _raise_naming(err, tmp, target)
            raise
