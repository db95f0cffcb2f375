"""Walk an ingest folder: which files to read, and which paths were skipped and why.

The walk never reads a file. It decides on ``lstat``/``stat`` alone, so devices, FIFOs and sockets are
reported instead of opened, symlink loops and unreadable folders are reported instead of silently
left out, and symlinks that lead outside the folder are not followed unless asked for.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from kgkit.errors import IngestError
from kgkit.ingest.paths import path_to_text, root_id

__all__ = ["DEFAULT_INCLUDE", "IGNORE_FILE", "SourceFile", "SkippedPath", "FolderScan", "scan", "scan_folder"]

DEFAULT_INCLUDE = ("**/*.txt", "**/*.md", "**/*.markdown", "**/*.html", "**/*.htm", "**/*.pdf")
IGNORE_FILE = ".kgkitignore"
_IGNORE_FILE_MAX = 1 << 20


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found by :func:`scan`; ``doc_id`` is stable across runs and machines for the same folder."""

    path: Path
    doc_id: str
    size: int
    mtime_ns: int

    @property
    def text_path(self) -> str:
        """``path`` as storable text (see :func:`kgkit.ingest.paths.path_to_text`)."""
        return path_to_text(self.path)


@dataclass(frozen=True, slots=True)
class SkippedPath:
    """A path the walk did not read: ``kind`` is a short category, ``reason`` what, ``fix`` what to do."""

    path: str
    kind: str
    reason: str
    fix: str


@dataclass
class FolderScan:
    root: Path  # resolved, absolute
    files: list[SourceFile] = field(default_factory=list)
    skipped: list[SkippedPath] = field(default_factory=list)
    not_matched: int = 0  # regular files that match no include pattern (or an exclude pattern)


def _match(rel: str, patterns: Iterable[str]) -> bool:
    # Case-insensitive: `.TXT` and `.Md` are the same kinds of file as `.txt` and `.md`.
    rel = rel.lower()
    for pat in patterns:
        pat = pat.lower()
        if fnmatch.fnmatchcase(rel, pat) or (pat.startswith("**/") and fnmatch.fnmatchcase(rel, pat[3:])):
            return True
    return False


def _ignore_patterns(root: Path) -> list[str]:
    ignore = root / IGNORE_FILE
    try:
        st = ignore.stat()
    except OSError:
        return []
    if not stat.S_ISREG(st.st_mode) or st.st_size > _IGNORE_FILE_MAX:
        return []
    text = ignore.read_bytes().decode("utf-8", errors="replace")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


