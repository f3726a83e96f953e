"""Run every benchmark (``make bench``; ``--quick`` for the short mode)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for script in ("evaluate.py", "convert.py", "training.py", "own_data.py", "threads.py", "batch_cost.py"):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *sys.argv[1:]], check=True)
