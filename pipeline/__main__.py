"""Entry point for ``python -m pipeline``."""

from pipeline.cli.main import main

raise SystemExit(main())
