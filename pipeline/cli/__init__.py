"""The command line: every sub-command and all printing; the only place that maps errors to exit codes."""
