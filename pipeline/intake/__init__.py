"""Intake: finding settled files in the inbox, the watcher, and the one coordinator (process.py)."""
