"""Issue 16: run directories, resume checks, finite-or-refused, sizes, one error path, file
modes, saved agents as data, corrupt files, concurrent trainings and kills during writes.

Every test drives the public entry points (``macroact.commands.main``, ``train``, the loaders)
with tiny models (sequences of 8 steps, 4 channels) so that the module runs in seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from macroact.commands import main
from macroact.models.base import SequenceModel
from macroact.models.favae import FAVAE, FAVAEConfig
from macroact.trainer import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--channels", "4,4,4", "--latent-dims", "2,2,2", "--batch-size", "4", "--device", "cpu",
        "--no-progress", "--log-every", "2"]


def run_cli(argv, capsys):
    """(exit status, stdout, stderr) of ``macroact ARGV`` run in this process."""
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err, command, match=None):
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"macroact {command}: error: "), err
    if match is not None:
        assert match in lines[0], lines[0]


def write_data(path, n=12, t=8, d=2, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=(n, t, d)), axis=1) * scale
    np.savez(path, sequences=x, factors=rng.integers(0, 3, size=(n, 2)))
    return path


@pytest.fixture
def data(tmp_path):
    return write_data(tmp_path / "data.npz")


def train_cli(data, out, capsys, *extra, steps=4):
    return run_cli(["train", "--dataset", data, "--steps", steps, "--checkpoint-every", 2, *TINY,
                    *extra, "--out", out], capsys)


@pytest.fixture
def run_dir(tmp_path, data, capsys):
    out = tmp_path / "run"
    rc, _, err = train_cli(data, out, capsys)
    assert rc == 0, err
    return out


# -- run directories ---------------------------------------------------------------------------
def test_train_refuses_a_directory_holding_another_run(run_dir, data, capsys):
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    rc, _, err = train_cli(data, run_dir, capsys, "--seed", 5)
    assert_one_line_error(rc, err, "train", "already holds a run")
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


def test_overwrite_removes_the_old_run_before_anything_new(run_dir, data, capsys, monkeypatch):
    from macroact.trainer import Trainer

    def killed(self):
        raise KeyboardInterrupt  # the new run dies before its first checkpoint

    monkeypatch.setattr(Trainer, "train_step", killed)
    with pytest.raises(KeyboardInterrupt):
        train_cli(data, run_dir, capsys, "--seed", 5, "--overwrite")
    run = json.loads((run_dir / "run.json").read_text())
    assert run["train_config"]["seed"] == 5
    # Never run.json of the new run beside the old run's weights.
    assert not (run_dir / "model.pt").exists() and not (run_dir / "checkpoint.pt").exists()
    rc, _, err = run_cli(["evaluate", run_dir], capsys)
    assert_one_line_error(rc, err, "evaluate", "no model file")


def test_a_held_run_directory_is_refused(tmp_path, data, capsys):
    from macroact.rundir import RunDir

    out = tmp_path / "busy"
    with RunDir(out):
        rc, _, err = train_cli(data, out, capsys)
        assert_one_line_error(rc, err, "train", "in use by another run")
    assert not (out / "run.json").exists()


def test_two_concurrent_trainings_into_one_directory(tmp_path, data):
    """Both start at once: exactly one succeeds, the other is refused in one line, and the
    directory holds one run's record with that run's weights."""
    out = tmp_path / "shared"
    procs = [subprocess.Popen(
        [sys.executable, "-m", "macroact", "train", "--dataset", str(data), "--steps", "40",
         "--checkpoint-every", "20", *TINY, "--seed", str(seed), "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    winner = [i for i, (rc, _) in enumerate(results) if rc == 0][0]
    err = results[1 - winner][1].strip().splitlines()
    assert len(err) == 1 and ("in use by another run" in err[0] or "already holds a run" in err[0])
    run = json.loads((out / "run.json").read_text())
    assert run["train_config"]["seed"] == (1, 2)[winner]
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    model = SequenceModel.load(out)
    for k, v in model.state_dict().items():
        assert torch.equal(v, ckpt["model"]["state_dict"][k]), k


def test_sigkill_during_training_leaves_a_loadable_run_that_resumes_exactly(tmp_path, data,
                                                                            capsys):
    """A checkpoint every step, killed at a random moment (often inside a write): the
    checkpoint loads, resuming cleans the leftovers and ends with an uninterrupted run's weights."""
    args = ["train", "--dataset", str(data), "--steps", "60", "--checkpoint-every", "1", *TINY,
            "--seed", "3"]
    out = tmp_path / "killed"
    # The child computes with this process's thread count (other tests may have changed it),
    # so that its steps and the in-process ones round alike.
    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))
    proc = subprocess.Popen([sys.executable, "-m", "macroact", *args, "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 60
    while not (out / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(float(np.random.default_rng().uniform(0.05, 0.3)))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    step = torch.load(out / "checkpoint.pt", weights_only=True)["step"]
    assert 1 <= step <= 60
    (out / ".checkpoint.pt.leftover.tmp").write_bytes(b"half a file")
    rc, _, err = run_cli(["train", "--resume", "--no-progress", "--out", out], capsys)
    assert rc == 0, err
    assert not list(out.glob(".*.tmp"))
    full = tmp_path / "full"
    rc, _, err = run_cli(args + ["--out", full], capsys)
    assert rc == 0, err
    a, b = SequenceModel.load(out).state_dict(), SequenceModel.load(full).state_dict()
    assert all(torch.equal(v, b[k]) for k, v in a.items())
    record = json.loads((out / "run.json").read_text())
    assert record["resumed"][0]["from_step"] == step


# -- resume checks -------------------------------------------------------------------------------
def test_resume_refuses_changed_settings_and_names_them(run_dir, data, capsys):
    before = (run_dir / "run.json").read_text()
    rc, _, err = run_cli(["train", "--resume", "--lr", "0.01", "--seed", "9", "--beta", "3",
                          "--out", run_dir, "--no-progress"], capsys)
    assert_one_line_error(rc, err, "train", "lr: run 0.001, now 0.01")
    assert "seed: run 0, now 9" in err and "beta: run 1.0, now 3.0" in err
    rc, _, err = run_cli(["train", "--resume", "--steps", "2", "--out", run_dir], capsys)
    assert_one_line_error(rc, err, "train", "may only grow")
    write_data(data, seed=1)  # same file name, other contents
    rc, _, err = run_cli(["train", "--resume", "--steps", "6", "--out", run_dir], capsys)
    assert_one_line_error(rc, err, "train", "contents differ")
    assert (run_dir / "run.json").read_text() == before


def test_resume_records_what_resumed(run_dir, capsys):
    rc, _, err = run_cli(["train", "--resume", "--steps", "6", "--out", run_dir, "--no-progress"],
                         capsys)
    assert rc == 0, err
    run = json.loads((run_dir / "run.json").read_text())
    assert run["train_config"]["steps"] == 6
    assert [(r["from_step"], r["steps"]) for r in run["resumed"]] == [(4, 6)]


# -- finite or refused -------------------------------------------------------------------------------
def test_data_beyond_float32_range_is_refused(tmp_path, capsys):
    big = write_data(tmp_path / "big.npz", scale=1e37)
    rc, _, err = train_cli(big, tmp_path / "big_run", capsys)
    assert_one_line_error(rc, err, "train")
    assert not (tmp_path / "big_run").exists()


def _damage(run_dir, name, value):
    ckpt = torch.load(run_dir / "model.pt", weights_only=True)
    ckpt["state_dict"][name] = torch.full_like(ckpt["state_dict"][name], value)
    torch.save(ckpt, run_dir / "model.pt")


@pytest.mark.parametrize("name,value", [("encoder.0.0.weight", float("nan")),
                                        ("normalizer.high", float("inf")),
                                        ("normalizer.high", 3e38)])
def test_non_finite_model_files_are_refused(run_dir, data, tmp_path, capsys, name, value):
    _damage(run_dir, name, value)
    rc, out, err = run_cli(["evaluate", run_dir], capsys)
    assert_one_line_error(rc, err, "evaluate", "normali" if "normalizer" in name else name)
    assert "Rec" not in out and not (run_dir / "metrics.json").exists()
    rc, _, err = run_cli(["encode", run_dir, data, "--out", tmp_path / "codes.npz"], capsys)
    assert_one_line_error(rc, err, "encode")
    assert not (tmp_path / "codes.npz").exists()


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
def test_overflowing_weights_give_an_error_not_nan_codes_or_actions(tmp_path):
    import gymnasium as gym

    from macroact.evaluation.encode import encode_chunks
    from macroact.trainer import evaluate
    from macroact.wrapper import MacroActionWrapper

    model = FAVAE(FAVAEConfig(seq_len=8, channels=(4, 4, 4)), 1)
    model.normalizer.set_bounds([-2.0], [2.0])
    torch.manual_seed(0)
    with torch.no_grad():  # finite weights whose sums overflow float32 into inf - inf = NaN
        for p in model.parameters():
            p.copy_(torch.randn_like(p).sign() * 1e30)
    x = np.ones((3, 8, 1), np.float32)
    with pytest.raises(ValueError, match="NaN or inf"):
        encode_chunks(model, x)
    with pytest.raises(ValueError, match="NaN or inf"):
        evaluate(model, x)
    for fast in (True, False):
        env = MacroActionWrapper(gym.make("Pendulum-v1"), model, fast_decode=fast)
        env.reset(seed=0)
        with pytest.raises(ValueError, match="NaN or inf primitive actions"):
            env.step(np.full(env.action_space.shape, 0.5, np.float32))
    with torch.no_grad():
        model.gates["0"][0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf values in 'gates.0'"):
        MacroActionWrapper(gym.make("Pendulum-v1"), model)


def test_json_outputs_refuse_nan(tmp_path):
    from macroact.io import write_json

    with pytest.raises(ValueError, match="NaN or infinite"):
        write_json({"rec": float("nan")}, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()
    write_json({"rec": 1.5}, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text()) == {"rec": 1.5}


# -- sizes -------------------------------------------------------------------------------------------------
def test_kernel_size_longer_than_the_sequence_is_a_clear_error(tmp_path):
    """Was a native crash (heap corruption in a transposed convolution): run it in a child."""
    res = subprocess.run(
        [sys.executable, "-m", "macroact", "train", "--dataset", "reaching2d", "--kernel-size",
         "999", "--steps", "2", "--batch-size", "8", "--device", "cpu", "--no-progress",
         "--out", str(tmp_path / "k")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, (res.returncode, res.stderr[-500:])
    assert res.stderr.strip().splitlines() == [
        "macroact train: error: kernel_size 999 is longer than the sequences (seq_len 100); "
        "use an odd kernel_size <= 100"]


@pytest.mark.parametrize("kw,match", [(dict(kernel_size=9), "kernel_size 9 is longer"),
                                      (dict(conv_stride=9), "conv_stride 9 is longer"),
                                      (dict(latent_dims=(10**7, 2, 2)), "parameters")])
def test_sizes_are_checked_against_the_sequence_length(kw, match):
    with pytest.raises(ValueError, match=match):
        FAVAE(FAVAEConfig(seq_len=8, **kw), 2)


# -- one error path ----------------------------------------------------------------------------------------
def test_expected_failures_are_one_line_errors(tmp_path, data, run_dir, capsys):
    empty = tmp_path / "empty.npz"
    np.savez(empty, sequences=np.zeros((0, 8, 2)))
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [
        (["train", "--dataset", empty, "--steps", 2, *TINY, "--out", tmp_path / "e"], "train"),
        (["train", "--dataset", data, "--steps", 2, *TINY, "--out", a_file], "train"),
        (["train", "--dataset", data, "--steps", 2, *TINY, "--out", a_file / "sub"], "train"),
        (["train", "--dataset", data, "--steps", 20, "--lr", "1e30", *TINY, "--out",
          tmp_path / "diverge"], "train"),
        (["train", "--dataset", data, "--model", "fhvae", "--label-factor", 7, "--steps", 2,
          "--device", "cpu", "--no-progress", "--out", tmp_path / "fh"], "train"),
        (["evaluate", tmp_path / "nowhere"], "evaluate"),
        (["encode", run_dir, data, "--out", tmp_path], "encode"),
        (["collect", "macroact/Reaching2D-v0", "--episodes", 2, "--out", tmp_path], "collect"),
        (["ppo", "macroact/NoSuchEnv-v0", "--flat", "--timesteps", 10, "--out",
          tmp_path / "ppo"], "ppo"),
    ]
    for argv, command in cases:
        t0 = time.perf_counter()
        rc, _, err = run_cli(argv, capsys)
        assert_one_line_error(rc, err, command)
        assert "Traceback" not in err
        if argv[-1] == tmp_path:  # output paths are checked before the work
            assert time.perf_counter() - t0 < 5


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(ValueError, match="not a run directory"):
        main(["--debug", "evaluate", str(tmp_path)])


# -- file modes -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640)])
def test_written_files_get_the_umasks_mode(tmp_path, data, capsys, umask, mode):
    from macroact.io import atomic_write_text

    old = os.umask(umask)
    try:
        atomic_write_text("x", tmp_path / "f.txt")
        rc, _, err = train_cli(data, tmp_path / "run", capsys)
        assert rc == 0, err
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == mode
    for name in ("run.json", "model.pt", "checkpoint.pt"):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == mode, name


# -- saved agents are data ---------------------------------------------------------------------------------
def _agent_dir(tmp_path, env_id="macroact/Reaching2D-v0", favae="favae.pt"):
    d = tmp_path / "agent"
    d.mkdir()
    meta = {"config": {"env_id": env_id, "flat": False, "model": "x"}, "favae": favae,
            "ppo": {"n_steps": 16, "batch_size": 16}, "obs_stats": None}
    (d / "agent.json").write_text(json.dumps(meta))
    model = FAVAE(FAVAEConfig(seq_len=8, channels=(4, 4, 4)), 2)
    model.normalizer.set_bounds([-1.0, -1.0], [1.0, 1.0])
    model.save(d / "favae.pt")  # a complete agent but for what is tested
    return d


def test_a_saved_env_id_never_imports_a_module(tmp_path, capsys, monkeypatch):
    (tmp_path / "planted_module.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('IMPORTED').write_text('yes')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    d = _agent_dir(tmp_path, env_id="planted_module:Evil-v0")
    rc, _, err = run_cli(["rollout", d, "--episodes", 1], capsys)
    assert_one_line_error(rc, err, "rollout", "not a registered Gymnasium id")
    assert not (tmp_path / "IMPORTED").exists()


def test_a_saved_model_path_must_stay_inside_the_agent_directory(tmp_path, run_dir, capsys):
    d = _agent_dir(tmp_path, favae=str(Path("..") / "run" / "model.pt"))
    rc, _, err = run_cli(["rollout", d, "--episodes", 1], capsys)
    assert_one_line_error(rc, err, "rollout", "points outside")
    d2 = tmp_path / "abs"
    d2.mkdir()
    (d2 / "agent.json").write_text((d / "agent.json").read_text().replace(
        '"../run/model.pt"', json.dumps(str(run_dir / "model.pt"))))
    rc, _, err = run_cli(["rollout", d2, "--episodes", 1], capsys)
    assert_one_line_error(rc, err, "rollout", "points outside")


# -- random bytes and truncations of every file the project reads --------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A trained run, its data, demonstrations and an agent directory, once for the module."""
    from macroact.agents.ppo import PPORunConfig, train_ppo
    from macroact.data.demos import collect

    d = tmp_path_factory.mktemp("files")
    data = write_data(d / "data.npz")
    torch.manual_seed(0)
    model = FAVAE(FAVAEConfig(seq_len=8, channels=(4, 4, 4)), 2)
    train(model, np.load(data)["sequences"], TrainConfig(steps=2, batch_size=4, device="cpu",
          checkpoint_every=1), out_dir=d / "run", progress_bar=False,
          data_spec={"dataset": str(data), "length": 100})
    collect("macroact/Reaching2D-v0", 2, seed=0).save(d / "demos.npz")
    torch.manual_seed(0)
    fav = FAVAE(FAVAEConfig(seq_len=8, channels=(4, 4, 4)), 2)
    fav.normalizer.set_bounds([-1.0, -1.0], [1.0, 1.0])
    fav.save(d / "favae.pt")
    train_ppo(PPORunConfig(env_id="macroact/Reaching2D-v0", timesteps=64, model=str(d / "favae.pt"),
                           n_envs=1, ppo={"n_steps": 16, "batch_size": 16}), d / "agent",
              eval_episodes=1)
    return d


#: (file, the command that reads it); the copy of the file set is damaged, the command run.
READERS = {
    "run/model.pt": ["evaluate", "{d}/run"],
    "run/run.json": ["evaluate", "{d}/run"],
    "run/checkpoint.pt": ["train", "--resume", "--steps", "3", "--no-progress", "--out", "{d}/run"],
    "data.npz": ["evaluate", "{d}/run"],
    "demos.npz": ["encode", "{d}/favae.pt", "{d}/demos.npz", "--out", "{d}/codes.npz"],
    "agent/agent.json": ["rollout", "{d}/agent", "--episodes", "1"],
    "agent/agent.zip": ["rollout", "{d}/agent", "--episodes", "1"],
    "agent/favae.pt": ["rollout", "{d}/agent", "--episodes", "1"],
}


def _copy(files, tmp_path_factory):
    import shutil

    d = tmp_path_factory.mktemp("copy")
    shutil.copytree(files, d, dirs_exist_ok=True)
    run = d / "run" / "run.json"  # the run's data spec names the original copy
    run.write_text(run.read_text().replace(str(files), str(d)))
    return d


_PRISTINE: dict[str, str] = {}


@pytest.mark.parametrize("name", sorted(READERS))
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0.0, 0.99), noise=st.binary(min_size=0, max_size=64), mode=st.sampled_from(
    ["truncate", "random", "splice"]))
def test_damaged_files_are_always_a_clear_error(files, tmp_path_factory, capsys, name, cut, noise,
                                                mode):
    if name not in _PRISTINE:  # what the command prints on the undamaged files
        clean = _copy(files, tmp_path_factory)
        rc, out, err = run_cli([a.format(d=clean) for a in READERS[name]], capsys)
        assert rc == 0, err
        _PRISTINE[name] = out.replace(str(clean), "{d}")
    d = _copy(files, tmp_path_factory)
    target = d / name
    raw = target.read_bytes()
    if mode == "truncate":
        damaged = raw[:int(len(raw) * cut)]
    elif mode == "random":
        damaged = noise
    else:
        at = int(len(raw) * cut)
        damaged = raw[:at] + noise + raw[at + len(noise) + 1:]
    target.write_bytes(damaged)
    argv = [a.format(d=d) for a in READERS[name]]
    rc, out, err = run_cli(argv, capsys)
    if rc == 0:  # damage that does not matter (e.g. in an entry never read): the same result
        assert out.replace(str(d), "{d}") == _PRISTINE[name], (mode, err)
    else:
        assert_one_line_error(rc, err, argv[0])
