"""The pipeline's store: see ``base`` for the interface and ``sql`` for the SQLite default."""

from pipeline.store.base import (
    ArchiveRecord,
    Ask,
    CaseRow,
    ConversionJob,
    EventRow,
    FileRow,
    FindingRow,
    NewConversion,
    NewScanBox,
    OutputRow,
    PenaltyRow,
    Question,
    ScanDocumentRow,
    Store,
    StoreTx,
)
from pipeline.store.sql import SqlStore


def open_store(url: str) -> SqlStore:
    return SqlStore(url)


__all__ = ["ArchiveRecord", "Ask", "CaseRow", "ConversionJob", "EventRow", "FileRow", "FindingRow", "NewConversion", "NewScanBox", "OutputRow",
           "PenaltyRow", "Question", "ScanDocumentRow", "SqlStore", "Store", "StoreTx", "open_store"]
