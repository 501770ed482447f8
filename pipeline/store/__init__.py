"""The pipeline's store: see ``base`` for the interface and ``sql`` for the SQLite default."""

from pipeline.store.base import CaseRow, EventRow, FileRow, FindingRow, OutputRow, Store, StoreTx
from pipeline.store.sql import SqlStore


def open_store(url: str) -> SqlStore:
    return SqlStore(url)


__all__ = ["CaseRow", "EventRow", "FileRow", "FindingRow", "OutputRow", "SqlStore", "Store", "StoreTx",
           "open_store"]
