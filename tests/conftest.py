"""Fixtures shared by test modules."""

import importlib.util
from pathlib import Path

import pytest
import torch

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
# SB3 SAC settings of the tiny agents that replay tests train in seconds.
TINY_SAC = {"learning_starts": 0, "batch_size": 32, "buffer_size": 2000, "train_freq": 4,
            "gradient_steps": 1}


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module (as the agents train): tiny models run several times
    slower on two threads of a loaded 2-core machine. Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def load_experiment(name: str):
    """experiments/NAME.py as a module (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(f"experiments_{name}",
                                                  EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
