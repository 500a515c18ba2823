"""Importing this module makes the repository's flat modules (db, queries, ...) importable.

The benchmarks run as `python bench/run.py`, so Python puts bench/ on sys.path,
not the repository root the library lives in.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(1, str(REPO_ROOT))
