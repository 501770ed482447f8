"""One typed settings object.

Values come, in rising priority, from the documented defaults below, an optional TOML file
(``shuangsui.toml`` in the working folder, or the file named by ``--config`` / ``SHUANGSUI_CONFIG``),
and ``SHUANGSUI_<NAME>`` environment variables (``SHUANGSUI_INBOX=/srv/share/inbox``).
Relative folders are taken from the working folder.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from pipeline.core.errors import ConfigError

CONFIG_ENV = "SHUANGSUI_CONFIG"
DEFAULT_CONFIG_NAME = "shuangsui.toml"
ROLES = ("all", "intake", "convert")  # what a worker does (several machines, issue 14)


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class Settings:
    inbox: Path = field(default=Path("inbox"), metadata=_doc("收件箱：工作人员放入文件的共享目录"))
    outbox: Path = field(default=Path("outbox"), metadata=_doc("发件箱：公示表、退回说明等结果目录"))
    data_dir: Path = field(
        default=Path("var"), metadata=_doc("数据目录（收件箱和发件箱之外）：数据库、原件库、工作目录")
    )
    database_url: str = field(
        default="", metadata=_doc("数据库地址（SQLAlchemy URL）；留空即数据目录中的 SQLite 文件；"
                                  "postgresql://用户:密码@主机/库名 时多台机器（多个进程）可共用同一收件箱和数据库")
    )
    claim_lease_seconds: float = field(
        default=60.0, metadata=_doc("共用 PostgreSQL 时，一个进程领取的文件保留多久（秒）；进程每隔三分之一的时间续期，"
                                    "进程死掉后过了这个时间其他进程接手")
    )
    role: str = field(
        default="all", metadata=_doc("本机的分工：all（全部）、intake（收文处理，不运行 LibreOffice，转换交给转换队列）或 "
                                     "convert（只做 LibreOffice 转换，不碰收件箱）；命令行 --role 优先（见“多台机器共同处理”）")
    )
    convert_wait_seconds: float = field(
        default=60.0, metadata=_doc("role 为 intake 时，在转换超时之外再等转换机器多久（秒）；等不到时该步骤下一轮重试，"
                                    "旧格式文件留在收件箱中等待")
    )
    bureau: str = field(default="烟台市工业和信息化局", metadata=_doc("抽查执法主体（局名），印在表单上"))
    section_general: str = field(default="综合科", metadata=_doc("综合科的名称（接收查处材料和汇总）"))
    section_policy: str = field(default="产业政策科", metadata=_doc("产业政策科的名称（接收公示表汇总）"))
    days_lower_half: int = field(
        default=5, metadata=_doc("检查结束后填写检查表后半部分的期限（工作日，第十一条）")
    )
    days_publish: int = field(default=20, metadata=_doc("检查结束后公示检查结果的期限（工作日，第十三条）"))
    days_penalty: int = field(default=7, metadata=_doc("作出处理决定后上传公开的期限（工作日，第十五条）"))
    watch_mode: str = field(
        default="auto", metadata=_doc("监视方式：auto（按收件箱所在的文件系统自动选择：NFS、SMB/CIFS、sshfs 等网络文件系统"
                                      "轮询，本机磁盘用系统文件事件）、native（系统文件事件）或 polling（轮询）")
    )
    poll_seconds: float = field(default=2.0, metadata=_doc("轮询和复查收件箱的间隔（秒）"))
    settle_seconds: float = field(
        default=2.0, metadata=_doc("文件大小和修改时间保持不变多久后才开始处理（秒），防止处理写了一半的文件")
    )
    empty_wait_seconds: float = field(
        default=60.0, metadata=_doc("0 字节的文件（复制时先建的占位文件）要保持多久不变才按空文件退回（秒）")
    )
    share_mount: Path = field(
        default=Path(), metadata=_doc("收件箱所在共享盘的挂载点，如 /srv/share；设置后未挂载时拒绝运行（留空则只核对 /etc/fstab）")
    )
    max_file_mb: int = field(default=200, metadata=_doc("单个文件的大小上限（MB），超过即退回"))
    # Address space, not resident memory: OCR of one page (onnxruntime) reserves ~1.4 GB of it while
    # using ~0.6 GB; with 1 GB every scan without a QR code failed in the worker (bad_alloc).
    file_memory_mb: int = field(
        default=2048, metadata=_doc("分析单个文件的进程可用的内存上限（MB）；超过即以“文件过于复杂”退回，其他文件照常处理")
    )
    file_timeout_s: float = field(
        default=120.0, metadata=_doc("分析单个文件的时间上限（秒）；超过即以“文件过于复杂”退回，其他文件照常处理")
    )
    case_prefix: str = field(default="SS", metadata=_doc("案卷编号前缀，编号形如 SS-2026-00001"))
    default_task_name: str = field(
        default="", metadata=_doc("抽查任务名称的缺省值（名录库未提供时使用；留空则案卷等待补充）")
    )
    default_check_type: str = field(
        default="", metadata=_doc("抽查检查类型的缺省值，如 不定向抽查（留空则案卷等待补充）")
    )
    licence_pattern: str = field(
        default="", metadata=_doc("执法证号格式（正则表达式，留空不检查；尚无公开的编号规则）")
    )
    calendar_file: Path = field(
        default=Path(), metadata=_doc("本地节假日调休文件（TOML）；留空即数据目录中的 节假日调休.toml")
    )
    require_signed_scan: bool = field(
        default=True, metadata=_doc("公示前是否要求收到签字盖章后的扫描件，并核对每个签字、盖章栏（第十条、检查表）")
    )
    accept_electronic_seal: bool = field(
        default=True, metadata=_doc("电子版检查表签字、盖章栏内嵌的电子签章（红色印章图片）或签名图片是否算作该栏已签字盖章，"
                                    "该栏不再需要扫描件；要求一律纸质签字盖章的单位设为 false")
    )
    require_site_record: bool = field(
        default=True, metadata=_doc("抽查方式含现场检查时，公示前是否要求收到现场检查笔录（第十条）；笔录只存纸质的单位设为 false")
    )
    soffice: str = field(default="soffice", metadata=_doc("LibreOffice 可执行文件（用于 PDF 转换和旧格式）"))
    bureau_uscc: str = field(
        default="", metadata=_doc("处罚机关（本局）的统一社会信用代码，填入双公示导出的处罚机关、数据来源单位代码；留空时导出会提示")
    )
    publicity_date_format: str = field(
        default="%Y-%m-%d", metadata=_doc("双公示导出中日期的格式（strftime 写法，缺省 YYYY-MM-DD；目标系统要求待确认）")
    )
    publicity_code_row: bool = field(
        default=True, metadata=_doc("双公示导出的第二行是否写列代码（CF_WSH 等）")
    )
    publicity_months: int = field(
        default=36, metadata=_doc("双公示导出的公示截止期：处罚决定日期后若干个月（待按目标系统要求确认）")
    )
    penalty_valid_until: str = field(
        default="2099-12-31", metadata=_doc("双公示导出的处罚有效期（缺省 2099-12-31 表示长期；待按目标系统要求确认）")
    )
    bundle_interval: str = field(
        default="month", metadata=_doc("综合科移交包自动生成的周期：month（每月）、week（每周）或 off（不自动生成）")
    )
    public_form_pdf_direct: bool = field(
        default=True, metadata=_doc("公示表 PDF 由程序直接生成（几毫秒，不等 LibreOffice）；模板被修改过或内容超过一页时自动改用 LibreOffice；设为 false 则一律用 LibreOffice")
    )
    pdf_workers: int = field(default=0, metadata=_doc("同时运行的 LibreOffice 转换进程数（旧格式、归档用的 PDF 等）；0 为 CPU 核数"))
    pdf_timeout: float = field(
        default=120.0, metadata=_doc("LibreOffice 转换的超时（秒，一次转换多个文件时每 20 个文件这么多），超时即结束进程并重试一次")
    )
    archive_fonds: str = field(default="Z001", metadata=_doc("归档：全宗号（档案馆给定；缺省值 Z001 仅为占位，请按实际修改）"))
    archive_category: str = field(default="WS", metadata=_doc("归档：门类代码（WS 文书，DA/T 22-2015）"))
    archive_retention: str = field(
        default="D30", metadata=_doc("归档：保管期限代码（Y 永久、D30 定期30年、D10 定期10年，DA/T 22-2015）")
    )
    archive_org_code: str = field(default="ZHK", metadata=_doc("归档：机构（问题）代码，如 ZHK（综合科）"))
    archive_auto: bool = field(
        default=True, metadata=_doc("案卷已公示（或已移交）后自动生成归档包（BagIt，含四性检测）")
    )
    scan_max_pixels: int = field(
        default=80_000_000, metadata=_doc("扫描件每页像素上限（超过即退回，防止解压炸弹；80000000 约为 A4 900 dpi）")
    )
    scan_max_pages: int = field(default=200, metadata=_doc("扫描件（多页 TIFF、PDF）页数上限，超过即退回"))
    print_forms_auto: bool = field(
        default=True, metadata=_doc("案卷建立或数据变化后，自动把带二维码的检查表、现场检查笔录（Word 和 PDF）放到 发件箱/打印/案卷编号/")
    )
    web_host: str = field(
        default="127.0.0.1", metadata=_doc("办公网页（shuangsui serve）监听的地址；缺省只允许本机访问，其他地址必须先设置密码")
    )
    web_port: int = field(default=8080, metadata=_doc("办公网页监听的端口"))
    web_password_hash: str = field(
        default="", metadata=_doc("办公网页的密码（scrypt 散列，用 shuangsui serve --set-password 设置；不要手写明文）")
    )

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'shuangsui.sqlite3').resolve()}"

    @property
    def shared_store(self) -> bool:
        """Several workers share the database (PostgreSQL): claims instead of the data folder lock."""
        return not self.db_url.startswith("sqlite")

    @property
    def originals_dir(self) -> Path:
        return self.data_dir / "originals"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def calendar_path(self) -> Path:
        return self.calendar_file if str(self.calendar_file) not in ("", ".") else self.data_dir / "节假日调休.toml"

    @property
    def templates_dir(self) -> Path:
        return Path(__file__).resolve().parents[2] / "templates"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def setting_docs() -> list[tuple[str, str, str]]:
    """(name, default, description) of every setting, for the README and ``shuangsui doctor``."""
    return [(f.name, str(f.default), f.metadata["doc"]) for f in dataclasses.fields(Settings)]


_TRUE = {"1", "true", "yes", "on", "是"}
_FALSE = {"0", "false", "no", "off", "否"}


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    try:
        if kind is Path:
            return Path(str(raw))
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            if str(raw).strip().lower() in _TRUE | _FALSE:
                return str(raw).strip().lower() in _TRUE
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"设置项 {name} 的值“{raw}”格式不对，应为 {kind.__name__}。请修改后重试。") from exc


def load_settings(config: Path | None = None, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then the TOML file, then ``SHUANGSUI_*`` variables, then explicit overrides."""
    env = dict(os.environ) if env is None else env
    hints = get_type_hints(Settings)
    names = {f.name for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}

    path = config or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else Path(DEFAULT_CONFIG_NAME))
    if config is not None and not path.exists():
        raise ConfigError(f"找不到配置文件 {path}。请检查路径，或去掉 --config 使用缺省设置。")
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"配置文件 {path} 格式有误：{exc}。请按 TOML 格式修改。") from exc
        data = data.get("shuangsui", data)
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"配置文件 {path} 中有未知的设置项：{', '.join(unknown)}。可用的设置见 README。")
        values.update({k: _coerce(k, hints[k], v) for k, v in data.items()})

    for name in names:
        raw = env.get(f"SHUANGSUI_{name.upper()}")
        if raw is not None:
            values[name] = _coerce(name, hints[name], raw)
    values.update({k: v for k, v in overrides.items() if v is not None})

    settings = Settings(**values)
    if settings.watch_mode not in ("auto", "native", "polling"):
        raise ConfigError("设置项 watch_mode 只能是 auto、native 或 polling。")
    if settings.role not in ROLES:
        raise ConfigError("设置项 role 只能是 all、intake 或 convert。")
    if settings.role != "all" and not settings.shared_store:
        raise ConfigError(f"role = {settings.role} 要求各台机器共用 PostgreSQL 数据库（设置项 database_url），"
                          "SQLite 只能由一台机器使用（role = all）。")
    if settings.bundle_interval not in ("month", "week", "off"):
        raise ConfigError("设置项 bundle_interval 只能是 month、week 或 off。")
    return settings
