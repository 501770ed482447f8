"""shuangsui: document automation for 双随机、一公开 inspection paperwork."""

__version__ = "0.1.0"
