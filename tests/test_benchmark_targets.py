"""The benchmark driver's reading of issue 19's PointMaze target (experiments/benchmark.py):
steps to 0.9 from the compact curves, and the step ratio against flat SAC's runs past the
table's budget."""

from __future__ import annotations

import math
import pytest

from conftest import load_experiment


@pytest.fixture(scope="module")
def bench():
    return load_experiment("benchmark")


def _run(agent: str, budget: int, reach_at: float | None, seed: int = 0, success=1.0):
    """A run record whose rolling training success jumps to 1.0 at ``reach_at`` (never: None),
    with enough episodes that every mark counts."""
    marks = [budget * (i + 1) / 10 for i in range(10)]
    curve = [[m, 1.0 if reach_at is not None and m >= reach_at else 0.0] for m in marks]
    return {"agent": agent, "seed": seed, "budget": budget, "curve": curve,
            "train_episodes": 10_000, "success_rate": success}


LATENT = "latent SAC + skill prior, closed-loop, chunked H"
OPEN = "latent SAC + skill prior, open-loop, chunked H"
FLAT = "flat SAC from scratch"


def _inputs(bench, slow=120_000):
    means = {LATENT: (1.0, 1.0, 1.0), OPEN: (1.0, 1.0, 1.0), FLAT: (0.0, 0.0, 0.0)}
    reach = {LATENT: [100_000.0, slow], OPEN: [100_000.0, 100_000.0],
             FLAT: [math.nan, math.nan]}
    return means, reach


def test_first_reach_reads_the_compact_curve(bench):
    assert bench.first_reach(_run("flat_sac", 200_000, 80_000), 0.9) == 80_000
    assert math.isnan(bench.first_reach(_run("flat_sac", 200_000, None), 0.9))


def test_flat_sac_never_reaching_within_three_times_the_latent_steps_meets_the_ratio(bench):
    means, reach = _inputs(bench)
    longer = [_run("flat_sac", 400_000, None, seed=s, success=0.0) for s in range(3)]
    text = bench.external_targets("pointmaze", means, reach, longer)[0]
    assert "run to 400,000 steps on 3 seeds, reached 0.9 rolling training success on none" in text
    assert "a third of 360,000: the step ratio is met" in text


def test_a_long_budget_under_three_times_the_latent_steps_proves_nothing(bench):
    means, reach = _inputs(bench)
    longer = [_run("flat_sac", 300_000, None, seed=s, success=0.0) for s in range(3)]
    text = bench.external_targets("pointmaze", means, reach, longer)[0]
    assert "holds up to 300,000 steps only (it needs 360,000)" in text


@pytest.mark.parametrize("flat_at, verdict", [(240_000, "missed"), (360_000, "met")])
def test_flat_sac_reaching_gives_the_ratio_against_the_slowest_latent_seed(bench, flat_at,
                                                                         verdict):
    means, reach = _inputs(bench)
    longer = [_run("flat_sac", 400_000, flat_at, seed=0),
              _run("flat_sac", 400_000, None, seed=1, success=0.0)]
    text = bench.external_targets("pointmaze", means, reach, longer)[0]
    assert f"reached 0.9 on 1 (fastest at {flat_at:,} steps" in text
    assert f"{flat_at / 120_000:.1f} times the steps: the step ratio is {verdict}" in text


def test_without_long_runs_the_ratio_is_stated_up_to_the_budget(bench):
    means, reach = _inputs(bench)
    text = bench.external_targets("pointmaze", means, reach)[0]
    assert "only by reaching 0.9 before 360,000 steps, which was not measured" in text


def test_partial_ogbench_target_compares_only_runs_every_started_agent_finished(bench):
    b = bench.OGBENCH_TARGET_BUDGET
    runs = {("cube2", "flat_sac"): [_run("flat_sac", b, None, 0, success=0.9)],
            ("cube1", "flat_sac"): [_run("flat_sac", b, None, 0, success=0.1)],
            ("cube2", "cl_prior_sac_chunk"): [_run("cl_prior_sac_chunk", b, None, 0, 0.2),
                                              _run("cl_prior_sac_chunk", 30_000, None, 1, 1.0)],
            ("cube3", "cl_prior_sac_chunk"): [_run("cl_prior_sac_chunk", b, None, 0, 0.5)]}
    line = bench.partial_target_line(runs)[0]
    # Only task 2 seed 0 is shared; the 30,000-step record and the unshared tasks are left out.
    assert "(task 2 seed 0;" in line
    assert f"{FLAT} 0.90" in line and f"{LATENT} 0.20" in line
    assert "Not started: raw-chunk SAC" in line and OPEN in line
    assert bench.partial_target_line({}) == []
    apart = {("cube1", "flat_sac"): runs[("cube1", "flat_sac")],
             ("cube3", "cl_prior_sac_chunk"): runs[("cube3", "cl_prior_sac_chunk")]}
    assert "no (task, seed) run is finished" in bench.partial_target_line(apart)[0]


def test_updates_table_uses_kept_numbers_and_estimates_older_records(bench):
    settings = {"learning_starts": 100, "train_freq": 8, "gradient_steps": 1}
    old = {**_run("chunk_sac", 500_000, None), "settings": settings}
    new = [{**_run("cl_prior_sac_chunk", 500_000, None, seed=s), "settings": settings,
            "training": {"gradient_steps": g, "alpha": a, "prior_kl": kl, "target_kl": 5.0}}
           for s, (g, a, kl) in enumerate([(6300, 0.5, 6.0), (6100, 0.1, 4.0),
                                           (6200, 0.3, 5.0)])]
    runs = {("cube1", "chunk_sac"): [old], ("cube1", "cl_prior_sac_chunk"): new[:2],
            ("cube2", "cl_prior_sac_chunk"): new[2:]}
    rows = {r[0]: r for r in bench.updates_rows(runs, bench.OGBENCH_ROWS)}
    assert set(rows) == {bench.OGBENCH_ROWS[1][0], LATENT}
    # Older records: (500,000 / 10 decisions - 100 learning starts) / 8 x 1.
    assert rows[bench.OGBENCH_ROWS[1][0]][1:5] == ["1", "10", "~6,238", "not recorded"]
    # Kept numbers: medians over the runs of every task.
    assert rows[LATENT][1:] == ["3", "10", "6,200", "0.3", "5.00 (target 5)"]
    # Some runs without the numbers: the medians say how many runs they come from.
    runs[("cube3", "cl_prior_sac_chunk")] = [old]
    row = {r[0]: r for r in bench.updates_rows(runs, bench.OGBENCH_ROWS)}[LATENT]
    assert row[1:4] == ["4", "10", "6,200 (3 runs recorded)"]


