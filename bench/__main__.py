"""`python -m bench` lists the benchmarks; each runs on its own (some take many minutes)."""

import pkgutil
import sys
from pathlib import Path

for module in sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])):
    if module.startswith("_"):
        continue
    doc = (__import__(f"bench.{module}", fromlist=["__doc__"]).__doc__ or "").strip()
    sys.stdout.write(f"python -m bench.{module}\n    {doc.splitlines()[0] if doc else ''}\n")
