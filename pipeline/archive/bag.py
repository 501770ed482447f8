"""Writing a BagIt bag (RFC 8493) and its zip so that the same payload always gives the same bytes.

``bagit.make_bag`` is not used to write: it moves files with ``os.chdir`` (not safe in a threaded
watcher), stamps today's date and lists tag files in directory order. The tag files here are
written in sorted order with the bag-info given; ``bagit.Bag.validate`` checks every bag after it
is written (and in ``shuangsui verify``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import bagit

from pipeline.core.ziputil import FIXED_DATE_TIME
from pipeline.store.originals import sha256_file

BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"
BAG_INFO = "bag-info.txt"
_FILE_MODE = 0o100644
_COMPRESSED = (".pdf", ".docx", ".xlsx", ".docm", ".xlsm", ".odt", ".ods", ".jpg", ".jpeg", ".png", ".zip",
               ".ofd")


def payload(bag_dir: Path) -> list[str]:
    """Payload paths (``data/…``, forward slashes) in sorted order."""
    return sorted(p.relative_to(bag_dir).as_posix() for p in (bag_dir / "data").rglob("*") if p.is_file())


def write_bag(bag_dir: Path, info: dict[str, str]) -> None:
    """Turn ``bag_dir`` (holding ``data/``) into a bag; ``info`` goes into bag-info.txt in the given
    order, followed by Payload-Oxum."""
    files = payload(bag_dir)
    size = sum((bag_dir / f).stat().st_size for f in files)
    _write(bag_dir / MANIFEST, "".join(f"{sha256_file(bag_dir / f)}  {f}\n" for f in files))
    _write(bag_dir / "bagit.txt", BAGIT_TXT)
    lines = [f"{k}: {_one_line(v)}" for k, v in info.items()] + [f"Payload-Oxum: {size}.{len(files)}"]
    _write(bag_dir / BAG_INFO, "\n".join(lines) + "\n")
    tags = sorted(("bagit.txt", BAG_INFO, MANIFEST))
    _write(bag_dir / TAGMANIFEST, "".join(f"{sha256_file(bag_dir / t)}  {t}\n" for t in tags))


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def _write(path: Path, content: str) -> None:
    path.write_bytes(content.encode("utf-8"))


def validate(bag_dir: Path) -> None:
    """Raises ``bagit.BagError`` (or ``BagValidationError`` with details) when the bag is not valid."""
    bagit.Bag(str(bag_dir)).validate()


def zip_bag(bag_dir: Path, out: Path) -> None:
    """Zip ``bag_dir`` under its own name as the top folder: sorted members, fixed time and modes."""
    members = sorted(p.relative_to(bag_dir).as_posix() for p in bag_dir.rglob("*") if p.is_file())
    with zipfile.ZipFile(out, "w") as zf:
        for rel in members:
            info = zipfile.ZipInfo(f"{bag_dir.name}/{rel}", date_time=FIXED_DATE_TIME)
            info.create_system = 3
            info.external_attr = _FILE_MODE << 16
            data = (bag_dir / rel).read_bytes()
            if rel.lower().endswith(_COMPRESSED):
                # Already compressed: deflating again costs seconds and saves nothing.
                info.compress_type = zipfile.ZIP_STORED
                zf.writestr(info, data)
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data, compresslevel=6)


def bag_info_of(bag_dir: Path) -> dict[str, str]:
    """bag-info.txt as a dict (first value of a repeated label); empty when missing."""
    path = bag_dir / BAG_INFO
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if ":" in line and not line.startswith((" ", "\t")):
            key, value = line.split(":", 1)
            out.setdefault(key.strip(), value.strip())
    return out
