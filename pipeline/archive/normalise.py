"""Normalised PDFs of a case's documents (the 版式文件 an archive keeps beside each original).

Word/Excel/legacy files go through LibreOffice to PDF/A-2b, a PDF is kept as it is, an image becomes
a one-page PDF (Pillow). LibreOffice stamps each export with the time and a random document ID, so a
second conversion of the same file never gives the same bytes: every normalised PDF is kept in a
cache by the SHA-256 of its source (``<data_dir>/归档PDF/``), and packaging an unchanged case again
reuses it and so yields the same package bytes.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image
from pypdf import PdfReader

from pipeline.archive.model import Document
from pipeline.core.errors import ShuangsuiError
from pipeline.documents.conversion_queue import QueueTimeout
from pipeline.documents.libreoffice import PDFA2B_FILTER, ConversionError, Converter, Converting

__all__ = ["Converting", "cache_dir", "normalise"]

CALC_PDFA2B_FILTER = 'calc_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
_WRITER_KINDS = {"docx": ".docx", "odt": ".odt", "rtf": ".rtf", "ole2": ".doc", "html": ".html"}
_CALC_KINDS = {"xlsx": ".xlsx", "xls": ".xls", "ods": ".ods"}
# Pillow stamps the time into the PDF unless told otherwise.
_FIXED_PDF_DATE = (1980, 1, 1, 0, 0, 0, 1, 1, 0)


def cache_dir(settings: Any) -> Path:
    return settings.data_dir / "归档PDF"


def normalise(documents: Sequence[Document], settings: Any,
              converter: Callable[[], Converting] | None = None) -> tuple[Document, ...]:
    """``documents`` with ``pdf`` and ``pages`` set (or a ``note`` saying why there is no PDF).

    ``converter`` gives the LibreOffice converter to use, called only when a file is not cached yet.
    A generated .docx whose PDF is published too (the 公示表) takes that PDF as its 版式文件.
    """
    cache = cache_dir(settings)
    cache.mkdir(parents=True, exist_ok=True)
    todo: dict[str, list[tuple[int, Document]]] = {"writer": [], "calc": []}
    out: dict[int, Document] = {}
    published_pdfs = {_stem(d): d.source for d in documents if d.role == "output" and d.kind == "pdf"}
    for n, doc in enumerate(documents):
        cached = cache / f"{doc.sha256}.pdf"
        if doc.role == "output" and doc.kind in _WRITER_KINDS and _stem(doc) in published_pdfs:
            out[n] = _with_pdf(doc, published_pdfs[_stem(doc)])
        elif cached.is_file():
            out[n] = _with_pdf(doc, cached)
        elif doc.kind == "pdf":
            out[n] = _with_pdf(doc, doc.source)
        elif doc.kind == "image":
            out[n] = _image_pdf(doc, cached, settings)
        elif doc.kind in _WRITER_KINDS:
            todo["writer"].append((n, doc))
        elif doc.kind in _CALC_KINDS:
            todo["calc"].append((n, doc))
        else:
            out[n] = replace(doc, note=f"格式 {doc.kind} 没有版式文件，只归档原件。")
    if todo["writer"] or todo["calc"]:
        owned = converter is None
        conv = Converter(settings.soffice) if converter is None else converter()
        try:
            for group, docs in todo.items():
                if docs:
                    out.update(_convert(conv, docs, group, cache))
        finally:
            if owned:
                conv.close()
    return tuple(out[n] for n in range(len(documents)))


def _stem(doc: Document) -> str:
    """The output's own name without the 顺序号 prefix and extension."""
    return Path(doc.name).stem.split("-", 1)[-1]


def _convert(conv: Converting, docs: list[tuple[int, Document]], group: str, cache: Path) -> dict[int, Document]:
    """Convert in one batch (one soffice run per worker); returns position → document."""
    kinds = _WRITER_KINDS if group == "writer" else _CALC_KINDS
    staging = cache / f".staging-{os.getpid()}-{threading.get_ident()}"  # watch normalises in a thread too
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        links = {}
        for n, doc in docs:
            # The originals store has no extensions; LibreOffice picks its import filter by one.
            link = staging / f"{n:04d}{kinds[doc.kind]}"
            shutil.copyfile(doc.source, link)
            links[link] = (n, doc)
        filt = PDFA2B_FILTER if group == "writer" else CALC_PDFA2B_FILTER
        done = conv.convert_many(list(links), "pdf", staging / "out", filt)
        result: dict[int, Document] = {}
        for link, (n, doc) in links.items():
            pdf = done.get(link)
            if pdf is None:
                result[n] = replace(doc, note="LibreOffice 无法把它转换为 PDF，只归档原件。")
                continue
            cached = cache / f"{doc.sha256}.pdf"
            tmp = cache / f".{doc.sha256}.pdf.part"
            shutil.copyfile(pdf, tmp)
            tmp.replace(cached)
            result[n] = _with_pdf(doc, cached)
        return result
    except QueueTimeout:
        raise  # no converter now (role intake): packaging waits for one instead of archiving without PDFs
    except ConversionError as exc:
        return {n: replace(d, note=f"无法转换为 PDF：{exc.message}") for n, d in docs}
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _image_pdf(doc: Document, cached: Path, settings: Any) -> Document:
    writer = _scan_writer()
    tmp = cached.with_name(f".{cached.name}.part")
    try:
        if writer is not None:
            writer(doc.source, range(int(getattr(settings, "scan_max_pages", 500))), tmp, settings)
        else:
            with Image.open(doc.source) as im:
                frames = []
                for n in range(getattr(im, "n_frames", 1)):
                    im.seek(n)
                    frames.append(im.convert("RGB"))
                frames[0].save(tmp, "PDF", save_all=True, append_images=frames[1:], resolution=200.0,
                               creationDate=_FIXED_PDF_DATE, modDate=_FIXED_PDF_DATE, producer="shuangsui")
        tmp.replace(cached)
    except (OSError, ValueError, ShuangsuiError) as exc:
        tmp.unlink(missing_ok=True)
        return replace(doc, note=f"图片无法转换为 PDF：{exc}")
    return _with_pdf(doc, cached)


def _scan_writer() -> Callable[..., Any] | None:
    """``pipeline.scan.write_normalised_pdf(path, pages, out, settings)`` (upright pages, about 200 dpi)
    when the scans work provides it; else Pillow's plain conversion."""
    with contextlib.suppress(ImportError):
        module = importlib.import_module("pipeline.scan")
        writer = getattr(module, "write_normalised_pdf", None)
        return writer if callable(writer) else None
    return None


def _with_pdf(doc: Document, pdf: Path) -> Document:
    try:
        pages = len(PdfReader(pdf).pages)
    except Exception as exc:  # pypdf raises many kinds on a broken file; the usability check reports it
        return replace(doc, note=f"PDF 无法读取：{exc}")
    return replace(doc, pdf=pdf, pages=pages)
