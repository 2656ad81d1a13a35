"""``macroact ppo``, ``macroact sac``, ``macroact replay``, ``macroact rollout`` and
``macroact pipeline``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from macroact.commands import CLIError, command
from macroact.config import add_config_args, config_from_args, parse_pairs


def _latents(text: str):
    """``all``, ``active``, ``ladders:1,2`` or a comma list of dims ``0,3,9``."""
    if text in ("all", "active") or text.startswith("ladders:"):
        return text
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--latents must be all, active, ladders:I,J or dims like 0,3,9; got {text!r}")


def _env_kwargs(text: str) -> dict:
    """``KEY=VALUE,...`` with JSON values (a maze_map list), as ``macroact collect`` takes."""
    from macroact.envs.external import parse_kwargs

    try:
        return parse_kwargs(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _factor_labels(text: str) -> dict[str, int]:
    """``elbow=1,via=0`` -> ``{"elbow": 1, "via": 0}``."""
    labels = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            labels[name.strip()] = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"--bc-factors must be NAME=LABEL pairs with integer labels, like "
                f"elbow=1,via=0; got {text!r}") from None
    return labels


def _check_action_args(args: argparse.Namespace, algo: str) -> None:
    """``--chunk H`` implies ``--flat`` (raw chunks need no FAVAE); a latent agent needs
    ``--model``."""
    if (args.chunk or getattr(args, "residual", None)) and args.flat is None:
        args.flat = True  # a residual agent's actions are primitive corrections
    if args.model is not None and args.flat is None:
        args.flat = False  # --model RUN_DIR: latents of that FAVAE are the actions
    if not args.flat and args.model is None:
        raise CLIError(f"latent {algo} needs --model RUN_DIR (a FAVAE trained on "
                       "demonstrations); or pass --flat (or --chunk H for raw action chunks)")


def _agent_kind(cfg, algo: str) -> str:
    """How the command names a run: flat, raw-chunk (H=...) or latent ``algo``."""
    if cfg.chunk:
        return f"raw-chunk {algo} (H={cfg.chunk})"
    if getattr(cfg, "residual", None):
        return f"residual {algo} over {cfg.residual}"
    return f"{'flat' if cfg.flat else 'latent'} {algo}"


@command("ppo", "train SB3 PPO over a FAVAE's latents (or --flat on primitive actions, "
                "--chunk H on raw chunks of H)")
def _ppo_args(p):
    p.add_argument("env_id", help="e.g. macroact/Reaching2D-v0")
    from macroact.agents.ppo import PPORunConfig

    add_config_args(p, PPORunConfig, skip=("env_id", "ppo"),
                    parsers={"latents": _latents, "bc_factors": _factor_labels,
                             "env_kwargs": _env_kwargs},
                    flags={"bc_demos": "--bc-init", "data": "--demos"})
    p.add_argument("--ppo", action="append", type=parse_pairs, default=[], metavar="KEY=VALUE,...",
                   help="any SB3 PPO argument, over the env's settings in "
                        "agents/hyperparams/ppo.toml, e.g. --ppo n_epochs=5,gamma=0.98 "
                        "(repeatable)")
    for flag, kind, what in (("--learning-rate", float, "learning rate"),
                             ("--n-steps", int, "rollout steps per env per update"),
                             ("--batch-size", int, "minibatch size"),
                             ("--clip-range", float, "clip range")):
        p.add_argument(flag, type=kind, default=None,
                       help=f"PPO {what}; the same as --ppo {flag[2:].replace('-', '_')}=VALUE "
                            "(default: agents/hyperparams/ppo.toml)")
    p.add_argument("--eval-episodes", type=int, default=100,
                   help="deterministic evaluation episodes after training, from the eval seed "
                        "stream (the same episodes for every agent; default 100)")
    p.add_argument("--out", required=True, help="agent directory")


@_ppo_args
def run_ppo(args: argparse.Namespace) -> int:
    from macroact.agents.ppo import PPORunConfig, train_ppo

    _check_action_args(args, "PPO")
    ppo = {k: getattr(args, k) for k in ("learning_rate", "n_steps", "batch_size", "clip_range")
           if getattr(args, k) is not None}
    for k, v in ppo.items():
        if v <= 0:
            raise CLIError(f"--{k.replace('_', '-')} must be > 0, got {v}")
    for pairs in args.ppo:
        ppo.update(pairs)
    try:
        cfg = config_from_args(PPORunConfig, args, env_id=args.env_id, ppo=ppo)
    except (ValueError, TypeError) as e:
        raise CLIError(str(e)) from None
    res = train_ppo(cfg, args.out, eval_episodes=args.eval_episodes)
    kind = _agent_kind(cfg, "PPO")
    if "bc" in res:
        print(f"after BC, before PPO: success {res['bc']['success_rate']:.2f} (BC loss "
              f"{res['bc']['loss_before']:.4g} -> {res['bc']['loss_after']:.4g})")
    print(f"{kind} on {args.env_id}: success {res['success_rate']:.2f}, return "
          f"{res['mean_return']:.3f} over {res['eval_episodes']} episodes after "
          f"{res['primitive_steps']} primitive steps ({res['wall_seconds']:.0f} s) -> {args.out}")
    return 0


@command("rollout", "evaluate a saved agent: success rate, return, optional trajectory plot")
def _rollout_args(p):
    p.add_argument("agent_dir", help="directory written by `macroact ppo` or `macroact sac`")
    p.add_argument("--episodes", type=int, default=100,
                   help="evaluation episodes, from the eval seed stream (default 100)")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of the mean")
    p.add_argument("--plot", default=None, help="PNG of the first episodes' 2D trajectories "
                                                "(observation features 0 and 1)")
    p.add_argument("--env-module", default=None, metavar="MODULE",
                   help="import MODULE first, to register the agent's env id (a saved agent's "
                        "id is only used if registered)")
    p.add_argument("--weights", default=None, metavar="SNAPSHOT",
                   help="evaluate one of the run's snapshots (AGENT_DIR/snapshots/"
                        "agent-<steps>.zip, kept with --snapshot-every) instead of its final "
                        "agent, with the observation statistics of that moment")


@_rollout_args
def run_rollout(args: argparse.Namespace) -> int:
    from macroact.agents.common import evaluate_policy
    from macroact.agents.ppo import _active_data, load_agent

    from macroact.io import check_output_file, read_json

    if args.plot:
        check_output_file(args.plot, "--plot")  # before any work
    meta_path = Path(args.agent_dir) / "agent.json"
    meta = read_json(meta_path, "agent record") if meta_path.is_file() else {}
    agent_wrapper = None
    if isinstance(meta, dict) and meta.get("algo") == "sac":
        from macroact.agents.sac import _residual_wrapper, load_sac_agent

        agent, cfg, model, obs_stats = load_sac_agent(args.agent_dir, weights=args.weights)
        agent_wrapper = _residual_wrapper(cfg)  # a residual agent acts over its saved skill
    else:
        agent, cfg, model, obs_stats = load_agent(args.agent_dir, env_module=args.env_module,
                                                  weights=args.weights)
    chunks = None if cfg.flat else _active_data(cfg, model)
    # Episodes from the eval stream (macroact.seeding), as the training command evaluates.
    res = evaluate_policy(agent.predict, cfg.env_id, cfg.flat, model, cfg.latents, cfg.scale,
                          chunks, episodes=args.episodes, deterministic=not args.stochastic,
                          record=args.plot is not None, record_actions=args.plot is not None,
                          stats=obs_stats, chunk=cfg.chunk, env_kwargs=cfg.env_kwargs,
                          agent_wrapper=agent_wrapper)
    print(f"{cfg.env_id}: success {res['success_rate']:.2f}, return {res['mean_return']:.3f}, "
          f"{res['mean_primitive_steps']:.1f} primitive steps per episode "
          f"({args.episodes} episodes)")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4, 4))
        for traj in res["trajectories"][:20]:
            ax.plot(traj[:, 0], traj[:, 1], marker=".", ms=3, lw=1)
        ax.set_title(f"{cfg.env_id} rollouts (observation dims 0, 1)", fontsize=8)
        fig.savefig(args.plot, dpi=110)
        print(f"wrote {args.plot}")
    return 0


@command("replay", "nearest-demo replay: replay the raw actions of the demo whose first "
                   "observation is nearest (a baseline that learns nothing)")
def _replay_args(p):
    p.add_argument("env_id", help="e.g. macroact/Reaching2D-v1")
    p.add_argument("--demos", required=True, help="demonstrations .npz (`macroact collect`)")
    p.add_argument("--episodes", type=int, default=100,
                   help="evaluation episodes, seeds from the eval stream (macroact.seeding)")
    p.add_argument("--run-seed", type=int, default=0,
                   help="block of the eval stream; use the same one for every agent compared")
    p.add_argument("--all-demos", action="store_true",
                   help="choose among failed demos too (default: successful ones only)")
    p.add_argument("--out", default=None, help="write the result as JSON here")


@_replay_args
def run_replay(args: argparse.Namespace) -> int:
    from macroact.agents.replay import evaluate_replay
    from macroact.data.demos import EpisodeData

    if not Path(args.demos).is_file():
        raise CLIError(f"--demos {args.demos!r} is not a file; record demos with "
                       "`macroact collect ENV --out D.npz`")
    try:
        res = evaluate_replay(args.env_id, EpisodeData.load(args.demos), n_episodes=args.episodes,
                              run_seed=args.run_seed, only_successful=not args.all_demos)
    except ValueError as e:
        raise CLIError(str(e)) from None
    print(f"nearest-demo replay on {args.env_id}: success {res['success_rate']:.2f}, return "
          f"{res['mean_return']:.3f} over {res['episodes']} eval-stream episodes "
          f"({res['n_demos']} demos to choose from, {res['exact_start_matches']} exact start "
          "matches)")
    if args.out:
        from macroact.io import atomic_write_text

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(json.dumps(res, indent=2), Path(args.out))
        print(f"wrote {args.out}")
    return 0


@command("sac", "train SB3 SAC on primitive actions (--flat), raw chunks of H of them "
                "(--chunk H) or over a FAVAE's latents")
def _sac_args(p):
    p.add_argument("env_id", help="e.g. macroact/Reaching2D-v1")
    from macroact.agents.sac import SACRunConfig

    add_config_args(p, SACRunConfig, skip=("env_id", "sac"),
                    parsers={"latents": _latents, "env_kwargs": _env_kwargs},
                    flags={"bc_demos": "--bc-init", "data": "--demos"})
    p.add_argument("--sac", action="append", type=parse_pairs, default=[],
                   metavar="KEY=VALUE,...",
                   help="any SB3 SAC argument, over the env's settings in "
                        "agents/hyperparams/sac.toml, e.g. --sac train_freq=4,gradient_steps=1 "
                        "(repeatable)")
    p.add_argument("--eval-episodes", type=int, default=100,
                   help="deterministic evaluation episodes after training, from the eval seed "
                        "stream (the same episodes for every agent; default 100)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint/ (agent tensors, replay buffer arrays, "
                        "counters; nothing is unpickled)")
    p.add_argument("--out", required=True, help="agent directory")


@_sac_args
def run_sac(args: argparse.Namespace) -> int:
    from macroact.agents.sac import SACRunConfig, train_sac

    _check_action_args(args, "SAC")
    sac = {}
    for pairs in args.sac:
        sac.update(pairs)
    try:
        cfg = config_from_args(SACRunConfig, args, env_id=args.env_id, sac=sac)
        res = train_sac(cfg, args.out, eval_episodes=args.eval_episodes, resume=args.resume)
    except (ValueError, TypeError) as e:
        raise CLIError(str(e)) from None
    kind = _agent_kind(cfg, "SAC")
    if "bc" in res:
        print(f"after BC, before SAC: success {res['bc']['success_rate']:.2f} (BC negative "
              f"log-likelihood {res['bc']['nll_before']:.4g} -> {res['bc']['nll_after']:.4g})")
    if "demo_replay" in res:
        d = res["demo_replay"]
        print(f"replay buffer started with {d['transitions']} demonstration transitions "
              f"({d['episodes']} episodes, {d['terminal']} terminal)")
    print(f"{kind} on {args.env_id}: success {res['success_rate']:.2f}, return "
          f"{res['mean_return']:.3f} over {res['eval_episodes']} eval-stream episodes after "
          f"{res['primitive_steps']} primitive steps ({res['wall_seconds']:.0f} s) -> {args.out}")
    return 0


@command("pipeline", "the main job end to end: demonstrations -> FAVAE -> wrapped env -> "
                     "replay, BC, flat and latent PPO -> report")
def _pipeline_args(p):
    from macroact.agents.pipeline import PipelineConfig

    add_config_args(p, PipelineConfig, parsers={"latents": _latents},
                    flags={"env_id": "--env"})
    p.add_argument("--out", default="runs/pipeline",
                   help="output directory (default runs/pipeline): demos, FAVAE run, agents, "
                        "report.md, curves.png")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished pipeline in --out (default: refuse)")
    p.add_argument("--report-only", action="store_true",
                   help="only rebuild report.md and curves.png from --out's pipeline.json")


@_pipeline_args
def run_pipeline(args: argparse.Namespace) -> int:
    from macroact.agents.pipeline import PipelineConfig, run_pipeline as run, write_report

    if args.report_only:
        from macroact.io import read_json

        path = write_report(read_json(Path(args.out) / "pipeline.json", "pipeline record"),
                            args.out)
        print(f"wrote {path} and {Path(args.out) / 'curves.png'}")
        return 0
    try:
        cfg = config_from_args(PipelineConfig, args)
    except (ValueError, TypeError) as e:
        raise CLIError(str(e)) from None
    record = run(cfg, args.out, log=lambda msg: print(msg, flush=True), overwrite=args.overwrite)
    out = Path(args.out)
    print("\n" + (out / "report.md").read_text() + f"\nreport: {out / 'report.md'}, curves: "
          f"{out / 'curves.png'} ({record['timings']['total']:.0f} s in all)")
    return 0
