"""``watch --role convert`` and ``process --role convert``: the converter of the conversion queue."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from pipeline.cases.context import Context
from pipeline.cli.common import console
from pipeline.core.settings import Settings
from pipeline.intake.convert_worker import run_converter
from pipeline.store import open_store
from pipeline.store.base import ConversionJob
from pipeline.store.originals import OriginalsStore


def run_converter_role(settings: Settings, *, forever: bool) -> int:
    """Convert queued jobs: ``forever`` (watch) until SIGTERM or Ctrl-C, else until the queue is empty."""
    stop = threading.Event()

    def _terminate(_sig: int, _frame: FrameType | None) -> None:
        stop.set()  # the batch in hand is finished first

    previous = signal.signal(signal.SIGTERM, _terminate)
    # Not open_context: a converter machine needs neither the inbox nor the outbox (they may not be mounted).
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(settings, open_store(settings.db_url), OriginalsStore(settings.originals_dir))
    try:
        if forever:
            console.print(f"转换机器已启动（role = convert），LibreOffice 转换进程 {len(ctx.run.converter_pool(settings).converters)}"
                          " 个，等待转换队列中的任务。按 Ctrl-C 停止。", markup=False, soft_wrap=True)

        def report(jobs: list[ConversionJob]) -> None:
            console.print(f"已转换一批 {len(jobs)} 个文件。", markup=False, soft_wrap=True)

        done = run_converter(ctx, stop, drain=not forever, on_batch=report)
    finally:
        ctx.close()
        signal.signal(signal.SIGTERM, previous)
    console.print(f"转换机器已停止，共转换 {done} 个文件。" if forever else f"转换队列已处理完，共转换 {done} 个文件。",
                  markup=False, soft_wrap=True)
    return 0
