"""DanQ training throughput on a GPU, and what an epoch of each preset costs there.

    python benchmarks/gpu_danq.py [--steps N]

The GPU machines lent to this project carry PyTorch but not TensorFlow, so this times
the PyTorch port of ``benchmarks/torch_danq.py`` (the same layers as
:func:`danqrepro.models.build_model`, the LSTM along the sequence, cuDNN kernels): at the
``danq`` size (46.9M parameters, the ``paper`` and ``full`` presets) and at the
``danq-cpu`` size (the ``cpu`` study), at batch 100 and 1000, in float32 (TF32 off),
TF32 and bfloat16 autocast. Each cell: random one-hot data already on the GPU, RMSprop,
warm-up steps, then ``steps`` timed steps between CUDA synchronisations; ``samples_s`` is
samples over that wall time. Epoch times follow for 40,000 samples (the paper's
subset) and 4.4M (the DeepSEA training set). The data pipeline is not in these figures:
on the CPU the project's pipeline delivers several times what DanQ trains at
(``benchmarks/training.py``).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from common import save
from torch_danq import DanQ

SIZES = {"danq": dict(filters=320, units=320, dense=925),
         "danq-cpu": dict(filters=32, units=16, dense=925)}


def samples_per_second(size: str, batch: int, precision: str, steps: int, warmup: int = 5) -> float:
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    torch.manual_seed(0)
    model = DanQ(**SIZES[size]).cuda()
    optimiser = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.BCEWithLogitsLoss()
    x = nn.functional.one_hot(torch.randint(0, 4, (batch, 1000), device="cuda"), 4)
    x = x.float().transpose(1, 2).contiguous()
    y = (torch.rand(batch, 919, device="cuda") < 0.05).float()

    def step():
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = loss_fn(model(x).float(), y)
        loss.backward()
        optimiser.step()

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("gpu_danq.py: no CUDA device visible to PyTorch")
    rows = []
    for size in SIZES:
        for batch in (100, 1000):
            for precision in ("fp32", "tf32", "bf16"):
                rate = samples_per_second(size, batch, precision, args.steps)
                row = {"model": size, "batch": batch, "precision": precision,
                       "samples_s": round(rate, 1)}
                row["s per 40,000-sample epoch"] = round(40_000 / rate, 2)  # the paper's subset
                row["min per 4.4M-sample epoch"] = round(4_400_000 / rate / 60, 2)  # DeepSEA's train
                rows.append(row)
                print(row, flush=True)
    save("gpu", rows, {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                       "cudnn": torch.backends.cudnn.version(), "steps": args.steps})


if __name__ == "__main__":
    main()
