"""Settings every tier shares."""

from __future__ import annotations

import torch

# the in-process references run with the runtime's default of one CPU thread, so both sides
# split every op the same way and the comparisons can be exact
torch.set_num_threads(1)
