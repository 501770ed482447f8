"""Fictional sample data, the demo and synthetic inputs: used by ``shuangsui demo``, tests and benchmarks."""
