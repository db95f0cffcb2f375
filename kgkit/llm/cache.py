"""A content-addressed disk cache of LLM answers: a re-run with the same request costs nothing.

The key hashes everything that determines the answer: model, prompt version, messages (hence the
chunk text), response format, temperature, max tokens and a caller-supplied extra string. Entries are
small JSON files under ``<cache_dir>/<key[:2]>/<key>.json``, written atomically, so several processes
can share a cache directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = ["ResponseCache", "cache_key"]


def cache_key(
    *,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    prompt_version: str,
    response_format: Mapping[str, Any] | None,
    temperature: float,
    max_tokens: int | None,
    extra: str = "",
) -> str:
    """The sha256 of a canonical JSON rendering of the request."""
    payload = {
        "model": model, "prompt_version": prompt_version, "messages": list(messages),
        "response_format": response_format, "temperature": temperature, "max_tokens": max_tokens,
        "extra": extra,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """Answers on disk, one JSON file per key. The directory is created on first write."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def __contains__(self, key: str) -> bool:
        return self._path(key).is_file()

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError):
            # A torn or corrupt entry is a miss: the call is repeated and the entry rewritten.
            return None
        return data if isinstance(data, dict) and "text" in data else None

    def put(self, key: str, entry: Mapping[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(dict(entry), fh, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def __len__(self) -> int:
        if not self.directory.is_dir():
            return 0
        return sum(1 for _ in self.directory.glob("*/*.json"))
