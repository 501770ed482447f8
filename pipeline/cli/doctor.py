"""``shuangsui doctor``: what is installed, what is missing, and how to install it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import ConfigError, ShuangsuiError, StoreError
from pipeline.core.settings import Settings
from pipeline.documents.fonts import check_serif
from pipeline.documents.glyphs import find_face
from pipeline.documents.libreoffice import LibreOfficeMissing, find_soffice
from pipeline.documents.public_pdf import FACE_PATTERNS, supports
from pipeline.documents.render import PUBLIC_FORM_TEMPLATE
from pipeline.intake.mounts import watch_method
from pipeline.outputs.publicity import BUREAU_USCC_WARNING
from pipeline.rules.workdays import WorkCalendar, doctor_check
from pipeline.scan import ocr
from pipeline.store import open_store

TEMPLATES = ("随机抽查事项检查表.docx", "公示表.docx")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    optional: bool = False


def _libreoffice(settings: Settings) -> Check:
    exe = find_soffice(settings.soffice)
    if not exe:
        if settings.role == "intake":
            return Check("LibreOffice", False, "本机未安装（role = intake，转换由转换机器完成，本机不需要）", optional=True)
        return Check("LibreOffice", False, LibreOfficeMissing(settings.soffice).message)
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("LibreOffice", False, f"{exe} 无法运行：{exc}。请重新安装 LibreOffice，或在设置项 soffice 中改正路径。")
    return Check("LibreOffice", True, version or exe)


_ROLES = {"all": "全部（收文处理和 LibreOffice 转换）", "intake": "收文处理（LibreOffice 转换交给转换机器）",
          "convert": "转换机器（只做 LibreOffice 转换）"}


def role_check(settings: Settings) -> Check:
    """The role of this machine and, on a shared database, the conversion queue and its converters."""
    name, label = "本机分工", f"role = {settings.role}：{_ROLES[settings.role]}"
    if not settings.shared_store:
        return Check(name, True, label)
    try:
        store = open_store(settings.db_url)
        try:
            counts, live = store.conversion_counts(), store.live_converters()
        finally:
            store.close()
    except StoreError as exc:
        return Check(name, False, exc.message)
    detail = (f"{label}；转换队列：排队 {counts['queued']} 个，转换中 {counts['running']} 个，失败 {counts['failed']} 个；"
              f"运行中的转换机器 {live} 台")
    if settings.role == "intake" and not live:
        return Check(name, False, detail + "。没有转换机器时，打印用的 PDF、归档包和旧格式文件（.doc/.wps 等）会一直等待："
                     "请在转换机器上启动 shuangsui watch --role convert。", optional=True)
    return Check(name, True, detail)


def _cjk_fonts() -> Check:
    exe = shutil.which("fc-list")
    if not exe:
        return Check("中文字体", False, "找不到 fc-list（fontconfig）。sudo apt-get install fontconfig fonts-noto-cjk")
    fonts = subprocess.run([exe, ":lang=zh", "family"], capture_output=True, text=True, timeout=60).stdout
    names = sorted({line.split(",")[0] for line in fonts.splitlines() if line.strip()})
    if not names:
        return Check("中文字体", False, "没有中文字体，PDF 中的中文会显示为方框。sudo apt-get install fonts-noto-cjk")
    return Check("中文字体", True, "、".join(names[:4]) + (" 等" if len(names) > 4 else ""))


def _serif_font() -> Check:
    # The forms' 宋体 must come out in a serif face; without one LibreOffice silently sets it in a sans face.
    with tempfile.TemporaryDirectory(prefix="shuangsui-fonts-") as tmp:
        found = check_serif(Path(tmp))
    return Check("宋体（打印和 PDF）", found.ok, found.detail)


def _templates(settings: Settings) -> Check:
    missing = [t for t in TEMPLATES if not (settings.templates_dir / t).is_file()]
    if missing:
        return Check("模板", False, f"缺少 {'、'.join(missing)}。运行 make templates 重新生成。")
    return Check("模板", True, str(settings.templates_dir))


def _database(settings: Settings) -> Check:

    try:
        store = open_store(settings.db_url)
        store.close()
    except StoreError as exc:
        return Check("数据库", False, exc.message)
    return Check("数据库", True, settings.db_url)


def _calendar(settings: Settings) -> Check:
    import datetime as dt


    path = settings.calendar_path
    try:
        calendar = WorkCalendar.load(path if path.exists() else None)
    except ConfigError as exc:
        return Check("节假日数据", False, exc.message)
    ok, detail = doctor_check(calendar, dt.date.today())
    return Check("节假日数据", ok, detail, optional=True)


def _bureau_uscc(settings: Settings) -> Check:

    if not settings.bureau_uscc:
        return Check("双公示导出", False, BUREAU_USCC_WARNING, optional=True)
    return Check("双公示导出", True, f"处罚机关统一社会信用代码 {settings.bureau_uscc}")


def _public_form_pdf(settings: Settings) -> Check:
    """The 公示表 PDF drawn directly: which fonts it embeds, or why LibreOffice converts it instead."""
    name = "公示表 PDF"
    if not settings.public_form_pdf_direct:
        return Check(name, True, "由 LibreOffice 转换（设置项 public_form_pdf_direct = false）")
    if not supports(settings.templates_dir / PUBLIC_FORM_TEMPLATE):
        return Check(name, True, "公示表模板已修改，PDF 由 LibreOffice 转换（每批多花几秒）")
    try:
        fonts = "、".join(sorted({find_face(pattern)[0].name for pattern in FACE_PATTERNS.values()}))
    except ShuangsuiError as exc:
        return Check(name, False, exc.message)
    return Check(name, True, f"直接生成 PDF/A-2b，嵌入字体 {fonts}")


def _watching(settings: Settings) -> Check:
    method = watch_method(settings)
    return Check("收件箱监视方式", True, method.reason)


def _ocr() -> Check:
    # Optional: without the [ocr] extra scans are still matched by their QR codes.
    return Check("文字识别（可选）", ocr.available(), ocr.describe(), optional=True)


def run_checks(settings: Settings) -> list[Check]:
    return [role_check(settings), _libreoffice(settings), _cjk_fonts(), _serif_font(), _public_form_pdf(settings), _templates(settings),
            _database(settings), _calendar(settings), _bureau_uscc(settings), _watching(settings), _ocr()]
