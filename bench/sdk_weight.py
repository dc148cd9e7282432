"""The SDK's weight (docs/sdk.md, "Weight"): builds the wheel, installs it alone into a fresh
virtualenv and reports what that adds to site-packages, which distributions came with it and
how long `import asp_telemetry` takes (the best of RUNS fresh interpreters; wall and CPU time,
since on a shared machine the wall time mostly measures the neighbours).

    .venv/bin/python bench/sdk_weight.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 30
PROBE = ("import time; w = time.perf_counter(); c = time.process_time(); import asp_telemetry; "
         "print((time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000)")


def size_kb(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file()) // 1024


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="asp-sdk-weight-") as work:
        work_dir = Path(work)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work_dir / "dist"),
                        str(ROOT)], check=True)
        [wheel] = (work_dir / "dist").glob("*.whl")
        subprocess.run([sys.executable, "-m", "venv", str(work_dir / "venv")], check=True)
        python = str(work_dir / "venv" / "bin" / "python")
        [site] = (work_dir / "venv" / "lib").glob("python3.*/site-packages")
        before = size_kb(site)
        subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], check=True)
        added = size_kb(site) - before
        freeze = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], check=True, capture_output=True,
                                text=True).stdout.split()
        timings = [tuple(map(float, subprocess.run([python, "-c", PROBE], check=True, capture_output=True,
                                                   text=True).stdout.split())) for _ in range(RUNS)]
        print(json.dumps({
            "wheel_kb": wheel.stat().st_size // 1024,
            "installed_kb": added,
            "distributions": sorted(freeze),
            "import_wall_ms_best": round(min(t[0] for t in timings), 1),
            "import_wall_ms_median": round(sorted(t[0] for t in timings)[RUNS // 2], 1),
            "import_cpu_ms_best": round(min(t[1] for t in timings), 1),
            "import_cpu_ms_median": round(sorted(t[1] for t in timings)[RUNS // 2], 1),
        }, indent=2))


if __name__ == "__main__":
    main()
