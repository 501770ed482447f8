"""The office page as a Starlette application over one pipeline context.

Routes: ``/`` (every case, coloured by deadline, with filters), ``/cases/<案卷编号>`` (files, outputs,
findings, box evidence, deadlines, history, open questions), ``POST /questions/<id>`` (an answer, as
in 待审核.xlsx), ``/cases/<案卷编号>/打印/<file>`` (forms ready to print, made on demand),
``/outbox/…``, ``/data/crops/…`` and ``/originals/<file id>`` (files, only from inside the folders),
``/healthz``.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from pipeline.cases import overview
from pipeline.cases.context import Context
from pipeline.cases.review import ReviewAnswer, apply_answers
from pipeline.core.codes import CaseStatus
from pipeline.core.evidence import BOX_LABELS, FORM_LABELS
from pipeline.core.models import FIELD_LABELS
from pipeline.outputs.print_forms import print_folder, print_forms
from pipeline.store.claims import CASES_LOCK
from pipeline.store.outbox import PRINT
from pipeline.web.security import check_password, csrf_ok, csrf_token, inside

TEMPLATES = Path(__file__).parent / "templates"
REALM = "shuangsui"


@dataclass
class WebConfig:
    """How the page is served: read-only, and the password hash (None: no password)."""

    read_only: bool = False
    password_hash: str | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))


def create_app(ctx: Context, config: WebConfig | None = None) -> Starlette:
    config = config or WebConfig()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["urlpath"] = lambda s: quote(str(s))
    env.globals.update(FIELD_LABELS=FIELD_LABELS, BOX_LABELS=BOX_LABELS, FORM_LABELS=FORM_LABELS,
                       describe_event=overview.describe_event, form_label=overview.form_label,
                       read_only=config.read_only)

    def page(name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**values), status_code=status_code)

    def index(request: Request) -> Response:
        q = request.query_params
        state, section, month, text = q.get("state", ""), q.get("section", ""), q.get("month", ""), q.get("q", "")
        lines = overview.case_lines(ctx)
        sections = overview.case_sections(ctx)
        rows = []
        for line in lines:
            if state and line.status.value != state:
                continue
            if not state and line.status is CaseStatus.archived:
                continue  # archived cases are done: shown when asked for
            if section and sections.get(line.case_id) != section:
                continue
            if month and not (line.check_date or "").startswith(month):
                continue
            if text and text not in line.case_id and text not in line.unit:
                continue
            rows.append({"line": line, "urgency": overview.urgency(line), "section": sections.get(line.case_id, ""),
                         "missing": overview.missing_summary(ctx, line.case_id)})
        return page("index.html", rows=rows, total=len(lines), states=list(CaseStatus),
                    sections=sorted({s for s in sections.values() if s}),
                    months=sorted({(c.check_date or "")[:7] for c in lines if c.check_date}, reverse=True),
                    chosen={"state": state, "section": section, "month": month, "q": text},
                    plan=overview.plan_progress(ctx), licences=overview.expiring_licences(ctx),
                    today=date.today().isoformat())

    def case_page(request: Request) -> Response:
        case_id = request.path_params["case_id"]
        view = overview.case_view(ctx, case_id)
        if view is None:
            return page("missing.html", 404, what=f"案卷 {case_id}")
        folder = print_folder(ctx, case_id)
        printed = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        tokens = {q.id: csrf_token(config.secret, f"/questions/{q.id}") for q in view.questions}
        return page("case.html", v=view, printed=printed, tokens=tokens, message=request.query_params.get("msg", ""),
                    urgency=overview.urgency(view.line) if view.line else "正常")

    async def answer(request: Request) -> Response:
        if config.read_only:
            return page("missing.html", 403, what="只读模式下不能回答问题")
        question_id = int(request.path_params["question_id"])
        form = await request.form()
        token, value, case_id = str(form.get("csrf", "")), str(form.get("answer", "")), str(form.get("case", ""))
        if not csrf_ok(config.secret, f"/questions/{question_id}", token):
            return page("missing.html", 403, what="表单已过期，请刷新页面后重新提交")
        # One writer of case decisions at a time, as the workers on a shared database take it.
        with ctx.store.exclusive(CASES_LOCK):
            result = apply_answers(ctx, [ReviewAnswer(question_id, value, 0)], actor="web")
        if result.rejected:
            message = result.rejected[0][1].removeprefix("第 0 行：")
        elif result.applied:
            message = f"已记录问题 {question_id} 的答案“{result.applied[0].answer}”，案卷已重新处理。"
        else:
            message = f"问题 {question_id} 已经是这个答案。"
        return RedirectResponse(f"/cases/{quote(case_id)}?msg={quote(message)}", status_code=303)

    def printable(request: Request) -> Response:
        case_id, name = request.path_params["case_id"], request.path_params["name"]
        if ctx.store.get_case(case_id) is None:
            return page("missing.html", 404, what=f"案卷 {case_id}")
        target = inside(print_folder(ctx, case_id), name)
        if target is None and not config.read_only:
            with ctx.store.exclusive(CASES_LOCK):  # an outbox write, as the workers make them
                print_forms(ctx, [case_id], actor="web")
            target = inside(print_folder(ctx, case_id), name)
        if target is None:
            return page("missing.html", 404, what=f"{PRINT}/{case_id}/{name}")
        return _file(target, name)

    def outbox_file(request: Request) -> Response:
        return _served(ctx.settings.outbox, request.path_params["path"])

    def crop_file(request: Request) -> Response:
        return _served(ctx.settings.data_dir / "crops", request.path_params["path"])

    def original(request: Request) -> Response:
        row = ctx.store.get_file(int(request.path_params["file_id"]))
        stored = ctx.originals.path_for(row.sha256) if row else None
        if row is None or stored is None or not stored.is_file():
            return page("missing.html", 404, what="原件")
        return _file(stored, row.original_name)

    def healthz(request: Request) -> Response:
        cases = len(ctx.store.list_cases())
        return JSONResponse({"status": "ok", "cases": cases, "inbox": ctx.settings.inbox.is_dir(),
                             "outbox": ctx.settings.outbox.is_dir(), "read_only": config.read_only})

    def _served(root: Path, relative: str) -> Response:
        target = inside(root, relative)
        if target is None:
            return page("missing.html", 404, what=relative)
        return _file(target, target.name)

    routes = [
        Route("/", index),
        Route("/cases/{case_id}", case_page),
        Route("/cases/{case_id}/打印/{name}", printable),
        Route("/questions/{question_id:int}", answer, methods=["POST"]),
        Route("/outbox/{path:path}", outbox_file),
        Route("/data/crops/{path:path}", crop_file),
        Route("/originals/{file_id:int}", original),
        Route("/healthz", healthz),
    ]
    middleware = [Middleware(_PasswordMiddleware, password_hash=config.password_hash)] if config.password_hash else []
    return Starlette(routes=routes, middleware=middleware)


def _file(path: Path, name: str) -> FileResponse:
    # Inline for what a browser shows (PDF, pictures, text), a download for the rest; the name as staff know it.
    inline = path.suffix.lower() in (".pdf", ".png", ".jpg", ".jpeg", ".txt", ".html")
    return FileResponse(path, filename=name, content_disposition_type="inline" if inline else "attachment")


class _PasswordMiddleware(BaseHTTPMiddleware):
    """HTTP basic authentication against ``web_password_hash`` (any user name; /healthz stays open)."""

    def __init__(self, app: Any, password_hash: str) -> None:
        super().__init__(app)
        self.password_hash = password_hash

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path == "/healthz" or self._authorised(request.headers.get("authorization", "")):
            return await call_next(request)
        return Response("需要密码。", status_code=401, media_type="text/plain; charset=utf-8",
                        headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'})

    def _authorised(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            _user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return check_password(password, self.password_hash)
