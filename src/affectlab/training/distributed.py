"""Data-parallel training through torch.distributed (launched by ``torchrun``), not a home-made engine.

``torchrun --nproc_per_node N -m affectlab.cli run config.yaml`` starts N processes; each
initialises the process group from the environment torchrun sets, takes its share of every
global batch, and DistributedDataParallel averages gradients — so N processes with the same
global batch train the same model as one (up to float rounding).
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_env() -> bool:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); True when joined."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
    return True


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    return world()[0] == 0


def barrier() -> None:
    if world()[1] > 1:
        dist.barrier()


def local_share(index: torch.Tensor) -> tuple[torch.Tensor, float]:
    """This rank's slice of a global batch and the factor that turns its mean loss into its
    share of the global mean (DDP averages gradients over ranks)."""
    rank, size = world()
    if size == 1:
        return index, 1.0
    part = index.tensor_split(size)[rank]
    return part, len(part) * size / max(len(index), 1)
