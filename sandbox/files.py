"""Files the emulator holds: uploaded by the bot or sent by simulated people."""

from __future__ import annotations

import mimetypes
import zlib
from dataclasses import dataclass
from typing import Final

from sandbox.images import image_size
from sandbox.json_types import JsonDict


@dataclass
class StoredFile:
    """A file the emulator holds: uploaded by the bot or sent by a simulated person."""

    file_id: str
    file_unique_id: str
    data: bytes
    kind: str  # photo | document | sticker
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    def photo_size(self) -> JsonDict:
        """As a PhotoSize object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": len(self.data),
        }

    def document(self) -> JsonDict:
        """As a Document object."""
        document: JsonDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.file_name:
            document["file_name"] = self.file_name
        if self.mime_type:
            document["mime_type"] = self.mime_type
        return document

    def file_object(self) -> JsonDict:
        """As a File object (getFile's result)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


class FileStore:
    """All files by file_id and by download path."""

    _PREFIX: Final = {"photo": "AgAC", "document": "BQAC", "sticker": "CAAC"}
    _FOLDER: Final = {"photo": "photos", "document": "documents", "sticker": "stickers"}

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}

    def add(
        self,
        data: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Store bytes and give them a new file_id."""
        number = len(self._by_id) + 1
        unique = f"AQAD{zlib.crc32(data):08x}{number:04d}"
        file_id = f"{self._PREFIX.get(kind, 'BQAC')}AgIEmu{number:06d}{unique}"
        if file_name:
            suffix = "." + file_name.rsplit(".", 1)[-1] if "." in file_name else ""
        else:
            suffix = mimetypes.guess_extension(mime_type or "") or ".jpg"
        path = f"{self._FOLDER.get(kind, 'documents')}/file_{number}{suffix}"
        size = image_size(data) if kind in {"photo", "sticker"} else None
        stored = StoredFile(file_id, unique, data, kind, path, file_name, mime_type)
        if size is not None:
            stored.width, stored.height = size
        elif kind == "photo":
            stored.width, stored.height = 320, 240  # unknown format: plausible placeholder
        self._by_id[file_id] = stored
        self._by_path[path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """By file_id."""
        return self._by_id.get(file_id)

    def by_path(self, path: str) -> StoredFile | None:
        """By the file_path getFile returned."""
        return self._by_path.get(path)
