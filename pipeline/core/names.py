"""File names from outside: how we show them to people and how we name the files we write for them.

The inbox hands us whatever the file system holds: newlines, control characters, bytes that are not
UTF-8 (Python gives those to us as lone surrogates), ``:*?<>|"``, 255-byte names. Two forms are made:

- ``display_name``: the name as recorded in the database, the JSON and the 错误说明. It is the real name;
  only bytes that are not UTF-8 are written as ``\\xNN`` (text columns and JSON cannot hold them).
- ``portable_name``: a name a Windows/SMB share accepts, capped in UTF-8 bytes so that the suffixes the
  outbox adds (``.错误说明.html``, `` (2)``, the hidden ``.….part``) still fit in 255 bytes. A name that
  had to be changed gets a stable short hash of the original, so two different originals never
  collapse onto one name and the same original always gets the same name.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata

MAX_NAME_BYTES = 255  # ext4, NTFS (in UTF-16 units, which UTF-8 bytes always exceed), SMB
# Room left for what the outbox appends to a portable name: ".错误说明.html" (18 bytes), " (9999)" (7)
# and the hidden ".….part" of outbox.publish (6), with a margin for future companions.
MAX_PORTABLE_BYTES = 200
MAX_EXTENSION_BYTES = 16
HASH_LENGTH = 8

# Windows refuses these characters, and controls confuse every shell and Explorer.
_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f-\x9f\u2028\u2029]')
# Device names Windows reserves whatever the extension (CON.txt is the console too).
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                       *(f"COM{c}" for c in "123456789¹²³"), *(f"LPT{c}" for c in "123456789¹²³")})


def raw_bytes(name: str) -> bytes:
    """The name's bytes as the file system holds them (undoing Python's surrogate escape)."""
    return os.fsencode(name)


def display_name(name: str) -> str:
    """The real name, with only undecodable bytes written as ``\\xNN`` (storable and printable)."""
    return raw_bytes(name).decode("utf-8", errors="backslashreplace")


def visible_name(name: str) -> str:
    """``display_name`` with control characters shown as escapes, for one line of a note or a log."""
    shown = display_name(name)
    return "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in shown)


def _escape(ch: str) -> str:
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def name_hash(name: str) -> str:
    return hashlib.sha256(raw_bytes(name)).hexdigest()[:HASH_LENGTH]


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def portable_name(name: str, max_bytes: int = MAX_PORTABLE_BYTES) -> str:
    """A name every share accepts, at most ``max_bytes`` UTF-8 bytes; unchanged when it already is one."""
    text = display_name(name)
    clean = unicodedata.normalize("NFC", text)
    clean = _FORBIDDEN.sub("_", clean)
    clean = re.sub(r"\s+", " ", clean).strip()
    # Windows drops trailing dots and spaces, which would silently merge names.
    clean = clean.rstrip(". ") or "未命名"
    stem, dot, ext = clean.rpartition(".")
    if not dot or not stem or utf8_len(ext) > MAX_EXTENSION_BYTES or " " in ext:
        stem, ext = clean, ""
    if stem.split(".")[0].rstrip(" ").upper() in _RESERVED:
        stem = "_" + stem
    suffix = f".{ext}" if ext else ""
    if stem + suffix == text and utf8_len(text) <= max_bytes:
        return text
    tag = f"~{name_hash(name)}"
    budget = max_bytes - utf8_len(tag + suffix)
    return _cut(stem, budget) + tag + suffix


def _cut(text: str, budget: int) -> str:
    """The longest prefix of ``text`` within ``budget`` UTF-8 bytes (never half a character)."""
    data = text.encode("utf-8")[:max(budget, 0)]
    return data.decode("utf-8", errors="ignore").rstrip(" .")


def fits(name: str) -> bool:
    """Whether ``name`` can be created as one path component on every file system we write to."""
    return 0 < len(raw_bytes(name)) <= MAX_NAME_BYTES