class _Walk:
    def __init__(self, root: Path, include: Sequence[str], exclude: Sequence[str], follow_symlinks: bool) -> None:
        self.root = root
        self.root_str = str(root)
        self.include, self.exclude = include, exclude
        self.follow = follow_symlinks
        self.result = FolderScan(root)
        self.prefix = f"{path_to_text(root.name) or 'root'}@{root_id(root)}/"
        st = root.stat()
        self.visited = {(st.st_dev, st.st_ino)}

    def skip(self, path: str, kind: str, reason: str, fix: str) -> None:
        self.result.skipped.append(SkippedPath(path_to_text(path), kind, reason, fix))

    def inside(self, target: str) -> bool:
        return target == self.root_str or target.startswith(self.root_str.rstrip(os.sep) + os.sep)

    def run(self) -> FolderScan:
        stack = [(self.root_str, "")]
        while stack:
            dir_path, rel_dir = stack.pop()
            subdirs = self.walk_dir(dir_path, rel_dir)
            stack.extend(reversed(subdirs))  # depth-first, in name order
        return self.result

    def walk_dir(self, dir_path: str, rel_dir: str) -> list[tuple[str, str]]:
        try:
            with os.scandir(dir_path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except PermissionError:
            self.skip(dir_path, "unreadable_folder", "folder cannot be listed (permission denied)",
                      "make it readable (chmod +rx) or exclude it")
            return []
        except OSError as err:
            self.skip(dir_path, "unreadable_folder", f"folder cannot be listed ({err.strerror or err})",
                      "check the folder, or exclude it")
            return []
        subdirs: list[tuple[str, str]] = []
        for e in entries:
            if e.name.startswith("."):
                continue
            rel = f"{rel_dir}{path_to_text(e.name)}"
            sub = self.visit(e, rel)
            if sub is not None:
                subdirs.append(sub)
        return subdirs

    def visit(self, e: os.DirEntry[str], rel: str) -> tuple[str, str] | None:
        is_link = False
        try:
            is_link = e.is_symlink()
            st = os.stat(e.path) if is_link else e.stat(follow_symlinks=False)
        except OSError as err:
            if is_link and err.errno == errno.ELOOP:
                self.skip(e.path, "symlink_loop", "symlink loop", "remove or fix the symlink")
            elif is_link and err.errno == errno.ENOENT:
                if _match(rel, self.include):
                    self.skip(e.path, "broken_symlink", "symlink points to nothing", "remove or fix the symlink")
            else:
                self.skip(e.path, "unreadable", f"cannot stat ({err.strerror or err})", "check the file's permissions")
            return None
        is_dir = stat.S_ISDIR(st.st_mode)
        if not is_dir and (not _match(rel, self.include) or _match(rel, self.exclude)):
            self.result.not_matched += 1
            return None
        if is_link and not self.follow_link(e.path, is_dir, st):
            return None
        if is_dir:
            key = (st.st_dev, st.st_ino)
            if key in self.visited:  # only reachable through followed symlinks
                self.skip(e.path, "symlink_loop", "folder already walked (a symlink loop or a second link to it)",
                          "nothing to do; its files are read once")
                return None
            self.visited.add(key)
            return e.path, rel + "/"
        if not stat.S_ISREG(st.st_mode):
            self.skip(e.path, "not_regular_file", f"{_kind_of(st.st_mode)}, not a regular file; never read",
                      "exclude it, or replace it with a regular file")
            return None
        self.result.files.append(SourceFile(Path(e.path), self.prefix + rel, st.st_size, st.st_mtime_ns))
        return None

    def follow_link(self, path: str, is_dir: bool, st: os.stat_result) -> bool:
        """Whether to use what a symlink points to (it was already stat'ed successfully)."""
        target = os.path.realpath(path)
        inside = self.inside(target)
        if not inside and not self.follow:
            self.skip(path, "symlink_outside", f"symlink to {path_to_text(target)}, outside the ingested folder; not followed",
                      "set ingest.follow_symlinks: true to follow it, or copy the file into the folder")
            return False
        if is_dir and inside:
            # Inside the folder its files are ingested under their real path; following would read
            # them twice or, for a link to an ancestor, forever.
            here = os.path.realpath(os.path.dirname(path))
            loop = here == target or here.startswith(target.rstrip(os.sep) + os.sep)
            what = "a symlink loop" if loop else "already ingested under its real path"
            self.skip(path, "symlink_loop" if loop else "symlink_inside", f"symlink to folder {path_to_text(target)}, {what}",
                      "nothing to do; its files are read once, from their real place")
            return False
        return True


def scan(
    root: str | Path, include: Sequence[str] = DEFAULT_INCLUDE, exclude: Sequence[str] = (), *,
    follow_symlinks: bool = False,
) -> FolderScan:
    """Walk ``root``: the files matching ``include`` and not ``exclude`` (glob patterns, case-insensitive),
    and every path that would have been read but was skipped, with the reason and the fix.

    Patterns in a ``.kgkitignore`` file at the root are added to ``exclude``. Hidden files and folders
    are skipped. A document id is ``<folder name>@<root id>/<relative path>``, where the root id is a
    hash of the folder's resolved absolute path, so two folders named ``docs`` never share ids.
    """
    root = Path(os.path.realpath(root))
    if not root.is_dir():
        raise IngestError(f"{path_to_text(root)} is not a folder; pass the folder of documents to ingest")
    exclude = [*exclude, *_ignore_patterns(root)]
    return _Walk(root, include, exclude, follow_symlinks).run()


def scan_folder(root: str | Path, include: Sequence[str] = DEFAULT_INCLUDE, exclude: Sequence[str] = ()) -> list[SourceFile]:
    """The files of :func:`scan` (without the record of skipped paths)."""
    return scan(root, include, exclude).files
