"""Property tests of the macro-action wrapper (hypothesis): random horizons, episode lengths,
termination and truncation points, reward signs and action bounds.

For every macro step: the env executes exactly the decoded sequence clipped to its bounds, up
to the first termination or truncation; ``macro_steps`` counts those primitive steps; the
reward is the exact sum (or discounted sum) of their rewards in order; the flags and the last
observation are the env's.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st

from macroact.models.favae import FAVAE, FAVAEConfig
from macroact.wrapper import MacroActionVecEnv, MacroActionWrapper


class ScriptedEnv(gym.Env):
    """Rewards from a list; terminates at ``term_at`` (if any); records every action."""

    def __init__(self, rewards, term_at, low, high):
        self.rewards = list(rewards)
        self.term_at = term_at
        self.action_space = spaces.Box(np.float32(low), np.float32(high), (len(low),), np.float32)
        self.observation_space = spaces.Box(-np.inf, np.inf, (1,), np.float64)
        self.executed: list[np.ndarray] = []
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.executed = []
        return np.zeros(1), {}

    def step(self, action):
        self.executed.append(np.array(action, copy=True))
        r = self.rewards[self.t % len(self.rewards)]
        self.t += 1
        return np.array([self.t], float), r, self.term_at is not None and self.t >= self.term_at, \
            False, {"t": self.t}


def _model(horizon, n_actions, seed):
    torch.manual_seed(seed)
    model = FAVAE(FAVAEConfig(seq_len=horizon, kernel_size=1, channels=(4, 4, 4)), n_actions)
    # Bounds a little wider than the env's, so that some decoded actions are clipped.
    model.normalizer.set_bounds([-1.05] * n_actions, [1.05] * n_actions)
    return model.eval()


episodes = st.fixed_dictionaries({
    "horizon": st.integers(2, 12),
    "n_actions": st.integers(1, 3),
    "rewards": st.lists(st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
                        min_size=1, max_size=20),
    "term_at": st.one_of(st.none(), st.integers(1, 40)),
    "max_steps": st.integers(1, 40),
    "gamma": st.one_of(st.none(), st.floats(0.5, 1.0)),
    "fast": st.booleans(),
    "seed": st.integers(0, 3),
})


def _expected_return(rewards, gamma):
    total, discount = 0.0, 1.0
    for r in rewards:
        if gamma is None:
            total += float(r)
        else:
            total += discount * float(r)
            discount *= gamma
    return total


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=25, deadline=None)
@given(ep=episodes, actions=st.lists(st.floats(-1, 1, width=32), min_size=40, max_size=40))
def test_wrapper_executes_decoded_clipped_actions_and_sums_rewards(ep, actions):
    low, high = [-1.0] * ep["n_actions"], [1.0] * ep["n_actions"]
    base = ScriptedEnv(ep["rewards"], ep["term_at"], low, high)
    env = gym.wrappers.TimeLimit(base, ep["max_steps"])
    model = _model(ep["horizon"], ep["n_actions"], ep["seed"])
    reward = "sum" if ep["gamma"] is None else "discounted"
    wrapped = MacroActionWrapper(env, model, latents=[0, 1], reward=reward, gamma=ep["gamma"],
                                 record_actions=True, fast_decode=ep["fast"])
    wrapped.reset(seed=0)
    done, i, t = False, 0, 0
    while not done:
        a = np.array(actions[i % 40:i % 40 + 1] * 2, np.float32)
        i += 1
        planned = wrapped.decode(a)
        assert planned.shape == (ep["horizon"], ep["n_actions"]) and planned.dtype == np.float32
        assert np.all(planned >= -1.0) and np.all(planned <= 1.0)
        obs, r, terminated, truncated, info = wrapped.step(a)
        n = info["macro_steps"]
        executed = np.stack(base.executed[t:])
        assert len(executed) == n
        assert np.array_equal(executed, planned[:n]) and np.array_equal(info["executed_actions"], executed)
        steps = range(t, t + n)
        first_end = min(x for x in (ep["term_at"], ep["max_steps"]) if x is not None)
        assert n == min(ep["horizon"], first_end - t)
        assert r == _expected_return([ep["rewards"][s % len(ep["rewards"])] for s in steps], ep["gamma"])
        assert terminated == (ep["term_at"] is not None and t + n >= ep["term_at"])
        assert truncated == (t + n >= ep["max_steps"])
        assert obs[0] == t + n
        t += n
        done = terminated or truncated


@settings(max_examples=10, deadline=None)
@given(ep=episodes, n_envs=st.integers(1, 3))
def test_vec_env_matches_the_single_wrapper(ep, n_envs):
    """Same macro transitions (exact: the same decoder) in the vectorised env, per sub-env."""
    low, high = [-1.0] * ep["n_actions"], [1.0] * ep["n_actions"]
    model = _model(ep["horizon"], ep["n_actions"], ep["seed"])

    def make():
        return gym.wrappers.TimeLimit(ScriptedEnv(ep["rewards"], ep["term_at"], low, high),
                                      ep["max_steps"])

    venv = MacroActionVecEnv([make] * n_envs, model, latents=[0], fast_decode=ep["fast"])
    single = MacroActionWrapper(make(), model, latents=[0], fast_decode=ep["fast"])
    venv.reset()
    single.reset()
    a = np.linspace(-1, 1, n_envs, dtype=np.float32)[:, None]
    _, rewards, dones, infos = venv.step(a)
    _, r0, term, trunc, info0 = single.step(a[0])
    assert rewards[0] == np.float32(r0) and dones[0] == (term or trunc)
    assert infos[0]["macro_steps"] == info0["macro_steps"]
