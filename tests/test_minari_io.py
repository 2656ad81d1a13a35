"""Minari data sets: write from EpisodeData, read by id or path, train and encode from one."""

import numpy as np
import pytest

from macroact.commands import main
from macroact.data.demos import collect
from macroact.extras import has_extra

pytestmark = pytest.mark.skipif(
    not (has_extra("minari") and has_extra("h5py")),
    reason='needs the minari extra: pip install "macroact[minari]"')


@pytest.fixture(autouse=True)
def local_store(tmp_path, monkeypatch):
    store = tmp_path / "minari_store"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(store))
    return store


def _same(a, b):
    for name in ("observations", "actions", "rewards", "terminations", "truncations"):
        assert all(np.array_equal(x, y) for x, y in zip(getattr(a, name), getattr(b, name))), name
    np.testing.assert_array_equal(a.factors, b.factors)
    np.testing.assert_array_equal(a.success, b.success)
    assert (a.factor_names, a.env_id, a.env_kwargs, a.seed) == \
        (b.factor_names, b.env_id, b.env_kwargs, b.seed)


def test_round_trip_by_id_and_by_path(local_store):
    import minari

    from macroact.data.minari_io import read_minari, write_minari

    data = collect("macroact/Reaching2D-v0", 3, seed=1)
    folder = write_minari(data, "macroact/reach-v0")
    assert folder == local_store / "macroact" / "reach-v0"
    _same(data, read_minari("macroact/reach-v0"))
    _same(data, read_minari(folder))
    loaded = minari.load_dataset("macroact/reach-v0")  # an ordinary Minari data set
    assert loaded.total_episodes == 3
    assert next(loaded.storage.get_episode_metadata([0]))["seed"] == 1_000_000
    with pytest.raises(FileExistsError, match="already exists"):
        write_minari(data, "macroact/reach-v0")
    write_minari(data.select([0]), "macroact/reach-v0", overwrite=True)
    assert len(read_minari("macroact/reach-v0")) == 1
    with pytest.raises(ValueError, match="name-v<version>"):
        write_minari(data, "no-version")
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        read_minari("macroact/absent-v0")


def test_foreign_data_set_with_dict_observations():
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer

    from macroact.data.minari_io import read_minari

    space = gym.spaces.Dict({"desired_goal": gym.spaces.Box(-5, 5, (2,), np.float64),
                             "observation": gym.spaces.Box(-5, 5, (4,), np.float64),
                             "achieved_goal": gym.spaces.Box(-5, 5, (2,), np.float64)})
    rng = np.random.default_rng(0)
    buffers = []
    for i, n in enumerate((5, 7)):
        obs = {"observation": rng.normal(size=(n + 1, 4)), "achieved_goal": rng.normal(size=(n + 1, 2)),
               "desired_goal": rng.normal(size=(n + 1, 2))}
        buffers.append(EpisodeBuffer(
            id=i, observations=obs, actions=rng.uniform(-1, 1, (n, 2)).astype(np.float32),
            rewards=np.zeros(n), terminations=np.arange(n) == n - 1, truncations=np.zeros(n, bool),
            infos={"success": np.arange(n + 1) == n}))
    with pytest.warns(UserWarning):
        minari.create_dataset_from_buffers(
            "other/maze-v1", buffers, observation_space=space,
            action_space=gym.spaces.Box(-1, 1, (2,), np.float32))
    data = read_minari("other/maze-v1")
    assert len(data) == 2 and data.factors.shape == (2, 0) and data.success.all()
    first = buffers[0].observations
    np.testing.assert_array_equal(
        data.observations[0], np.concatenate([first["observation"], first["achieved_goal"],
                                              first["desired_goal"]], axis=1))
    assert data.env_id == "other/maze-v1"


def test_collect_train_and_encode_through_minari(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["collect", "macroact/Reaching2D-v0", "--episodes", "4",
                 "--minari-id", "macroact/reach-cli-v0"]) == 0
    assert "Minari data set macroact/reach-cli-v0" in capsys.readouterr().out
    assert main(["collect", "macroact/Reaching2D-v0", "--episodes", "1",
                 "--minari-id", "macroact/reach-cli-v0"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["train", "--minari", "macroact/reach-cli-v0", "--horizon", "32", "--steps", "3",
                 "--no-progress", "--out", str(run)]) == 0
    codes = tmp_path / "codes.npz"
    assert main(["encode", str(run), "--minari", "macroact/reach-cli-v0", "--out",
                 str(codes)]) == 0
    with np.load(codes) as f:
        assert f["mu"].shape == (12, 14) and f["factors"].shape == (12, 3)
    assert main(["evaluate", str(run), "--mig-samples", "200"]) == 0
    assert main(["train", "--minari", "macroact/none-v0", "--horizon", "32", "--steps", "3",
                 "--no-progress", "--out", str(tmp_path / "run2")]) == 2
    assert "no Minari data set" in capsys.readouterr().err
