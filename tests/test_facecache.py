"""The font tables kept between processes (``pipeline.documents.facecache``): a face read from its cache
draws exactly what the font file draws, without opening the font; a stale, corrupt or untrusted cache
is never used."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from pipeline.documents import facecache
from pipeline.documents.glyphs import Face, find_face

ROOT = Path(__file__).resolve().parent.parent
TEXT = "烟台市工业和信息化局 2026年11月9日 No.5（第二批）"


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary directory of its own, so the cache starts empty and other tests' caches are not touched."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def faces() -> Iterator[Callable[[Path, int], Face]]:
    """``Face`` for the test, closed at its end."""
    made: list[Face] = []

    def make(path: Path, index: int) -> Face:
        made.append(Face(path, index))
        return made[-1]

    yield make
    for face in made:
        face.close()


def _cache_files(root: Path) -> list[Path]:
    return sorted((root / f"shuangsui-fontcache-{os.getuid()}").glob("*.marshal"))


def _drawn(face: Face, text: str) -> tuple[bytes, tuple[int, ...], list[float]]:
    chars = list(dict.fromkeys(c for c in text if face.has(c)))
    embedded = face.embed(chars)
    return embedded.program, embedded.widths, [face.advance(c) for c in chars]


@pytest.mark.parametrize("pattern", ["宋体:lang=zh-cn:style=Regular", "WenQuanYi Zen Hei"])
def test_a_cached_face_draws_what_the_font_draws_without_opening_it(cache_root: Path, pattern: str, faces: Callable[[Path, int], Face]) -> None:
    path, index = find_face(pattern)  # Noto Serif CJK (CFF outlines), WenQuanYi (TrueType outlines)
    first = faces(path, index)
    latin = first.variant("latn", "ENG ")
    expected = _drawn(first, TEXT), _drawn(latin, "2026 No.5")
    first.flush()
    assert len(_cache_files(cache_root)) == 1

    again = faces(path, index)
    assert again._shared.font is None  # read from the cache
    assert (_drawn(again, TEXT), _drawn(again.variant("latn", "ENG "), "2026 No.5")) == expected
    assert again._shared.font is None  # every glyph, advance and variant came from the cache
    assert (again.cmap, again.upm, again.ascent, again.descent, again.bbox, again.ps_name) == \
        (first.cmap, first.upm, first.ascent, first.descent, first.bbox, first.ps_name)

    # A glyph the cache does not have yet opens the font, and the cache grows by it.
    extra = next(chr(c) for c in range(0x4E00, 0x9FFF) if again.has(chr(c)) and chr(c) not in TEXT)
    assert _drawn(again, extra) == _drawn(first, extra)
    assert again._shared.font is not None
    again.flush()
    assert faces(path, index)._shared.tables["outlines"].keys() >= {again.cmap[ord(extra)]}


def test_the_cache_survives_the_process_and_is_used_by_the_next(cache_root: Path) -> None:
    script = ("import sys, tempfile; tempfile.tempdir = sys.argv[1]\n"
              "from pipeline.documents.public_pdf import _faces\n"
              "face = _faces()['cjk']\n"
              "print(face._shared.font is None, face.embed(list('烟台市')).program.hex())\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [subprocess.run([sys.executable, "-c", script, str(cache_root)], capture_output=True, text=True,
                           check=True, env=env, cwd=ROOT).stdout.split() for _ in range(2)]
    assert runs[0][0] == "False" and runs[1][0] == "True"  # the second process never opened the font
    assert runs[0][1] == runs[1][1]  # and drew the same font program
    assert _cache_files(cache_root)  # saved at exit by the first


def test_a_changed_font_file_is_read_again(cache_root: Path, tmp_path: Path, faces: Callable[[Path, int], Face]) -> None:
    wqy, _ = find_face("WenQuanYi Zen Hei")
    serif, _ = find_face("宋体:lang=zh-cn:style=Regular")  # both collections: face 0 of either is a CJK face
    font = tmp_path / "fonts" / "form.ttc"
    font.parent.mkdir()
    shutil.copyfile(wqy, font)
    before = faces(font, 0)
    wide = before.advance("W")
    before.flush()
    # The same path now holds another font (an update, a font swapped by IT): its own metrics count.
    shutil.copyfile(serif, font)
    after = faces(font, 0)
    assert after._shared.font is not None  # not taken from the stale cache
    with TTFont(str(font), fontNumber=0, lazy=True) as fresh:
        assert after.advance("W") == pytest.approx(fresh["hmtx"][fresh.getBestCmap()[ord("W")]][0] / after.upm)
    assert after.advance("W") != pytest.approx(wide)


def test_a_corrupt_or_foreign_cache_file_is_ignored_and_replaced(cache_root: Path, faces: Callable[[Path, int], Face]) -> None:
    path, index = find_face("WenQuanYi Zen Hei")
    reference = faces(path, index)
    expected = _drawn(reference, TEXT)
    reference.flush()
    (cached,) = _cache_files(cache_root)
    for garbage in (b"", b"\x00" * 64, cached.read_bytes()[: cached.stat().st_size // 2], b"{" * 10_000):
        cached.write_bytes(garbage)
        face = faces(path, index)
        assert face._shared.font is not None
        assert _drawn(face, TEXT) == expected
        face.flush()
        assert facecache.load(path, index, facecache.stamp_of(path)) is not None  # written anew


def test_a_cache_folder_others_can_write_is_not_used(cache_root: Path, faces: Callable[[Path, int], Face]) -> None:
    folder = cache_root / f"shuangsui-fontcache-{os.getuid()}"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # e.g. made by someone else's umask in a shared /tmp
    assert facecache.cache_dir() is None
    path, index = find_face("WenQuanYi Zen Hei")
    face = faces(path, index)
    assert _drawn(face, TEXT)[1]  # still draws, straight from the font
    face.flush()
    assert not list(folder.iterdir())
