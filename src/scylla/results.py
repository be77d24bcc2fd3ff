"""Reading and writing ``result.json`` (schema in docs/experiment-runner.md)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from .errors import ResultsWriteError

RESULT_SCHEMA_VERSION = 1
RESULT_FILE = "result.json"


def write_json_atomically(path: Path, data: dict) -> None:
    """Write JSON so that readers (other shards, --summarize-only) never see half a file.

    A failed write (a full disk) removes its temporary file and raises
    :class:`ResultsWriteError` naming the path; the earlier file, if any, is intact.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        try:
            temporary.unlink()
        except OSError:
            pass
        raise ResultsWriteError.from_os_error(error, path) from None


def load_result(path: Path) -> dict | None:
    """The parsed result, or None when the file is missing or not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def is_complete(result: dict | None) -> bool:
    """A completed run is kept on re-runs; anything else is redone."""
    return (
        result is not None
        and result.get("schema_version") == RESULT_SCHEMA_VERSION
        and result.get("status") == "completed"
        and isinstance(result.get("score"), (int, float))
    )
