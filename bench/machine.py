"""What the bench ran on: CPU, memory, OS, Python, load, and the code's revision."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.rig import REPO_ROOT


@dataclass(frozen=True)
class Machine:
    """The machine and the code a run measured."""

    cpu: str
    cores: int
    memory_gb: float
    system: str
    python: str
    revision: str

    def lines(self) -> list[str]:
        """One line per fact, for the report."""
        return [
            f"CPU: {self.cpu}, {self.cores} cores",
            f"Memory: {self.memory_gb:.1f} GB",
            f"OS: {self.system}",
            f"Python: {self.python}",
            f"Code: {self.revision}",
        ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head} (with uncommitted changes)" if dirty else head


def this_machine() -> Machine:
    """Describe the machine the bench runs on."""
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 1,
        memory_gb=_memory_gb(),
        system=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        revision=_revision(),
    )


def load_average() -> float:
    """The one-minute load average (other work on the machine shows up here)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")
