"""Signed scans for the demo: the complete sample cases come with their signed, sealed paper copies.

Each typed sample form gets a scan named after it (``检查表-某某公司.docx`` → ``检查表-某某公司-签字.tif``),
as staff would name a scan of a form printed from Word (no QR code), so the demo shows matching by
name. Multi-page TIFF keeps the demo byte-identical on every run. Needs LibreOffice (the forms are
printed to PDF first); without it the demo says so and leaves the scans out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.core.settings import Settings
from pipeline.documents.libreoffice import Converter, LibreOfficeMissing
from pipeline.documents.render import CHECK_TABLE_FORM, SITE_RECORD_FORM
from pipeline.samples.scan_synth import ALL_MARKS, FormPdfs, Marks, Scanning, make_scan

REFUSED = Marks.of(ink=("refusal_reason", "witness_signature", "inspector_signatures"))
SIGNED = Marks.of(ink=("party_signature", "inspector_signatures"), seals=("party_seal",))


def write_demo_scans(settings: Settings, typed: Sequence[tuple[Path, str, Mapping[str, Any]]]) -> list[Path]:
    """A signed scan beside each ``(typed file, form, fields)``; [] when LibreOffice is missing."""
    try:
        converter = Converter(settings.soffice)
    except LibreOfficeMissing:
        return []
    written = []
    try:
        pdfs = FormPdfs(converter, settings.data_dir / "demo-forms", settings.templates_dir)
        for n, (path, form, fields) in enumerate(typed):
            if form == CHECK_TABLE_FORM:
                marks = ALL_MARKS[CHECK_TABLE_FORM]
            else:
                marks = REFUSED if fields.get("refusal_reason") else SIGNED
            out = path.with_name(f"{path.stem}-签字.tif")
            # A slightly skewed colour scan, as from an office scanner.
            make_scan(pdfs.get(form if form == CHECK_TABLE_FORM else SITE_RECORD_FORM, "", fields), marks,
                      Scanning(dpi=200, angle=0.6 * (n % 3 - 1), noise=3.0, quality=85), out, seed=n)
            written.append(out)
    finally:
        converter.close()
    return written
