"""Where the PDFs live. One small interface (``put``/``get``) so an object store (S3,
MinIO…) can replace the local directory without touching the rest of the service."""
import os
import tempfile
from pathlib import Path
from typing import Protocol


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there, all or nothing."""

    def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None."""

    def delete(self, key: str) -> None:
        """Remove what is stored under ``key``, if anything."""


class LocalStorage:
    """Files under one directory (``DATA_DIR/documents``); keys are relative paths."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path_of(self, key: str) -> Path:
        parts = key.split("/")
        if any(part in ("", ".", "..") or "\\" in part for part in parts):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes) -> None:
        path = self.path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target then renamed: a reader sees the old file or the new
        # one, never half of one, even when the writer is killed.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self.path_of(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)


def storage_for(settings) -> Storage:
    return LocalStorage(settings.data_dir / "documents")


def install_storage(app) -> None:
    """Give the service app its store (``create_app`` calls it; no I/O: the folder is made
    at the first write)."""
    app.extensions["documents.storage"] = storage_for(app.extensions["service"].settings)


def current_storage() -> Storage:
    """The store of the running service app (set by ``install_storage``)."""
    from flask import current_app

    return current_app.extensions["documents.storage"]
