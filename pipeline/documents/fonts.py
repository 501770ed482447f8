"""The faces the PDFs are set in: 宋体 as a serif Simplified Chinese face, 黑体 as a sans one, and the Latin text
(digits of dates, certificate and phone numbers) in the same family as the Chinese around it.

LibreOffice asks fontconfig for a face that a document names and the server lacks. Left alone, fontconfig answers
宋体 with the first CJK face it knows (Noto Sans CJK, a sans face) and Times New Roman with DejaVu, so a form printed
from the PDF looks unlike the one printed from Word. Every soffice the converters start therefore gets
``FONTCONFIG_FILE`` pointing at ``fontconfig_text()``: the system's configuration plus aliases. An alias only
*accepts* a face after the named one, so a real 宋体 (SimSun) the bureau installs on the server still wins.

The faces come from Debian's fonts-noto-cjk (Noto Serif CJK SC, Noto Sans CJK SC). In that collection every
language shares one CFF table named ``NotoSerifCJKjp``, so a PDF names the JP face even where the glyphs are SC.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

SYSTEM_FONTCONFIG = "/etc/fonts/fonts.conf"

# Faces to use, best first; the first installed one is taken.
SERIF_FACES = ("Noto Serif CJK SC", "AR PL UMing CN", "AR PL SungtiL GB")
SANS_FACES = ("Noto Sans CJK SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei")

# Names documents use for them. Times New Roman is the Latin face of our templates: its digits follow the 宋体 text.
SERIF_NAMES = ("宋体", "SimSun", "新宋体", "NSimSun", "仿宋", "FangSong", "仿宋_GB2312", "方正小标宋简体",
               "Times New Roman")
SANS_NAMES = ("黑体", "SimHei", "微软雅黑", "Microsoft YaHei")

# A 宋体 of the bureau's own counts as present as well.
_REAL_SONG = ("宋体", "SimSun", "新宋体", "NSimSun")

FONT_PACKAGE = "fonts-noto-cjk"
MISSING_SERIF = (f"没有宋体类（衬线）中文字体，PDF 中的宋体会被换成黑体或方框。请安装：sudo apt-get install {FONT_PACKAGE}"
                 "（含 Noto Serif CJK SC），或把本局的宋体字体文件放入 /usr/local/share/fonts/ 后运行 fc-cache -f。")


def fontconfig_text(base: str | None = None) -> str:
    """A fontconfig configuration: ``base`` (default: ``$FONTCONFIG_FILE`` or the system's) plus the aliases."""
    base = base or os.environ.get("FONTCONFIG_FILE") or SYSTEM_FONTCONFIG
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">', "<fontconfig>",
             f'  <include ignore_missing="yes">{escape(base)}</include>']
    for names, faces in ((SERIF_NAMES, SERIF_FACES), (SANS_NAMES, SANS_FACES)):
        accept = "".join(f"<family>{escape(face)}</family>" for face in faces)
        lines += [f'  <alias binding="same"><family>{escape(name)}</family><accept>{accept}</accept></alias>'
                  for name in names]
    lines.append("</fontconfig>")
    return "\n".join(lines) + "\n"


def write_fontconfig(path: Path) -> Path:
    """Write the configuration to ``path`` (replacing it) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # several processes may write it at once
    tmp.write_text(fontconfig_text(), encoding="utf-8")
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class FaceCheck:
    """Which face the PDFs' 宋体 comes out in, and whether it is a serif Chinese one."""

    ok: bool
    face: str  # the family fontconfig picks, "" when fontconfig cannot be asked
    detail: str  # Chinese


def check_serif(config_dir: Path) -> FaceCheck:
    """Ask fontconfig (with the aliases, written into ``config_dir``) which face 宋体 becomes."""
    exe = shutil.which("fc-match")
    if not exe:
        return FaceCheck(False, "", f"找不到 fc-match（fontconfig）。sudo apt-get install fontconfig {FONT_PACKAGE}")
    conf = write_fontconfig(config_dir / "fonts.conf")
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    try:
        found = subprocess.run([exe, "-f", "%{family}", "宋体:lang=zh-cn"], capture_output=True, text=True,
                               timeout=60, env=env, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return FaceCheck(False, "", f"fc-match 无法运行：{exc}。sudo apt-get install --reinstall fontconfig")
    families = [f.strip() for f in found.split(",") if f.strip()]
    face = families[0] if families else ""
    if any(f in SERIF_FACES or f in _REAL_SONG for f in families):
        return FaceCheck(True, face, f"宋体 → {face}")
    return FaceCheck(False, face, (f"宋体会被换成 {face}。" if face else "") + MISSING_SERIF)
