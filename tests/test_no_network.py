"""No file makes the pipeline reach the network (issue #10).

Documents from outside the bureau can point outside: a picture linked (not embedded) from a web address,
a remote template, an INCLUDEPICTURE field, HTML or RTF renamed ``.doc``, a WEBSERVICE formula. Word or
LibreOffice may fetch such a thing when they open or convert the file, which leaks that the file was opened
and where. Here every such address is a loopback web server that counts its requests, and every Python
process of the run (the main process and its forked analysis worker) carries an audit hook that logs
each socket it opens to an address, so a fetch is caught whether Python or LibreOffice makes it. The
linked picture sits in a valid check table, so it goes the whole way: read, published, converted and
normalised for the archive by LibreOffice.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.core.settings import Settings
from pipeline.documents.libreoffice import Converter
from tests.conftest import ROOT, Samples, cli_env
from tests.hostile_files import CORPUS, deflated, members_of, write_zip
from tests.system_deps import require_soffice

pytestmark = [pytest.mark.slow, pytest.mark.libreoffice]

R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PIC = (
    '<w:p><w:r><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing">'
    '<wp:extent cx="914400" cy="914400"/><wp:docPr id="900" name="外链图片"/>'
    '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
    '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
    '<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture">'
    '<pic:nvPicPr><pic:cNvPr id="900" name="seal.png"/><pic:cNvPicPr/></pic:nvPicPr>'
    f'<pic:blipFill><a:blip xmlns:r="{R_NS}" r:link="rIdNet1"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
    '<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="914400" cy="914400"/></a:xfrm>'
    '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic>'
    '</wp:inline></w:drawing></w:r></w:p>'
    '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
    '<w:r><w:instrText xml:space="preserve"> INCLUDEPICTURE "{url}/field.png" \\d </w:instrText></w:r>'
    '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
)

AUDIT_HOOK = '''
import os, sys
_LOG = os.environ.get("NET_AUDIT_LOG")

def _hook(event, args):
    if event == "socket.connect" and isinstance(args[1], (str, bytes)):
        return  # a Unix socket (local pipes between our own processes)
    if event in ("socket.connect", "socket.getaddrinfo", "socket.sendto", "urllib.Request"):
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {event} {args[1:]!r}\\n")

if _LOG:
    sys.addaudithook(_hook)
    with open(_LOG, "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()} audit-started\\n")
'''


class Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (Counter,), {"hits": hits})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def linked_docx(base: Path, path: Path, url: str) -> Path:
    """``base`` with a linked picture, an INCLUDEPICTURE field and a remote attached template."""
    with zipfile.ZipFile(base) as zf:
        document = zf.read("word/document.xml").decode()
        rels = zf.read("word/_rels/document.xml.rels").decode()
        settings = zf.read("word/settings.xml").decode()
    # The new paragraphs go before the body's own section properties, the last thing in it.
    end = document.rfind("<w:sectPr", 0, document.rindex("</w:body>"))
    end = end if end > document.index("<w:body>") else document.rindex("</w:body>")
    document = document[:end] + PIC.replace("{url}", url) + document[end:]
    rels = rels.replace("</Relationships>", (
        f'<Relationship Id="rIdNet1" Type="{R_NS}/image" Target="{url}/seal.png" TargetMode="External"/>'
        "</Relationships>"))
    settings_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                     '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                     f'<Relationship Id="rIdNet2" Type="{R_NS}/attachedTemplate" Target="{url}/template.dotm" '
                     'TargetMode="External"/></Relationships>')
    settings = re.sub(r"(<w:settings[^>]*>)", rf'\1<w:attachedTemplate xmlns:r="{R_NS}" r:id="rIdNet2"/>',
                      settings, count=1)
    return write_zip(path, members_of(base, {
        "word/document.xml": deflated("word/document.xml", document.encode()),
        "word/_rels/document.xml.rels": deflated("word/_rels/document.xml.rels", rels.encode()),
        "word/settings.xml": deflated("word/settings.xml", settings.encode()),
        "word/_rels/settings.xml.rels": deflated("word/_rels/settings.xml.rels", settings_rels.encode()),
    }))


def webservice_xlsx(path: Path, url: str) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["被抽查单位", "检查结果"])
    ws.append(["某公司", f'=WEBSERVICE("{url}/webservice")'])
    ws["C1"] = f'=HYPERLINK("{url}/link","链接")'
    wb.save(path)
    return path


def test_no_file_makes_the_pipeline_fetch_anything(settings: Settings, samples: Samples, tmp_path: Path,
                                                  server: tuple[str, list[str]]) -> None:
    require_soffice()
    url, hits = server
    samples.lists()
    base = samples.check_table("检查表.docx", folder=tmp_path)
    linked = linked_docx(base, settings.inbox / "外链图片.docx", url)
    with Converter() as converter:  # the same linked document saved in Word's older format
        legacy = converter.convert(linked, "doc", tmp_path / "旧格式")
    (settings.inbox / "外链图片-旧格式.doc").write_bytes(legacy.read_bytes())
    (settings.inbox / "网页.doc").write_text(
        f'<html><head><link rel="stylesheet" href="{url}/style.css"></head>'
        f'<body><img src="{url}/img.png"><iframe src="{url}/frame"></iframe>被抽查单位</body></html>',
        encoding="utf-8")
    (settings.inbox / "富文本.doc").write_text(
        r'{\rtf1\ansi{\field{\*\fldinst INCLUDEPICTURE "' + url + r'/rtf.png" \\d}{\fldrslt x}}}',
        encoding="ascii")
    webservice_xlsx(settings.inbox / "网络函数.xlsx", url)
    for hostile in CORPUS:
        hostile.build(base, settings.inbox / hostile.name)
    hits.clear()  # the builders ran LibreOffice here, outside the run under test
    originals = {p.name: p.read_bytes() for p in settings.inbox.iterdir() if p.is_file()}

    hook_dir = tmp_path / "audit"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(AUDIT_HOOK, encoding="utf-8")
    log = tmp_path / "net.log"
    env = {**cli_env(settings), "PYTHONPATH": f"{hook_dir}:{ROOT}", "NET_AUDIT_LOG": str(log),
           "SHUANGSUI_ARCHIVE_AUTO": "1"}
    run = [sys.executable, "-m", "pipeline"]
    proc = subprocess.run([*run, "process", "--json"], env=env, cwd=tmp_path,
                                        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    files = {f["name"]: f for f in json.loads(proc.stdout)["files"]}
    assert set(originals) <= set(files), set(originals) - set(files)
    assert files["外链图片.docx"]["status"] == "accepted", files["外链图片.docx"]
    archived = subprocess.run([*run, "archive", "--all"], env=env, cwd=tmp_path,
                                            capture_output=True, text=True, timeout=900)
    assert archived.returncode == 0, archived.stderr
    assert any(settings.outbox.rglob("*.zip")) or any(settings.outbox.rglob("bagit.txt")), "nothing archived"

    assert hits == [], f"the run fetched {hits}"
    assert "audit-started" in log.read_text(encoding="utf-8"), "the audit hook was not loaded"
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if "audit-started" not in line]
    assert lines == [], lines
    # Every original is kept byte for byte in the originals store.
    stored = {p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file() and p.stat().st_size < 1 << 26}
    assert all(data in stored for data in originals.values() if data)
