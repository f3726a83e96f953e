"""DanQ in PyTorch, the peer of ``benchmarks/training.py`` (optional: ``pip install -e '.[bench]'``).

The same layers as :func:`danqrepro.models.build_model` at the ``danq`` preset, with the
BiLSTM run along the sequence (75 pooled positions per sample), as in the paper.
Selene SDK's ``models/danQ.py`` feeds its LSTM the batch as the time axis, so each
sample's output there depends on the other samples of its batch; that is not DanQ.
PyTorch's LSTM has two bias vectors per gate where Keras has one, so this model has
2,560 more parameters (46,929,039), all of them biases; the FLOPs are the same.
"""

from __future__ import annotations

import torch
from torch import nn


class DanQ(nn.Module):
    """(batch, 4, length) one-hot -> (batch, targets) logits; sigmoid is in the loss."""

    def __init__(self, length: int = 1000, n_targets: int = 919, filters: int = 320,
                 width: int = 26, pool: int = 13, units: int = 320, dense: int = 925):
        super().__init__()
        self.conv = nn.Conv1d(4, filters, width)
        self.pool = nn.MaxPool1d(pool, pool)
        self.drop_pool = nn.Dropout(0.2)
        self.lstm = nn.LSTM(filters, units, batch_first=True, bidirectional=True)
        self.drop_lstm = nn.Dropout(0.5)
        steps = (length - width + 1) // pool
        self.dense = nn.Linear(steps * 2 * units, dense)
        self.output = nn.Linear(dense, n_targets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop_pool(self.pool(torch.relu(self.conv(x))))  # (batch, filters, steps)
        x, _ = self.lstm(x.transpose(1, 2))  # along the sequence: (batch, steps, 2 units)
        x = self.drop_lstm(x).flatten(1)
        return self.output(torch.relu(self.dense(x)))


def training_step(batch: int):
    """An eager training step of DanQ with RMSprop (lr 1e-3, rho 0.9) on random
    in-memory data; returns ``(step, n_parameters)`` where ``step()`` runs one update."""
    torch.manual_seed(0)
    model = DanQ()
    optimiser = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.BCEWithLogitsLoss()
    codes = torch.randint(0, 4, (batch, 1000))
    x = nn.functional.one_hot(codes, 4).float().transpose(1, 2).contiguous()
    y = (torch.rand(batch, 919) < 0.05).float()

    def step():
        optimiser.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimiser.step()
        return loss.item()

    return step, sum(p.numel() for p in model.parameters())
