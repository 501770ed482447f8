"""Old formats (.doc/.wps/.et/.rtf/.odt/.ods/web pages) in role ``intake``: converted by the converters.

A worker with role ``intake`` never runs LibreOffice, not even in its analysis process. For a file of a
kind LibreOffice must convert first, the worker makes only the checks before parsing
(``pipeline.core.limits``); then the coordinator queues one job per conversion route (the same
routes ``LegacyExtractor`` tries, keyed by content and route so that the next pass finds them again) and
waits for the converters, at most the conversion timeout plus ``convert_wait_seconds`` and not at all
when none is running. Then the analysis worker reads the converted .docx/.xlsx, route by route as
``LegacyExtractor`` does, under the name staff gave the file. Until the conversion is done the file
stays in the inbox with its ``processing`` row (``ConversionPending``): the next pass takes it again, so
it is never lost and never refused for want of a converter. A conversion that failed (LibreOffice
cannot open the file) refuses the file with the same message as on a machine that converts itself; the
failed job keeps that reason, so the same bytes dropped again are answered at once.
"""

from __future__ import annotations

import time

from pipeline.cases.context import Context
from pipeline.cases.stage import Received
from pipeline.core.errors import ConversionPending, InputFileError
from pipeline.core.settings import Settings
from pipeline.documents.conversion_queue import enqueue, forget, queue_root, wait_for
from pipeline.documents.libreoffice import NO_OUTPUT_MESSAGE, ConversionError
from pipeline.extract.legacy import LegacyExtractor, conversion_routes, worth_next_route
from pipeline.intake.analysis import Analysed, AnalysisTask, Refusal
from pipeline.intake.worker import AnalysisWorker
from pipeline.store.base import ConversionJob


def converted_elsewhere(settings: Settings, kind: str) -> bool:
    """Whether a file of ``kind`` goes through the queue instead of the analysis worker's LibreOffice."""
    return settings.role == "intake" and kind in LegacyExtractor.kinds


def analyse_converted(ctx: Context, worker: AnalysisWorker, received: Received, is_list: bool) -> Analysed:
    """The analysis of an old-format file from its conversions; ``ConversionPending`` until they are done."""
    # The checks before parsing, in the worker as for any file: a bomb never reaches a converter.
    checked = worker.analyse(AnalysisTask(received.stored, received.name, received.kind, is_list, limits_only=True))
    if checked.refusal is not None:
        return checked
    routes = conversion_routes(received.kind, received.stored, received.name)
    if not routes:  # not convertible at all: the worker says why, without LibreOffice
        return worker.analyse(AnalysisTask(received.stored, received.name, received.kind, is_list))
    store, root = ctx.store, queue_root(ctx.settings.data_dir)
    jobs: list[ConversionJob] = []
    for route in routes:
        key = f"legacy:{received.sha256}:{route.target}:{route.infilter}"
        job = store.conversion_with_key(key)
        if job is None or (job.state == "done" and not (root / (job.output or "")).is_file()):
            _batch, ids = enqueue(store, root, [(received.stored, f"0000{route.suffix}")], route.target,
                                  route.infilter, key)
            job = store.conversion_jobs(ids)[0]
        jobs.append(job)
    if any(j.state not in ("done", "failed") for j in jobs) and store.live_converters():
        deadline = time.monotonic() + ctx.settings.pdf_timeout + ctx.settings.convert_wait_seconds
        found = wait_for(store, [j.id for j in jobs], deadline)
        jobs = [found.get(j.id, j) for j in jobs]
    if any(j.state not in ("done", "failed") for j in jobs):
        raise ConversionPending()
    try:
        return _read_routes(ctx, worker, received, is_list, jobs)
    finally:
        for job in jobs:
            forget(store, root, job.batch, [job.id])


def _read_routes(ctx: Context, worker: AnalysisWorker, received: Received, is_list: bool,
                 jobs: list[ConversionJob]) -> Analysed:
    errors: list[InputFileError] = []
    root = queue_root(ctx.settings.data_dir)
    for job in jobs:
        if job.state == "failed" or not job.output:
            errors.append(ConversionError(job.error or NO_OUTPUT_MESSAGE))
            continue
        target = job.target.split(":", 1)[0]
        analysed = worker.analyse(AnalysisTask(root / job.output, received.name, target, is_list))
        if analysed.refusal is None or not worth_next_route(analysed.refusal.error()):
            return analysed
        errors.append(analysed.refusal.error())
    # As LegacyExtractor: "readable, but no form in it" says more than "could not be converted".
    chosen = next((e for e in errors if e.code.startswith("FILE_NOT_")), errors[0])
    return Analysed(refusal=Refusal.of(chosen))