def test_a_settings_diagnostic_is_recorded_apart_and_reported_beside_the_chosen_trial(
        bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    rep = bench._reporting()
    seen = {}

    def fake_run_agent(env, agent, trial, seed, stream, log, favae_log=None):
        seen.update(suffix=bench.RUN_SUFFIX, override=dict(bench.SETTINGS_OVERRIDE),
                    budget=bench.ENVS[env]["budget"], trial=trial)
        rec = {**_run(agent, bench.ENVS[env]["budget"], None, seed, success=0.5),
               "total_seconds": 12.0, "training": {"gradient_steps": 49_990, "alpha": 0.1}}
        if bench.SETTINGS_OVERRIDE:
            rec["override"] = dict(bench.SETTINGS_OVERRIDE)
        return rec

    monkeypatch.setattr(bench, "run_agent", fake_run_agent)
    monkeypatch.setattr(bench, "chosen_trial", lambda log, agent: 0)
    diag = rep.RunLog(tmp_path / "external_cube2_diag.jsonl")
    bench.run_long("cube2", ["cl_prior_sac_chunk"], [0], 500_000, diag, lambda a: None,
                   lambda: None, None, override={"train_freq": 1})
    assert seen == {"suffix": "_b500000_train_freq1", "override": {"train_freq": 1},
                    "budget": 500_000, "trial": 0}
    # Restored afterwards: the next run of the table gets the chosen trial's settings.
    assert bench.SETTINGS_OVERRIDE == {} and bench.RUN_SUFFIX == ""
    assert bench.ENVS["cube2"]["budget"] == 30_000
    assert diag.get("run/cl_prior_sac_chunk/0/500000/train_freq=1") is not None
    base = {**_run("cl_prior_sac_chunk", 500_000, None, 0, success=0.2)}
    labels = {agent: label for label, agent, _ in bench.OGBENCH_ROWS}
    diag_runs = bench._task_runs({"cube2": diag})
    lines = bench.diagnostic_section(diag_runs, {("cube2", "cl_prior_sac_chunk"): [base]},
                                     labels, "CMD", "FILES")
    row = next(line for line in lines if line.startswith(f"| {LATENT}"))
    assert row.split(" | ")[1:11] == ["cube2", "0", "500,000", "train_freq=1", "0.50", "0.20",
                                      "0.00", "49,990", "0.1", ""]
    assert "not run" in "".join(bench.diagnostic_section(diag_runs, {}, labels, "C", "F"))
    assert bench.diagnostic_section({}, {}, labels, "C", "F") == []
    for table, env in (("external", "cube2"), ("external", "pointmaze"), ("skills", "reacher")):
        with pytest.raises(SystemExit, match="--set is a diagnostic of --long N runs"):
            bench.main(["--table", table, "--env", env, "--set", "train_freq=1"])


def test_set_pairs_split_into_run_config_fields_and_sb3_settings(bench):
    run, sb3 = bench.split_override("sac", {"prior_target_kl": 5.0, "train_freq": 1})
    assert run == {"prior_target_kl": 5.0} and sb3 == {"train_freq": 1}
    run, sb3 = bench.split_override("ppo", {"bc_log_std": -2.5, "n_steps": 64})
    assert run == {"bc_log_std": -2.5} and sb3 == {"n_steps": 64}


def test_dart_and_mixture_variants_get_files_of_their_own(bench, tmp_path):
    assert bench.demos_path("reacher").name == "demos_1000.npz"
    assert bench.demos_path("reacher", 0.2).name == "demos_1000_dart0.2.npz"
    model = tmp_path / "closed_loop_chunk_dart0.2" / "model.pt"
    model.parent.mkdir()
    model.write_bytes(b"weights")
    copy = bench.mixture_dir(model, 8)
    assert copy == tmp_path / "closed_loop_chunk_dart0.2_mix8" / "model.pt"
    assert copy.read_bytes() == b"weights" and sorted(p.name for p in copy.parent.iterdir()) \
        == ["model.pt"]
    model.write_bytes(b"other")  # made once: a later call keeps the copy
    assert bench.mixture_dir(model, 8).read_bytes() == b"weights"
    with pytest.raises(ValueError, match="DART noise"):
        bench.prepare_demos("cube1", 0.2)
    assert bench.SKILL_AGENTS["cl_mixprior_sac_chunk_dart"]["prior_components"] \
        == bench.PRIOR_COMPONENTS


def test_named_demo_sets_get_files_of_their_own_and_collect_with_their_settings(bench):
    assert bench.demos_path("gripper", "recover").name == "demos_600_recover.npz"
    assert bench._demo_settings("recover") == {
        "action_noise": bench.DART_NOISE, "demonstrator_kwargs": {"replan": True},
        "bursts": 0.5, "burst_steps": 20, "burst_within": 100}
    assert bench._demo_settings(0.2) == {"action_noise": 0.2} and bench._demo_settings(0) == {}
    assert bench.demos_path("gripper", "dart2000").name == "demos_2000_dart2000.npz"
    assert bench._demo_settings("clean3000") == {"episodes": 3000}
    assert bench._demo_settings("dart4000") == {"action_noise": bench.DART_NOISE,
                                                "episodes": 4000}
    with pytest.raises(ValueError, match="unknown demo set 'noisy'.*recover"):
        bench._demo_settings("noisy")
    assert bench.SKILL_AGENTS["replay_dart2000"]["replay"] and \
        bench.chosen_trial(None, "replay_dart2000") is None  # nothing to tune
    for agent, demo_set in (("cl_prior_sac_chunk_recover", "recover"),
                            ("replay_dart2000", "dart2000"),
                            ("replay_clean2000", "clean2000"),
                            ("flat_bc_ft_recover", "recover"),
                            ("cl_prior_sac_chunk_dart2000", "dart2000"),
                            ("flat_bc_ft_dart2000", "dart2000"),
                            ("cl_prior_sac_chunk_dart4000", "dart4000"),
                            ("replay_clean4000", "clean4000")):
        assert bench.SKILL_AGENTS[agent]["demo_set"] == demo_set
        assert bench.applies(agent, "gripper") and not bench.applies(agent, "reacher")


def test_held_demos_are_collected_past_success_but_replayed_on_the_task(bench):
    """The "hold" sets run their demos to the time limit; their replay baseline is evaluated
    on ReacherSparse-v0 as every agent is (terminating on success), not on the demos' env."""
    from macroact.data.demos import collect

    assert bench._demo_settings("dart_hold") == {
        "action_noise": bench.DART_NOISE, "env_kwargs": {"terminate_on_success": False}}
    assert bench.demos_path("reacher", "clean_hold").name == "demos_1000_clean_hold.npz"
    for agent in ("replay_clean_hold", "replay_dart_hold", "flat_bc_ft_dart_hold",
                  "cl_prior_sac_chunk5_s6k_dart_hold"):
        assert bench.applies(agent, "reacher") and not bench.applies(agent, "gripper")
    demos = collect("macroact/ReacherSparse-v0", 3, env_kwargs={"terminate_on_success": False})
    assert all(len(a) == 50 for a in demos.actions)
    assert bench.replay_env_kwargs("reacher", demos, "replay_clean_hold") == {}
    assert bench.replay_env_kwargs("reacher", demos, "replay") is None  # the demos' own
    res = bench.run_replay("reacher", demos, "replay_clean_hold")
    on_task = bench.EVAL_EPISODES
    assert len(res["successes"]) == on_task
    # on the task an episode ends at its first success: no successful episode runs 50 steps
    # unless it reached the target on its last step (checked against a direct evaluation)
    from agents.replay import evaluate_replay

    direct = evaluate_replay("macroact/ReacherSparse-v0", demos, n_episodes=on_task,
                             env_kwargs={})
    held = evaluate_replay("macroact/ReacherSparse-v0", demos, n_episodes=on_task)
    assert res["successes"] == direct["successes"]
    assert all(n == 50 for n in held["lengths"]) and min(direct["lengths"]) < 50


def test_gripper_target_reads_the_1m_runs(bench):
    cl = "latent SAC + skill prior, closed-loop, chunked H"
    means = {cl: (0.05, 0.01, 0.09)}
    nan = float("nan")
    short = {("cl_prior_sac_chunk", 1_000_000): ([0.5, 0.7], [nan, nan]),
             ("cl_prior_sac_chunk_dart", 1_000_000): ([0.9, 0.8], [400_000.0, nan]),
             ("cl_prior_sac_chunk_dart", 300_000): ([0.1], [nan])}
    text = bench.skills_targets({"gripper": (means, {}, short)})[-1]
    assert "on the table's demos: not met, 0.20 short (2 seed(s), mean 0.60" in text
    assert "eval success 0.50, 0.70" in text and "open-loop SAC + prior not run" in text
    assert "on DART demos: met (2 seed(s), mean 0.85" in text
    assert "0.9 rolling training success 400,000 steps, not reached" in text
    assert "eval success 0.10" not in text  # only the 1M runs count for the 1M target
    other = {("cl_prior_sac_chunk", 300_000): ([0.9], [nan])}
    text = bench.skills_targets({"gripper": (means, {}, other)})[-1]
    assert "on the table's demos: not measured at 1M steps" in text


def test_env_specific_skill_agents_stay_in_their_env(bench, tmp_path, monkeypatch):
    agent = "cl_prior_sac_chunk10_dart"
    for name in ("RESULTS", "RUNS", "OUT_ROOT"):  # --out-root rebinds them: restored after
        monkeypatch.setattr(bench, name, getattr(bench, name))
    assert bench.ENVS["gripper"]["macros"]["chunk10"]["horizon"] == 10
    assert bench.applies(agent, "gripper") and not bench.applies(agent, "reacher")
    assert bench.applies("cl_prior_sac_chunk_dart", "reacher") and bench.applies("replay", "x")
    h5 = "cl_prior_sac_chunk5_dart3000"
    assert bench.ENVS["reacher"]["macros"][bench.agent_spec(h5)["macro"]]["horizon"] == 5
    assert bench.applies(h5, "reacher") and not bench.applies(h5, "gripper")
    h5_1k = bench.agent_spec("cl_prior_sac_chunk5_dart")  # the 1,000 DART demos, not 3,000
    assert h5_1k["macro"] == "chunk5" and h5_1k["demo_noise"] == bench.DART_NOISE
    assert "demo_set" not in h5_1k and not bench.applies("cl_prior_sac_chunk5_dart", "gripper")
    for extra in ([], ["--long", "1000000"]):
        with pytest.raises(SystemExit, match=f"{agent}: only for --env gripper, not --env "
                                             "reacher"):
            bench.main(["--table", "skills", "--env", "reacher", "--agents", agent,
                        "--out-root", str(tmp_path), *extra])
    assert not (tmp_path / "experiments").exists()  # refused before anything was written
    lines: list[str] = []
    log = bench._reporting().RunLog(tmp_path / "skills.jsonl")
    bench._skills_section("reacher", log, log, lines)
    text = "\n".join(lines)
    assert "DART demos" in text and "H = 10" not in text and agent not in text
    lines = []
    bench._skills_section("gripper", log, log, lines)
    assert "closed-loop, H = 10, DART demos | not run" in "\n".join(lines)


class _Log:
    def __init__(self, recs):
        self.recs = recs

    def get(self, key):
        return self.recs.get(key)


def test_a_residual_agents_skill_stage_is_the_chosen_trial_for_the_rest_of_the_budget(
        bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "RUNS", tmp_path)
    monkeypatch.setitem(bench.ENVS, "gripper", dict(bench.ENVS["gripper"], budget=1_000_000))
    monkeypatch.setattr(bench, "SETTINGS_OVERRIDE", {"train_freq": 1})
    base = bench.SKILL_AGENTS["res_sac_cl_prior_dart"]["residual_of"]
    trained = []

    def fake_run(env, agent, trial, seed, stream, log, favae_log=None):
        # the skill agent trains at its own budget, in its own directory, without --set
        trained.append((agent, trial, seed, stream, bench.ENVS[env]["budget"],
                        bench.RUN_SUFFIX, dict(bench.SETTINGS_OVERRIDE)))
        out = tmp_path / env / "runs" / f"{agent}_t{trial}_s{seed}{bench.RUN_SUFFIX}"
        out.mkdir(parents=True)
        (out / "eval.json").write_text('{"success_rate": 0.7}')
        return {}

    monkeypatch.setattr(bench, "run_agent", fake_run)
    log = _Log({f"tune/{base}/0": {"success_rate": 0.3, "mean_return": 0.3},
                f"tune/{base}/1": {"success_rate": 0.4, "mean_return": 0.4}})
    skill = bench.prepare_skill_agent("gripper", "res_sac_cl_prior_dart", 2, "eval", log, None)
    assert trained == [(base, 1, 2, "eval", 500_000, "_b500000", {})]
    assert skill == {"agent": base, "trial": 1, "budget": 500_000, "success_rate": 0.7,
                     "dir": str(tmp_path / "gripper" / "runs" / f"{base}_t1_s2_b500000")}
    # restored after the skill stage, and a finished skill agent is reused, not retrained
    assert bench.ENVS["gripper"]["budget"] == 1_000_000 and bench.RUN_SUFFIX == ""
    assert bench.SETTINGS_OVERRIDE == {"train_freq": 1}
    assert bench.prepare_skill_agent("gripper", "res_sac_cl_prior_dart", 2, "eval", log,
                                     None) == skill and len(trained) == 1
    with pytest.raises(SystemExit, match="no tuning records"):
        bench.prepare_skill_agent("gripper", "res_sac_cl_prior_dart", 2, "eval", _Log({}), None)


def test_every_skill_agent_has_one_table_row_whose_macro_and_demos_exist(bench):
    """An agent without a row in SKILL_ROWS would train and never be reported; a row naming
    no agent would report nothing. Each agent's macro is one of its envs' macros and its demo
    set one of DEMO_SETS (the H = 10 agent on the first 100 held demos among them)."""
    rows = [agent for _, agent, *_ in bench.SKILL_ROWS
            if agent is not None and not agent.startswith("replay")]
    assert len(rows) == len(set(rows))
    agents = {n for n, a in bench.SKILL_AGENTS.items() if not a.get("replay")}
    assert agents <= set(rows) and set(rows) <= agents | set(bench.AGENTS)
    for name, a in bench.SKILL_AGENTS.items():
        if a.get("demo_set"):
            assert a["demo_set"] in bench.DEMO_SETS, name
        for env in a.get("envs", ()):
            if a.get("macro"):
                assert a["macro"] in bench.ENVS[env]["macros"], (name, env)
    h10 = bench.SKILL_AGENTS["cl_prior_sac_chunk_s6k_h256_dart_hold100"]
    assert bench.ENVS["reacher"]["macros"][h10["macro"]]["horizon"] == 10
    assert h10["demo_set"] == "dart_hold100" and h10["trials"] == \
        bench.SKILL_AGENTS["cl_prior_sac_chunk5_s6k_h256_dart_hold100"]["trials"]


def test_residual_agents_correct_a_skill_agent_of_their_env_and_demos_and_have_a_row(bench):
    """A residual row is staged on its ``residual_of`` agent: that agent must exist, apply to
    the same envs and use the same demos (else the corrections would sit on skills learned
    from other data), the share must leave both stages steps, and every trial sets the
    corrections' reach within the wrapper's (0, 2]."""
    residual = {n: a for n, a in bench.SKILL_AGENTS.items() if a.get("residual_of")}
    assert {"res_sac_cl_prior_h256_dart_hold30", "res_sac_cl_prior_h256_dart_hold100"} <= \
        set(residual)
    rows = {agent for _, agent, *_ in bench.SKILL_ROWS}
    for name, a in residual.items():
        base = bench.SKILL_AGENTS[a["residual_of"]]
        assert a["algo"] == "sac" and a["flat"] and not base["flat"], name
        assert a.get("envs") == base.get("envs"), name
        assert (a.get("demo_set"), a.get("demo_noise")) == \
            (base.get("demo_set"), base.get("demo_noise")), name
        assert 0 < a["residual_share"] < 1, name
        assert all(0 < t["cfg"]["residual_scale"] <= 2 for t in a["trials"]), name
        assert name in rows, name
    new = residual["res_sac_cl_prior_h256_dart_hold30"]
    assert bench.applies("res_sac_cl_prior_h256_dart_hold30", "reacher")
    assert not bench.applies("res_sac_cl_prior_h256_dart_hold30", "gripper")
    assert [t["params"]["train_freq"] for t in new["trials"]] == [4, 4]
    assert "residual_prior_std" not in new["trials"][0]["cfg"]
    assert new["trials"][1]["cfg"]["residual_prior_std"] == 0.5


def test_settings_diagnostics_of_three_seeds_or_more_are_read_against_the_gripper_target(
        bench):
    def rec(seed, success, override=None, agent="cl_prior_sac_chunk_dart2000",
            budget=1_000_000):
        return {"agent": agent, "seed": seed, "budget": budget, "success_rate": success,
                "override": override or {}}

    fast = {"train_freq": 1, "gradient_steps": 1}
    records = [rec(s, v, fast) for s, v in ((2, 0.9), (0, 0.8), (1, 0.85))]
    text = bench.diag_1m_text(records + [rec(0, 0.1, {"prior_target_kl": 5.0}),  # one seed
                                         rec(3, 0.0, fast, budget=500_000),      # not 1M
                                         rec(4, 0.0)])                           # no override
    assert "2,000 DART demos, `--set gradient_steps=1,train_freq=1`: met (3 seeds 0, 1, 2: " \
        "0.80, 0.85, 0.90; mean 0.85" in text
    assert "prior_target_kl" not in text and "0.00" not in text
    low = bench.diag_1m_text([rec(s, 0.7, fast) for s in range(3)])
    assert "not met, 0.10 short (3 seeds" in low
    assert bench.diag_1m_text(records[:2]) == ""  # two seeds: no verdict


@pytest.mark.parametrize("agent, train", [("flat_sac", "sac.train_sac"),
                                          ("flat_ppo", "ppo.train_ppo")])
@pytest.mark.parametrize("suffix, stream, expected", [("_b1000", "eval", 50), ("", "eval", 0),
                                                       ("_b1000", "tune", 0)])
def test_long_runs_keep_twenty_snapshots(bench, tmp_path, monkeypatch, suffix, stream,
                                         expected, agent, train):
    """Only a --long run on the eval stream keeps snapshots (experiments/eval_curve.py), one
    per 1/20 of its budget, SAC or PPO; the table's runs and tuning trials keep none."""
    import importlib

    module_name, fn = train.split(".")
    module = importlib.import_module(f"macroact.agents.{module_name}")

    for name in ("RESULTS", "RUNS", "OUT_ROOT"):
        monkeypatch.setattr(bench, name, getattr(bench, name))
    monkeypatch.setattr(bench, "RUNS", tmp_path)
    monkeypatch.setattr(bench, "RUN_SUFFIX", suffix)
    monkeypatch.setitem(bench.ENVS, "reaching2d", dict(bench.ENVS["reaching2d"], budget=1000))
    seen = []

    class Stop(Exception):
        pass

    def fake_train(cfg, out, **kwargs):
        seen.append(cfg)
        raise Stop

    monkeypatch.setattr(module, fn, fake_train)
    with pytest.raises(Stop):
        bench.run_agent("reaching2d", agent, 0, 0, stream, _Log({}))
    assert seen[0].snapshot_every == expected and seen[0].timesteps == 1000


def _long(agent, seed, budget, trial=1, override=None):
    rec = dict(agent=agent, trial=trial, seed=seed, budget=budget,
               env_id="macroact/ReacherSparse-v0")
    return {**rec, "override": override} if override else rec


def _curve(name, first, env_id="macroact/ReacherSparse-v0", points=()):
    return dict(agent_dir=name, env_id=env_id, first_at_target=first, points=list(points))


def test_eval_curve_runs_match_run_directories(bench):
    """A long or diagnostic record finds its curve by the directory its run wrote; runs of
    another env or without a curve are left out; a curve that never reached 0.9 is NaN; the
    snapshot before the first at 0.9 bounds the crossing from below."""
    kept = {"training": {"gradient_steps": 200_000}, "primitive_steps": 1_000_000}
    records = [{**_long("cl_prior_sac_chunk5_dart3000", 0, 1_000_000), **kept},
               _long("cl_prior_sac_chunk5_dart3000", 1, 300_000,
                     override={"prior_target_kl": 5.0}),
               _long("flat_sac", 0, 1_500_000, trial=0),
               _long("flat_ppo", 0, 1_500_000, trial=0)]
    curves = [_curve("cl_prior_sac_chunk5_dart3000_t1_s0_b1000000", 350_078.0,
                     points=[(50_000, 0.3), (300_071, 0.88), (350_078, 0.9), (400_000, 0.8)]),
              _curve("cl_prior_sac_chunk5_dart3000_t1_s1_b300000_prior_target_kl5.0", 120_004.0,
                     points=[(120_004, 0.91)]),
              _curve("flat_sac_t0_s0_b1500000", None, points=[(75_000, 0.0)]),
              _curve("flat_ppo_t0_s0_b1500000", 9.0, env_id="macroact/Gripper-v1")]
    runs = bench.eval_curve_runs(records, curves)
    assert [(r["agent"], r["seed"], r["tag"]) for r in runs] == [  # by agent, then budget
        ("cl_prior_sac_chunk5_dart3000", 1, "prior_target_kl=5.0"),
        ("cl_prior_sac_chunk5_dart3000", 0, ""), ("flat_sac", 0, "")]
    assert runs[1]["first"] == 350_078.0 and math.isnan(runs[2]["first"])
    assert runs[1]["before"] == 300_071.0 and runs[0]["before"] == 0.0
    # the curve's last point, and gradient steps per primitive step where the record has them
    assert runs[1]["final"] == 0.8 and runs[2]["final"] == 0.0
    assert runs[1]["updates"] == 0.2 and math.isnan(runs[0]["updates"])
    # a retuned eval run in the same directory as a long run is the same run: listed once
    again = bench.eval_curve_runs(records + [dict(records[0])], curves)
    assert [(r["agent"], r["seed"], r["tag"]) for r in again] == [
        (r["agent"], r["seed"], r["tag"]) for r in runs]


def test_eval_curve_runs_read_a_staged_residual_run_on_its_skill_stage(bench):
    """A residual run keeps no snapshots: its crossing is its skill stage's (the staged agent
    is that agent for the stage's steps), found by the stage directory its record names; a
    stage that never reached 0.9 leaves the crossing unknown, and the text says where the
    steps were read and gives the group a verdict only when every seed crossed."""
    def staged(seed):
        return {**_long("res_x", seed, 300_000, trial=1), "training": {"gradient_steps": 9},
                "primitive_steps": 300_000,
                "skill": {"agent": "cl_prior_sac_y", "trial": 1, "budget": 150_000,
                          "dir": f"runs/benchmark/reacher/runs/cl_prior_sac_y_t1_s{seed}"
                                 "_b150000", "success_rate": 0.9}}
    records = [staged(0), staged(1), _long("flat_sac", 0, 1_500_000, trial=0)]
    curves = [_curve("cl_prior_sac_y_t1_s0_b150000", 37_503.0,
                     points=[(30_002, 0.88), (37_503, 0.9), (150_000, 0.94)]),
              _curve("cl_prior_sac_y_t1_s1_b150000", None, points=[(150_000, 0.7)]),
              _curve("flat_sac_t0_s0_b1500000", None, points=[(1_500_000, 0.0)])]
    runs = bench.eval_curve_runs(records, curves)
    res = [r for r in runs if r["agent"] == "res_x"]
    assert [(r["seed"], r["stage"]) for r in res] == [(0, 150_000), (1, 150_000)]
    assert (res[0]["first"], res[0]["before"], res[0]["final"]) == (37_503.0, 30_002.0, 0.94)
    assert math.isnan(res[1]["first"]) and math.isnan(res[0]["updates"])
    labels = {"res_x": "staged X", "flat_sac": "flat SAC"}
    text = bench.eval_curve_text(runs, labels)
    assert ("staged X, 300,000-step runs (read on the snapshots of its skill stage, its first "
            "150,000 steps): seed 0 37,503, seed 1 not reached in its skill stage (final 0.70)"
            ) in text and "Step ratio" not in text
    one = bench.eval_curve_text([r for r in runs if r["seed"] == 0], labels)
    assert ("staged X at 300,000 (1 seed(s), slowest crossing in (30,002, 37,503]): flat SAC "
            "(1 run(s)) not at 0.9 by 1,500,000: ratio below 0.03 (<= 1/3)") in one
    # a run with its own curve is read on it, not on its stage
    own = bench.eval_curve_runs(records[:1], [_curve("res_x_t1_s0_b300000", 200_000.0,
                                                     points=[(200_000, 0.95)])])
    assert own[0]["first"] == 200_000.0 and own[0]["stage"] is None


def test_eval_curve_text_ratio_brackets_crossings_between_snapshots(bench):
    labels = {"cl_prior_sac_x": "agent X", "flat_sac": "flat SAC", "flat_ppo": "flat PPO"}

    def run(agent, seed, budget, first, before=0.0, tag="", final=0.5, updates=math.nan):
        return dict(agent=agent, seed=seed, budget=budget, tag=tag, first=first, before=before,
                    final=final, updates=updates)

    nan = math.nan
    runs = [run("cl_prior_sac_x", 0, 1_000_000, 300_000.0, 250_000.0),
            run("cl_prior_sac_x", 1, 1_000_000, 350_000.0, 300_000.0),
            run("flat_sac", 0, 1_500_000, nan), run("flat_sac", 1, 1_500_000, nan),
            run("flat_ppo", 0, 1_500_000, 1_200_000.0, 1_125_000.0)]
    text = bench.eval_curve_text(runs, labels)
    assert "agent X, 1,000,000-step runs: seed 0 300,000, seed 1 350,000" in text
    # slowest seed crossed in (300k, 350k]; flat SAC after 1.5M, flat PPO in (1.125M, 1.2M]
    assert "slowest crossing in (300,000, 350,000]" in text
    assert "flat SAC (2 run(s)) not at 0.9 by 1,500,000: ratio below 0.23 (<= 1/3)" in text
    assert ("flat PPO (1 run(s)) first at 0.9 in (1,125,000, 1,200,000]: ratio 0.25 to 0.31"
            " (<= 1/3) - met on these seeds") in text
    # a flat crossing close to three times the agent's: the spacing leaves it undecided
    close = runs[:4] + [run("flat_ppo", 0, 1_500_000, 1_000_000.0, 900_000.0)]
    assert "ratio 0.30 to 0.39 (undecided) - not shown" in bench.eval_curve_text(close, labels)
    # a flat run that is fast: missed, whatever the spacing
    fast = runs[:4] + [run("flat_ppo", 0, 1_500_000, 600_000.0, 500_000.0)]
    assert "ratio 0.50 to 0.70 (> 1/3) - not met" in bench.eval_curve_text(fast, labels)
    short = bench.eval_curve_text(runs[:2] + [run("flat_sac", 0, 600_000, nan), runs[4]],
                                  labels)
    assert "ratio below 0.58 (undecided)" in short and "- not shown" in short
    # a diagnostic flat variant is compared on its own and can undo the verdict
    diag = runs + [run("flat_sac", 0, 300_000, nan, tag="train_freq=1")]
    text = bench.eval_curve_text(diag, labels)
    assert ("flat SAC with `--set train_freq=1` (diagnostic) (1 run(s)) not at 0.9 by "
            "300,000: ratio below 1.17 (undecided)") in text
    assert "- not shown" in text and "- met on these seeds" not in text
    missing = bench.eval_curve_text(runs[:1] + [run("cl_prior_sac_x", 1, 1_000_000, nan)]
                                    + runs[2:], labels)
    assert "seed 1 not reached (final 0.50)" in missing and "Step ratio" not in missing
    # a group's gradient steps per primitive step (median over its runs that recorded them)
    rated = bench.eval_curve_text([run("flat_sac", 0, 300_000, nan, updates=1.0),
                                   run("flat_sac", 1, 300_000, nan, updates=0.98),
                                   run("flat_sac", 2, 300_000, nan)], labels)
    assert "flat SAC, 300,000-step runs, gradient steps per primitive step 0.99:" in rated
    assert "gradient steps per primitive step" not in text
    assert bench.eval_curve_text([], labels) == ""


def test_eval_curve_text_compares_every_flat_sac_agent_from_scratch(bench):
    """flat_sac_utd1 (one gradient step per env step) is a flat SAC from scratch of its own:
    its fastest run is a comparison beside flat SAC's, and a fast one undoes the verdict;
    flat SAC with demos in its replay buffer is not from scratch and is not compared."""
    labels = {"cl_prior_sac_x": "agent X", "flat_sac": "flat SAC", "flat_ppo": "flat PPO",
              "flat_sac_utd1": "flat SAC UTD 1", "flat_sac_demo_dart": "flat SAC + demos"}

    def run(agent, seed, budget, first, before=0.0):
        return dict(agent=agent, seed=seed, budget=budget, tag="", first=first, before=before,
                    final=0.9, updates=math.nan)

    nan = math.nan
    runs = [run("cl_prior_sac_x", 0, 100_000, 15_000.0, 10_000.0),
            run("flat_sac", 0, 300_000, nan), run("flat_ppo", 0, 300_000, 150_000.0, 135_000.0)]
    assert "- met on these seeds" in bench.eval_curve_text(runs, labels)
    demos = bench.eval_curve_text(runs + [run("flat_sac_demo_dart", 0, 100_000, 5_000.0)],
                                  labels)
    assert "- met on these seeds" in demos and "flat SAC + demos (" not in demos
    utd = bench.eval_curve_text(runs + [run("flat_sac_utd1", 0, 100_000, 40_000.0, 35_000.0),
                                        run("flat_sac_utd1", 1, 100_000, nan)], labels)
    assert ("flat SAC UTD 1 (2 run(s)) first at 0.9 in (35,000, 40,000]: ratio 0.25 to 0.43 "
            "(undecided)") in utd and "- not shown" in utd
    assert bench.FLAT_FROM_SCRATCH["flat_sac_utd1"] == "flat_sac"


def _fake_retune(bench, tmp_path, monkeypatch, tune_success: dict[int, float]):
    """``run_agent`` replaced by a fake that records (trial, seed, stream, budget, run
    suffix) and scores ``tune_success[trial]`` on the tune stream, 0.9 on eval seeds; the
    calls, a Gripper agent, and empty retuned and long logs."""
    rep = bench._reporting()
    calls = []

    def fake_run_agent(env, agent, trial, seed, stream, log, favae_log=None):
        budget = bench.ENVS[env]["budget"]
        calls.append((trial, seed, stream, budget, bench.RUN_SUFFIX))
        success = tune_success[trial] if stream == "tune" else 0.9
        return {**_run(agent, budget, None, seed, success=success), "trial": trial,
                "mean_return": success, "total_seconds": 5.0}

    monkeypatch.setattr(bench, "run_agent", fake_run_agent)
    return (calls, "cl_prior_sac_chunk_dart2000",
            rep.RunLog(tmp_path / "skills_gripper_retuned.jsonl"),
            rep.RunLog(tmp_path / "skills_gripper_long.jsonl"))


def test_retune_runs_the_trials_at_the_long_budget_then_the_winner_reusing_long_runs(
        bench, tmp_path, monkeypatch):
    """``--long N --retune``: both trials on the tune stream at N, then the eval seeds with the
    winner; a --long N run of that trial and seed is reused, one of another trial is not."""
    calls, agent, log, long_log = _fake_retune(bench, tmp_path, monkeypatch, {0: 0.3, 1: 0.6})
    long_log.put({"key": f"run/{agent}/0/1000000", **_run(agent, 1_000_000, None, 0, 0.5),
                  "trial": 0})
    long_log.put({"key": f"run/{agent}/1/1000000", **_run(agent, 1_000_000, None, 1, 0.7),
                  "trial": 1})
    bench.run_retuned("gripper", [agent], [0, 1], 1_000_000, log, long_log, lambda: None, None)
    assert calls == [(0, bench.TUNE_SEED, "tune", 1_000_000, "_b1000000"),
                     (1, bench.TUNE_SEED, "tune", 1_000_000, "_b1000000"),
                     (1, 0, "eval", 1_000_000, "_b1000000")]  # seed 1: reused
    assert bench.ENVS["gripper"]["budget"] == 30_000 and bench.RUN_SUFFIX == ""
    assert bench.chosen_trial(log, agent, 1_000_000) == 1
    reused = log.get(f"run/{agent}/1/1000000")
    assert reused["success_rate"] == 0.7 and reused["reused_from"] == long_log.path.name
    assert log.get(f"run/{agent}/0/1000000")["success_rate"] == 0.9
    labels = {agent: "agent D"}
    text = bench.retuned_text(log.records(), labels, target=0.8)
    assert ("agent D tuned again at 1,000,000 steps (tune success trial 0 0.30, trial 1 0.60; "
            "trial 1 chosen): 2 seed(s) 0, 1: 0.90, 0.70; mean 0.80") in text
    assert "(1 of them the --long runs of that trial): met" in text
    calls.clear()
    bench.run_retuned("gripper", [agent], [0, 1], 1_000_000, log, long_log, lambda: None, None)
    assert calls == []  # everything recorded: nothing reruns
    assert bench.retuned_text([], labels) == ""


def test_retune_trials_tunes_only_those_and_waits_for_the_rest_before_eval_seeds(
        bench, tmp_path, monkeypatch):
    """``--retune --trials 1`` (two processes tuning one agent side by side): trial 1 only, no
    eval seed until trial 0 is recorded too; then the winner's seeds run."""
    calls, agent, log, long_log = _fake_retune(bench, tmp_path, monkeypatch, {0: 0.6, 1: 0.3})

    def run(trials):
        bench.run_retuned("gripper", [agent], [0], 1_000_000, log, long_log, lambda: None,
                          None, trials=trials)

    run([1])
    assert calls == [(1, bench.TUNE_SEED, "tune", 1_000_000, "_b1000000")]  # seed 0 waits
    assert log.get(f"run/{agent}/0/1000000") is None
    run([0])
    # trial 0 (0.6) beats trial 1 (0.3): its eval seed runs
    assert [c[:3] for c in calls[1:]] == [(0, bench.TUNE_SEED, "tune"), (0, 0, "eval")]
    with pytest.raises(SystemExit, match=r"--trials \[2\]: .* has trials 0-1"):
        run([2])
    with pytest.raises(SystemExit, match="add --retune"):
        bench.main(["--table", "skills", "--env", "gripper", "--long", "1000", "--trials", "0"])


def test_retune_is_refused_outside_skills_long_runs(bench):
    for extra in ([], ["--long", "1000", "--set", "train_freq=1"]):
        with pytest.raises(SystemExit, match="--retune"):
            bench.main(["--table", "skills", "--env", "gripper", "--retune", *extra])


def test_run_settings_swap_the_budget_suffix_and_settings_back_even_on_error(bench):
    table = bench.ENVS["gripper"]
    with bench.run_settings("gripper", 1_000, "_b1000_train_freq1", {"train_freq": 1}):
        assert bench.ENVS["gripper"] == dict(table, budget=1_000)
        assert bench.RUN_SUFFIX == "_b1000_train_freq1"
        assert bench.SETTINGS_OVERRIDE == {"train_freq": 1}
    with pytest.raises(RuntimeError, match="crash"):
        with bench.run_settings("gripper", 2_000, "_b2000"):
            assert bench.ENVS["gripper"]["budget"] == 2_000 and bench.SETTINGS_OVERRIDE == {}
            raise RuntimeError("crash")
    assert bench.ENVS["gripper"] is table
    assert bench.RUN_SUFFIX == "" and bench.SETTINGS_OVERRIDE == {}


def test_model_records_name_the_data_they_trained_on(bench, tmp_path):
    """Two rebuilds of a macro model on the same chunks record the same data hash, on changed
    chunks another one, so a rebuild that scores differently tells demos apart from training."""
    import numpy as np
    import torch

    from macroact.models.favae import FAVAE, FAVAEConfig

    rep = bench._reporting()
    log = rep.RunLog(tmp_path / "models.jsonl")
    fav = {"beta": 0.5, "capacity": (0.0, 0.0, 0.0), "steps": 2, "lr_schedule": "constant"}
    x = np.random.default_rng(0).uniform(-1, 1, (8, 16, 2)).astype(np.float32)

    def record(key, data):
        torch.manual_seed(0)
        model = FAVAE(FAVAEConfig(seq_len=16, beta=0.5), n_features=2)
        bench._train_and_record(model, data, fav, {}, tmp_path / key / "model.pt", log, key,
                                "favae", "chunk")
        return log.get(key)

    a, b = record("a", x), record("b", x.copy())
    changed = x.copy()
    changed[0, 0, 0] += 1e-3
    assert a["data_sha256"] == b["data_sha256"] != record("c", changed)["data_sha256"]
    assert len(a["data_sha256"]) == 64
    assert f"({torch.backends.cpu.get_cpu_capability()})" in a["machine"]


def test_a_macro_can_set_its_closed_loop_models_head_and_bottleneck(bench, tmp_path,
                                                                    monkeypatch):
    """``head_hidden``, ``obs_noise``, ``beta``, ``capacity`` and ``steps`` of a macro reach
    the closed-loop model, its record and the report's model text; a macro without them keeps
    the env's FAVAE settings and the config's head."""
    from macroact.data.demos import collect
    from macroact.models import load_model

    demos = collect("macroact/ReacherSparse-v0", 2)
    macros = {"tiny": dict(horizon=5, tail="pad_zero", steps=2, head_hidden=(8, 4), beta=0.5,
                           capacity=(1.5, 0.0, 0.25), obs_noise=0.3),
              "plain": dict(horizon=5, tail="pad_zero", steps=2)}
    monkeypatch.setitem(bench.ENVS["reacher"], "macros", macros)
    monkeypatch.setattr(bench, "data_dir", lambda env: tmp_path)
    monkeypatch.setattr(bench, "prepare_demos", lambda env, noise=0.0: demos)
    log = bench._reporting().RunLog(tmp_path / "models.jsonl")
    tiny = load_model(bench.prepare_closed_loop("reacher", "tiny", log))
    plain = load_model(bench.prepare_closed_loop("reacher", "plain", log))
    assert tiny.config.head_hidden == (8, 4) and tiny.config.beta == 0.5
    assert [m.out_features for m in tiny.head if hasattr(m, "out_features")] == [8, 4, 2]
    assert plain.config.head_hidden == (64,)
    assert plain.config.beta == bench.ENVS["reacher"]["favae"]["beta"]
    assert tiny.config.capacity == (1.5, 0.0, 0.25)
    assert plain.config.capacity == tuple(bench.ENVS["reacher"]["favae"]["capacity"])
    rec = log.get("closed_loop/tiny")
    assert rec["beta"] == 0.5 and rec["steps"] == 2 and list(rec["head_hidden"]) == [8, 4]
    assert rec["capacity"] == [1.5, 0.0, 0.25]
    assert tiny.config.obs_noise == rec["obs_noise"] == 0.3 and plain.config.obs_noise == 0.0
    assert bench._macro_text(macros["tiny"]) == (
        "H = 5, 2 training steps, action head 8 x 4, beta 0.5, capacity 1.5, 0, 0.25, "
        "head's observation noise 0.3")
    assert bench._macro_text(macros["plain"]) == "H = 5, 2 training steps"


@pytest.mark.parametrize("kind", ["dart", "clean"])
def test_a_few_held_demos_set_is_the_first_episodes_of_the_full_set(bench, kind):
    """``DEMO_SETS["<kind>_hold<n>"]`` claims the first n of the held set's episodes (the same
    seeds, plans and noise): collected with a shorter count, a prefix must come out equal."""
    import numpy as np
    from macroact.data.demos import collect

    assert all(f"{kind}_hold{n}" in bench.DEMO_SETS for n in bench.FEW_DEMOS)
    full = dict(bench.DEMO_SETS[f"{kind}_hold"])
    few = dict(bench.DEMO_SETS[f"{kind}_hold{bench.FEW_DEMOS[0]}"])
    assert few.pop("episodes") == bench.FEW_DEMOS[0] and few == full
    env_id = bench.ENVS["reacher"]["env_id"]
    long, short = collect(env_id, 5, **full), collect(env_id, 3, **full)
    assert not any(t.any() for t in long.terminations)  # held: no episode ends on success
    for name in ("observations", "actions"):
        for a, b in zip(getattr(short, name), getattr(long, name)[:3]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(short.factors, long.factors[:3])
