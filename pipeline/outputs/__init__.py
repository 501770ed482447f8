"""Outputs built from cases: 汇总, 网站公示, 双公示, the 综合科 bundle and batch regeneration."""
