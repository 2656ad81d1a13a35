"""Minari data sets in and out of ``EpisodeData`` (``macroact[minari]``; nothing is downloaded).

``write_minari`` stores episodes as a local Minari data set (HDF5, in Minari's store:
``$MINARI_DATASETS_PATH``, default ``~/.minari/datasets``), readable by ``minari.load_dataset``
like any other. ``read_minari`` reads one by id from that store, or from a folder path,
back into ``EpisodeData``; ``macroact collect --minari-id``, ``macroact train --minari`` and
``macroact encode --minari`` use them.

Data sets written here carry the demonstrator's factor labels, success flags, env id, env
kwargs and seed in the metadata key ``"macroact"`` (JSON), so a round trip gives back the same
``EpisodeData``; each Minari episode's ``seed`` is its reset seed. Data sets from elsewhere
read with no factor labels; an episode's success is its last ``infos["is_success"]`` or
``infos["success"]`` when recorded, else whether it terminated. Dict observations are flattened
in the order of ``macroact.envs.external.flatten_observation``; only ``Box`` action spaces are
read.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from macroact.data.demos import EpisodeData
from macroact.extras import optional_import

METADATA_KEY = "macroact"
"""Metadata key of the JSON record written with each data set."""

_ID_RE = re.compile(r"^(?:[\w:.-]+/)*[\w:.-]+-v\d+$")


def _minari() -> Any:
    optional_import("h5py", "minari", feature="Minari data sets (HDF5)")
    return optional_import("minari", "minari", feature="Minari data sets")


def store_path() -> Path:
    """The local Minari store: ``$MINARI_DATASETS_PATH`` or ``~/.minari/datasets``."""
    env = os.environ.get("MINARI_DATASETS_PATH")
    return Path(env) if env else Path.home() / ".minari" / "datasets"


def check_dataset_id(dataset_id: str) -> str:
    """``dataset_id`` if Minari accepts it (``[namespace/]name-v<version>``), else ValueError."""
    if not isinstance(dataset_id, str) or not _ID_RE.match(dataset_id):
        raise ValueError(f"Minari ids have the form [namespace/]name-v<version>, like "
                         f"macroact/pointmaze-large-v0; got {dataset_id!r}")
    return dataset_id


def write_minari(data: EpisodeData, dataset_id: str, description: str | None = None,
                 overwrite: bool = False) -> Path:
    """Write ``data`` as the local Minari data set ``dataset_id``; returns its folder.

    Args:
        data: Episodes (from ``collect``, ``collect_external`` or ``EpisodeData.load``).
        dataset_id: ``[namespace/]name-v<version>``.
        description: The data set's description (default: names the env and the episodes).
        overwrite: Replace a data set of that id already in the store (else an error).
    """
    minari = _minari()
    from minari.data_collector import EpisodeBuffer
    from gymnasium import spaces

    check_dataset_id(dataset_id)
    if len(data) == 0:
        raise ValueError("no episodes to write")
    folder = store_path() / dataset_id
    if folder.exists():
        if not overwrite:
            raise FileExistsError(f"Minari data set {dataset_id!r} already exists in "
                                  f"{store_path()}; pick another id or version, or overwrite")
        minari.delete_dataset(dataset_id)
    reset_seeds: list[int | None] = [None] * len(data)
    if data.seed is not None:
        from macroact.seeding import seeds as stream_seeds

        reset_seeds = [int(s) for s in stream_seeds("demo", len(data), data.seed)]
    buffers = []
    for i in range(len(data)):
        success = np.zeros(len(data.actions[i]) + 1, dtype=bool)
        success[-1] = bool(data.success[i])
        buffers.append(EpisodeBuffer(
            id=i, seed=reset_seeds[i],
            observations=np.asarray(data.observations[i]),
            actions=np.asarray(data.actions[i]),
            rewards=np.asarray(data.rewards[i], dtype=np.float64),
            terminations=np.asarray(data.terminations[i], dtype=bool),
            truncations=np.asarray(data.truncations[i], dtype=bool),
            infos={"success": success}))
    obs_dim = data.observations[0].shape[1]
    action_dtype = np.asarray(data.actions[0]).dtype
    record = {"format": 1, "env_id": data.env_id, "env_kwargs": data.env_kwargs,
              "seed": data.seed, "factor_names": list(data.factor_names),
              "factors": data.factors.tolist(), "success": data.success.tolist()}
    json.dumps(record)  # refuse what JSON cannot hold before anything is written
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Minari warns about every optional metadata field
        dataset = minari.create_dataset_from_buffers(
            dataset_id, buffers,
            observation_space=spaces.Box(-np.inf, np.inf, (obs_dim,), np.float64),
            action_space=spaces.Box(data.low.astype(action_dtype), data.high.astype(action_dtype),
                                    dtype=action_dtype),
            algorithm_name="macroact collect", author="macroact",
            description=description or (f"{len(data)} demonstration episodes of {data.env_id} "
                                         f"recorded by macroact collect"),
            data_format="hdf5")
        dataset.storage.update_metadata({METADATA_KEY: json.dumps(record)})
    return folder


def _open(name_or_path: str | os.PathLike) -> Any:
    minari = _minari()
    from minari import MinariDataset

    path = Path(name_or_path)
    for candidate in (path / "data", path):
        if (candidate / "metadata.json").is_file():
            return MinariDataset(candidate)
    name = str(name_or_path)
    if not (store_path() / name / "data").is_dir():
        local = sorted(minari.list_local_datasets()) if store_path().is_dir() else []
        raise FileNotFoundError(f"no Minari data set {name!r}: not a folder holding one, and "
                                f"not in the local store {store_path()} (which holds "
                                f"{local or 'none'}); nothing is downloaded, use "
                                "`minari download` first for remote sets")
    return minari.load_dataset(name, download=False)


def read_minari(name_or_path: str | os.PathLike) -> EpisodeData:
    """A Minari data set (by id from the local store, or a folder) as ``EpisodeData``."""
    from gymnasium import spaces

    from macroact.envs.external import flatten_observation

    dataset = _open(name_or_path)
    meta = dataset.storage.metadata
    obs_space, act_space = dataset.observation_space, dataset.action_space
    if not isinstance(act_space, spaces.Box) or len(act_space.shape) != 1:
        raise ValueError(f"{name_or_path!s} has a {act_space} action space; only flat Box "
                         "actions are read")
    fields: dict[str, list] = {k: [] for k in ("observations", "actions", "rewards",
                                               "terminations", "truncations")}
    success = []
    for ep in dataset.iterate_episodes():
        obs = ep.observations
        if isinstance(obs_space, spaces.Box) and len(obs_space.shape) == 1:
            flat = np.asarray(obs, dtype=np.float64)
        else:  # per-step flatten of a structured observation
            n_obs = len(ep.rewards) + 1
            flat = np.stack([flatten_observation(_step(obs, t), obs_space) for t in range(n_obs)])
        fields["observations"].append(flat)
        fields["actions"].append(np.asarray(ep.actions).reshape(len(ep.rewards), -1))
        fields["rewards"].append(np.asarray(ep.rewards, dtype=np.float64))
        fields["terminations"].append(np.asarray(ep.terminations, dtype=bool))
        fields["truncations"].append(np.asarray(ep.truncations, dtype=bool))
        flag = None
        for key in ("is_success", "success"):
            if key in (ep.infos or {}):
                flag = bool(np.asarray(ep.infos[key]).reshape(-1)[-1])
                break
        success.append(flag if flag is not None else bool(len(ep.terminations)
                                                           and ep.terminations[-1]))
    n = len(fields["actions"])
    record = _record(meta.get(METADATA_KEY))
    names: tuple[str, ...] = ()
    factors = np.zeros((n, 0), np.int64)
    env_id = str((meta.get("env_spec") and _spec_id(meta["env_spec"])) or meta.get("dataset_id"))
    env_kwargs: dict[str, Any] = {}
    seed = None
    if record is not None and len(record.get("factors", [])) == n:
        names = tuple(record.get("factor_names", ()))
        factors = np.asarray(record["factors"], np.int64).reshape(n, len(names))
        success = [bool(s) for s in record.get("success", success)]
        env_id = str(record.get("env_id", env_id))
        env_kwargs = dict(record.get("env_kwargs") or {})
        seed = record.get("seed")
    return EpisodeData(**fields, factors=factors, success=np.array(success, dtype=bool),
                       factor_names=names, env_id=env_id, low=act_space.low,
                       high=act_space.high, env_kwargs=env_kwargs, seed=seed)


def _step(obs: Any, t: int) -> Any:
    if isinstance(obs, dict):
        return {k: _step(v, t) for k, v in obs.items()}
    if isinstance(obs, (tuple, list)) and not isinstance(obs, np.ndarray):
        return tuple(_step(v, t) for v in obs)
    return np.asarray(obs)[t]


def _record(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        record = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def _spec_id(spec: Any) -> str | None:
    try:
        return json.loads(spec).get("id") if isinstance(spec, str) else None
    except (json.JSONDecodeError, AttributeError):
        return None


def minari_source(name_or_path: str) -> str:
    """What a run records for ``--minari``: an existing folder as its absolute path, else the id."""
    path = Path(name_or_path)
    return str(path.resolve()) if path.is_dir() else str(name_or_path)


def episodes_from_spec(spec: dict[str, Any]) -> EpisodeData:
    """The episodes a run's data spec names: ``{"demos": FILE.npz}`` or ``{"minari": ID|DIR}``."""
    if "minari" in spec:
        return read_minari(spec["minari"])
    return EpisodeData.load(spec["demos"])
