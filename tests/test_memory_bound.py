"""The whole process tree of ``shuangsui process`` stays under 1.5 GB on the hostile corpus (issue #10).

The parent, the forked analysis worker and LibreOffice (started by the worker for a legacy .doc) are
sampled together every 50 ms while a pass runs over every hostile file, a shared-string bomb of
400 MB that lies about its size, a 70-megapixel photo, the printed form scanned at 600 and 400 dpi
(OCR at full cost), a .doc and a good check table. Every file must be in the JSON and the pass must
exit 0.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pipeline.core.settings import Settings
from pipeline.documents.libreoffice import Converter
from tests.conftest import Samples, cli_env
from tests.hostile_files import CORPUS, MIB, S_NS, Member, repeated, xlsx
from tests.process_tree import PeakSampler
from tests.scan_forge import BOXES, Scanner, forge
from tests.system_deps import require_soffice

pytestmark = pytest.mark.slow

MAX_TREE_RSS = 1536 * MIB


def lying_shared_strings_xlsx(path: Path, megabytes: int) -> Path:
    """Shared strings of ``megabytes`` MiB whose zip directory declares 1 KiB."""
    item = b"<si><t>abcdefghijklmnopqrstuvwxyz0123</t></si>"
    real = repeated("xl/sharedStrings.xml", f'<sst xmlns="{S_NS}">'.encode(), item * (MIB // len(item)),
                    megabytes, b"</sst>")
    return xlsx(path, shared=Member(real.name, real.payload, real.crc, 1024))


def big_scan(path: Path, rng: random.Random) -> Path:
    """A photographed page just under ``scan_max_pixels`` (70 MP): text lines, a red seal, noise —
    the most a legitimate scan may cost the OCR and the image analysis."""
    page = Image.new("RGB", (7000, 10000), "white")
    draw = ImageDraw.Draw(page)
    for row in range(60):
        y = 400 + row * 150
        draw.text((500, y), "被抽查单位 烟台某某贸易有限公司 " * 2, fill="black", font_size=90)
    draw.ellipse((4500, 8000, 5700, 9200), outline=(220, 30, 30), width=40)
    noise = np.random.default_rng(rng.randrange(2**32)).integers(0, 40, (10000, 7000, 1), dtype=np.uint8)
    Image.fromarray(np.clip(np.asarray(page).astype(np.int16) - noise, 0, 255).astype(np.uint8)).save(
        path, "JPEG", quality=80)
    return path


def test_process_tree_stays_under_1_5_gb_on_the_hostile_corpus(
        settings: Settings, samples: Samples, tmp_path: Path) -> None:
    require_soffice()
    samples.lists()
    base = samples.check_table("检查表.docx", folder=tmp_path)
    for hostile in CORPUS:
        hostile.build(base, settings.inbox / hostile.name)
    big_scan(settings.inbox / "大扫描件.jpg", random.Random(10))
    # The printed form signed and scanned at 600 dpi (35 MP): table finding, rectifying and OCR at full cost.
    with Converter() as converter:
        printed = converter.convert(base, "pdf", tmp_path)
        converter.convert(base, "doc", settings.inbox)
    forge(printed, settings.inbox, 1, dict.fromkeys(BOXES, True), Scanner(dpi=600, angle=1.5), seed=10)
    forge(printed, settings.inbox, 2, dict.fromkeys(BOXES, True), Scanner(dpi=400, layout="pdf"), seed=11)
    lying_shared_strings_xlsx(settings.inbox / "共享字符串-谎报.xlsx", 400)
    (settings.inbox / "检查表.docx").write_bytes(base.read_bytes())
    names = {p.name for p in settings.inbox.iterdir() if p.is_file()}

    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "process", "--json"], env=cli_env(settings),
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with PeakSampler(proc) as sampler:
        out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert sampler.samples > 10
    files = {f["name"]: f for f in json.loads(out)["files"]}
    assert names <= set(files), names - set(files)
    assert files["检查表.docx"]["status"] == "accepted", files["检查表.docx"]
    assert files["共享字符串-谎报.xlsx"]["status"] == "rejected"
    assert files["检查表.doc"]["status"] == "accepted", files["检查表.doc"]  # read through LibreOffice
    assert "soffice.bin" in sampler.by_name, "LibreOffice was sampled with the tree"
    assert (settings.outbox / "公示表").is_dir() and any((settings.outbox / "公示表").glob("*.pdf"))
    each = ", ".join(f"{name} {rss / MIB:.0f} MB" for name, rss in sorted(sampler.by_name.items()))
    print(f"peak RSS of the process tree: {sampler.peak / MIB:.0f} MB over {sampler.samples} samples ({each})")
    assert sampler.peak < MAX_TREE_RSS, f"peak {sampler.peak / MIB:.0f} MB"
