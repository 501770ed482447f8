"""The merged reading copy of a case: every normalised PDF in catalogue order, one bookmark each."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from pipeline.archive.model import Document
from pipeline.store.originals import sha256_file


def merged_name(archive_code: str) -> str:
    return f"{archive_code}-合并阅读本.pdf"


def write_merged(documents: Sequence[Document], out: Path, title: str) -> int:
    """Write the reading copy; returns its page count. Same inputs give the same bytes (pypdf adds
    no time or random ID unless asked)."""
    writer = PdfWriter()
    seen: set[str] = set()
    # A generated .docx whose PDF is also an output, and a PDF published twice (公示表/ and 网站公示/),
    # are read once.
    pdf_stems = {Path(d.name).stem.split("-", 1)[1] for d in documents if d.role == "output" and d.kind == "pdf"}
    for doc in documents:
        if doc.pdf is None:
            continue
        digest = sha256_file(doc.pdf)
        if digest in seen or (doc.role == "output" and doc.kind != "pdf"
                              and Path(doc.name).stem.split("-", 1)[1] in pdf_stems):
            continue
        seen.add(digest)
        start = len(writer.pages)
        reader = PdfReader(doc.pdf)
        for page in reader.pages:
            writer.add_page(page)
        if len(writer.pages) > start:
            writer.add_outline_item(title=f"{doc.seq}. {doc.title}", page_number=start)
    writer.add_metadata({"/Title": title, "/Producer": "shuangsui"})
    with out.open("wb") as fh:
        writer.write(fh)
    return len(writer.pages)
