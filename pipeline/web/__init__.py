"""The office page (``shuangsui serve``): every case and deadline, one case's files and history,
待审核 questions answered in the browser, forms ready to print. Starlette, Jinja2 and uvicorn."""
