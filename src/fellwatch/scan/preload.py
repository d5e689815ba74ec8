"""What the local pool's forkserver loads once, before it forks any worker.

Everything a worker would otherwise load during its first batch: the worker's modules, dfVFS's
resolver helpers (dfVFS imports all of them the first time it opens anything, ~0.2 s), the
modules that open an evidence, the content signals (PyAV, pillow-heif, pdqhash: imported only
when a batch first asks for them) and libmagic's database. Forked workers inherit them.
"""

from __future__ import annotations

import dfvfs.resolver_helpers  # noqa: F401

import fellwatch.evidence.extraction
import fellwatch.evidence.folder
import fellwatch.evidence.image
import fellwatch.scan.worker  # noqa: F401
from fellwatch.signals import filetype
from fellwatch.signals.catalogue import load_signals

load_signals()
filetype.magic_type(b"")  # loads libmagic's compiled database into this process
