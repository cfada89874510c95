"""Benchmarks run by ``jepatheory bench TARGET``; each module has ``add_args`` and ``run``."""
