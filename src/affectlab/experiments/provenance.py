"""What a run directory records so its numbers can be traced and reproduced."""
from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("affectlab", "torch", "transformers", "numpy", "scikit-learn", "pandas", "pydantic")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = sys.version.split()[0]
    versions["platform"] = platform.platform()
    versions.update(compute_context())
    return versions


def compute_context() -> dict[str, str]:
    """What else moves the numbers of a CPU run: the same code and seed give other figures with
    another instruction set or thread count (rounding, then early stopping; docs/results.md)."""
    import torch

    return {"cpu": _cpu_model() or platform.processor() or "unknown",
            "torch_cpu_capability": str(torch.backends.cpu.get_cpu_capability()),
            "torch_threads": str(torch.get_num_threads())}


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def git_commit(start: Path | None = None) -> str | None:
    """The commit of the source tree (None outside a git checkout)."""
    where = start or Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


#: The commit when this process loaded the code: a long run records what it ran, not what the
#: checkout holds by the time it finishes (the tree may have moved on under it).
_COMMIT_AT_LOAD = git_commit()


def code_commit() -> str | None:
    """The commit of the code this process runs (read once, when the module loaded)."""
    return _COMMIT_AT_LOAD
