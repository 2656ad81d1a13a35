"""The model and data commands of ``macroact``: ``train``, ``evaluate``, ``traverse``,
``collect`` and ``encode``.

Each command registers itself with ``macroact.commands.command``; the agents' commands
(``ppo``, ``rollout``, ``pipeline``) live in ``macroact.agents.cli``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import typing
from pathlib import Path
from typing import Any, Callable

import numpy as np

from macroact.commands import CLIError, command
from macroact.config import add_config_args, config_from_args, parse_tuple

# -- data --------------------------------------------------------------------------------------
def load_data(spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...] | None]:
    """Sequences, factors and factor names described by a run's data spec."""
    from macroact.data import paper as datasets

    if "demos" in spec or "minari" in spec:
        from macroact.data.demos import chunk_actions
        from macroact.data.minari_io import episodes_from_spec

        demos = episodes_from_spec(spec)
        if spec.get("closed_loop"):  # (N, H, A + O): actions, then observations
            from macroact.data.skills import packed_chunks

            chunks, packed = packed_chunks(demos, spec["horizon"], spec.get("stride"),
                                           spec.get("tail", "drop"))
        else:
            chunks = chunk_actions(demos, spec["horizon"], spec.get("stride"),
                                   spec.get("tail", "drop"))
            packed = chunks.actions
        if len(chunks.actions) == 0:
            source = spec.get("demos", spec.get("minari"))
            raise CLIError(f"no action chunk of length {spec['horizon']} in {source}; "
                           "lower --horizon or collect longer episodes")
        return packed, chunks.factors, tuple(demos.factor_names)
    name = spec["dataset"]
    x, y = datasets.load_dataset(name, spec.get("length", 100))
    return x, y, datasets.FACTOR_NAMES.get(name)


def _read_run(run_dir: str) -> dict[str, Any]:
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise CLIError(f"{run_dir!r} is not a run directory (no run.json); "
                       "pass the --out directory of `macroact train`")
    from macroact.io import read_json

    run = read_json(path, "run record")
    if not isinstance(run, dict) or not isinstance(run.get("data"), dict):
        raise CLIError(f"{str(path)!r} is not a run record (no 'data' entry); the file is damaged")
    return run


# -- train ---------------------------------------------------------------------------------------
def _sequence_models() -> list[str]:
    """Registered models that train on vector sequences (their config has a ``seq_len``)."""
    from macroact.models import MODEL_REGISTRY

    return sorted(name for name, cls in MODEL_REGISTRY.items()
                  if "seq_len" in {f.name for f in dataclasses.fields(cls.config_class)})


def _add_train(p: argparse.ArgumentParser) -> None:
    from macroact.models.favae import FAVAEConfig
    from macroact.trainer import TrainConfig

    src = p.add_argument_group("data")
    src.add_argument("--dataset", default=None,
                     help="reaching2d, wavy_reaching2d, or FILE.npz with 'sequences' (N,T,D) "
                          "and optional 'factors' (N,K)")
    src.add_argument("--length", type=int, default=None,
                     help="sequence length for the 2D data sets (100 or 1000; default 100)")
    src.add_argument("--demos", default=None,
                     help="demonstrations .npz from `macroact collect`: train on action chunks")
    src.add_argument("--minari", default=None, metavar="NAME",
                     help="a Minari data set (id in the local store, or its folder): train on "
                          "its action chunks like --demos (needs macroact[minari])")
    src.add_argument("--horizon", type=int, default=None, help="action chunk length H (with --demos)")
    src.add_argument("--stride", type=int, default=None, help="chunk stride (default H)")
    src.add_argument("--tail", default="drop", choices=("drop", "pad_last", "pad_zero"),
                     help="what to do with an episode's last partial chunk (default drop)")
    p.add_argument("--model", default="favae", choices=_sequence_models(),
                   help="model type: favae, or a baseline of the paper's Table 2 (default favae); "
                        "the FAVAE flags below apply to favae, --beta to every model")
    p.add_argument("--label-factor", type=int, default=0,
                   help="factor column used as the sequence label by FHVAE (default 0, the goal)")
    p.add_argument("--out", required=True, help="run directory (created)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (its files are removed first)")
    p.add_argument("--no-ladder", dest="ladder", action="store_false", default=None,
                   help="the no-ladder FAVAE (six convolutions, one latent of 14)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_config_args(p, FAVAEConfig, skip=("seq_len", "ladder"), group="FAVAE")
    from macroact.models.closed_loop import ClosedLoopFAVAEConfig

    p.add_argument("--closed-loop", action="store_true",
                   help="closed-loop FAVAE (with --demos or --minari): the ladders decode per-step "
                        "features and a head maps (feature, live observation) to each action; "
                        "--horizon defaults to 10")
    add_config_args(p, ClosedLoopFAVAEConfig, group="closed-loop FAVAE (with --closed-loop)",
                    skip=tuple(f.name for f in dataclasses.fields(FAVAEConfig)) + ("obs_dim",))
    add_config_args(p, TrainConfig, group="training")


def _build_model(args: argparse.Namespace, seq_len: int, n_features: int, n_labels: int | None):
    from macroact.factory import build_model, config_fields
    from macroact.models.favae import FAVAEConfig

    if args.model == "favae":
        config = config_from_args(FAVAEConfig, args, seq_len=seq_len)
        return build_model("favae", n_features, **config.to_dict())
    if args.model == "closed_loop_favae":
        from macroact.models.closed_loop import ClosedLoopFAVAEConfig

        config = config_from_args(ClosedLoopFAVAEConfig, args, seq_len=seq_len,
                                  obs_dim=args.obs_dim)
        return build_model("closed_loop_favae", n_features, **config.to_dict())
    # The baselines take --beta of the FAVAE flags, and their label count from the data.
    kw = {"beta": args.beta, "n_labels": n_labels}
    return build_model(args.model, n_features, seq_len=seq_len,
                       **{k: v for k, v in kw.items() if k in config_fields(args.model)})


def episodes_from_spec_bounds(spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The action bounds of the demonstrations a data spec names."""
    from macroact.data.minari_io import episodes_from_spec

    demos = episodes_from_spec(spec)
    return demos.low, demos.high


def _given(cls: type, args: argparse.Namespace, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of config dataclass ``cls`` that were set on the command line."""
    from macroact.config import EXPLICIT_NONE

    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
             if f.name not in skip and getattr(args, f.name, None) is not None}
    return {k: None if v is EXPLICIT_NONE else v for k, v in given.items()}


@command("train", "train FAVAE (or a baseline) on a data set or on demonstrations")
def _train_args(p):
    _add_train(p)


@_train_args
def run_train(args: argparse.Namespace) -> int:
    from macroact.rundir import check_out_dir
    from macroact.trainer import TrainConfig, train

    overwrite = getattr(args, "overwrite", False)
    check_out_dir(args.out, resume=args.resume, overwrite=overwrite)  # before any work
    if args.model == "closed_loop_favae":
        args.closed_loop = True
    if args.closed_loop:
        if args.model not in ("favae", "closed_loop_favae"):
            raise CLIError(f"--closed-loop is a FAVAE variant; it cannot train --model "
                           f"{args.model}")
        if args.dataset is not None:
            raise CLIError("--closed-loop trains on (observation, action) chunks: give --demos "
                           "or --minari, not --dataset")
        args.model = "closed_loop_favae"
        if args.horizon is None and not args.resume:
            args.horizon = 10
    if args.resume and args.demos is None and args.dataset is None and args.minari is None:
        run = _read_run(args.out)
        spec = run["data"]
    elif args.demos is not None or args.minari is not None:
        if sum(v is not None for v in (args.dataset, args.demos, args.minari)) > 1:
            raise CLIError("give one of --dataset, --demos and --minari")
        flag = "--demos" if args.demos is not None else "--minari"
        if args.horizon is None:
            raise CLIError(f"{flag} needs --horizon H (the action chunk length)")
        if args.demos is not None:
            spec = {"demos": str(Path(args.demos).resolve())}
        else:
            from macroact.data.minari_io import minari_source

            spec = {"minari": minari_source(args.minari)}
        spec.update(horizon=args.horizon, stride=args.stride, tail=args.tail)
        if args.closed_loop:
            spec["closed_loop"] = True
    elif args.dataset is not None:
        name = args.dataset
        spec = {"dataset": str(Path(name).resolve()) if name.endswith(".npz") else name,
                "length": args.length or 100}
    else:
        raise CLIError("say what to train on: --dataset NAME|FILE.npz, --demos FILE.npz or "
                       "--minari NAME")
    x, factors, _ = load_data(spec)
    labels = None
    n_labels = None
    if args.model == "fhvae":
        if factors is None:
            raise CLIError("FHVAE needs sequence labels: the data have no 'factors'")
        if not 0 <= args.label_factor < factors.shape[1]:
            raise CLIError(f"--label-factor {args.label_factor} is out of range: the data have "
                           f"{factors.shape[1]} factor columns (0..{factors.shape[1] - 1})")
        labels = factors[:, args.label_factor]
        n_labels = int(labels.max()) + 1
    if args.resume:
        # The run's settings, with the flags given now on top: the trainer names any that
        # differ from the run's (only --steps may grow).
        from macroact.models.base import MODEL_REGISTRY
        import macroact.models  # noqa: F401

        run = _read_run(args.out)
        if run.get("model") not in MODEL_REGISTRY:
            raise CLIError(f"{args.out}/run.json names an unknown model {run.get('model')!r}")
        cls = MODEL_REGISTRY[run["model"]]
        model_cfg = dict(run["model_config"])
        model_cfg.update(_given(cls.config_class, args, skip=("seq_len",)))
        model = cls(cls.config_class.from_dict(model_cfg), run["n_features"])
        tcfg = TrainConfig.from_dict({**run["train_config"], **_given(TrainConfig, args)})
    else:
        tcfg = config_from_args(TrainConfig, args)
        import torch

        torch.manual_seed(tcfg.seed)  # initial weights are drawn here: seed them too
        if args.closed_loop:
            if spec.get("closed_loop") is None:
                raise CLIError("--closed-loop needs --demos or --minari (observations and actions)")
            args.obs_dim = x.shape[2] - len(episodes_from_spec_bounds(spec)[0])
        model = _build_model(args, x.shape[1], x.shape[2], n_labels)
        if "demos" in spec or "minari" in spec:
            low, high = episodes_from_spec_bounds(spec)
            if args.closed_loop:  # the observations' range, from the training chunks
                obs = x[..., len(low):].reshape(-1, x.shape[2] - len(low))
                low = np.concatenate([low, obs.min(0)])
                high = np.concatenate([high, obs.max(0)])
            model.normalizer.set_bounds(low, high)
    print(f"training {model.name} on {len(x)} sequences of shape {x.shape[1:]} "
          f"for {tcfg.steps} steps -> {args.out}")
    train(model, x, tcfg, out_dir=args.out, factors=None, labels=labels, resume=args.resume,
          progress_bar=not args.no_progress, data_spec=spec, overwrite=overwrite)
    print(f"saved {Path(args.out) / 'model.pt'}; next: macroact evaluate {args.out}")
    return 0


# -- evaluate ------------------------------------------------------------------------------------
@command("evaluate", "print Rec, both MIG estimates and the per-factor table of a run")
def _eval_args(p):
    p.add_argument("run_dir", help="run directory written by `macroact train`")
    p.add_argument("--mig-samples", type=int, default=10000,
                   help="samples of q(z|x) for the sampling MIG estimator (default 10000)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the sampling MIG estimator (default 0)")


@_eval_args
def run_evaluate(args: argparse.Namespace) -> int:
    from macroact.evaluation import metrics
    from macroact.models.base import SequenceModel
    from macroact.trainer import evaluate
    import macroact.models  # noqa: F401

    run = _read_run(args.run_dir)
    model = SequenceModel.load(Path(args.run_dir) / "model.pt")
    x, factors, names = load_data(run["data"])
    res = evaluate(model, x, factors, mig_samples=args.mig_samples, seed=args.seed)
    summary = {"rec": res["rec"], "mse": res["mse"]}
    print(f"Rec  {res['rec']:.5f}  (squared error summed over time and features in [-1,1] "
          f"units, mean over {len(x)} sequences)")
    print(f"MSE  {res['mse']:.3g}  (per element, data units)")
    if factors is None:
        print("no factor labels in the data: MIG is not computed")
    else:
        ladders = getattr(model.config, "latent_dims", None)
        for key, label in (("mig_discrete", "histogram estimator, disentanglement_lib, 20 bins"),
                           ("mig_sampled", f"sampling estimator, Chen et al., {args.mig_samples} samples")):
            print(f"MIG  {res[key]:.4f}  ({label})")
            summary[key] = res[key]
            details = res[key + "_details"]
            summary[key + "_degenerate"] = details.degenerate
            if details.degenerate:
                print(f"     degenerate: every factor's top latent is z{details.top_latent[0]} "
                      "(one latent holds all factors; the paper excluded such runs)")
        for key in ("mig_discrete_details", "mig_sampled_details"):
            print(f"\n{key.replace('_details', '')} per factor:")
            print(metrics.format_mig_table(res[key], factor_names=names, ladder_sizes=ladders))
            summary[key.replace("_details", "_per_factor")] = [float(g) for g in res[key].gap]
            if ladders is not None and len(ladders) > 1:
                summary[key.replace("_details", "_ladder")] = [
                    int(v) for v in metrics.ladder_attribution(res[key].top_latent, ladders)]
    from macroact.io import write_json

    write_json(summary, Path(args.run_dir) / "metrics.json")  # refuses NaN and inf
    return 0


# -- traverse ------------------------------------------------------------------------------------
@command("traverse", "write latent-traversal PNGs of a run (the paper's Fig. 3 and 4)")
def _trav_args(p):
    p.add_argument("run_dir", help="run directory written by `macroact train`")
    p.add_argument("--out", default=None, help="folder for the PNGs (default RUN_DIR)")
    p.add_argument("--values", type=parse_tuple(float), default=None,
                   help="comma-separated values of the traversed latent (default -3..3, 9 steps)")
    p.add_argument("--base", choices=("mean", "zero"), default="mean",
                   help="value of the other latents: mean posterior code or zero")


@_trav_args
def run_traverse(args: argparse.Namespace) -> int:
    from macroact.models.base import SequenceModel
    from macroact.evaluation.traverse import save_traversals

    run = _read_run(args.run_dir)
    model = SequenceModel.load(Path(args.run_dir) / "model.pt")
    if not hasattr(model, "decode"):
        raise CLIError(f"traversals need a model with decode(z); {model.name} has none")
    x, _, _ = load_data(run["data"])
    values = np.asarray(args.values) if args.values else None
    for path in save_traversals(model, x, args.out or args.run_dir, values=values, base=args.base):
        print(f"wrote {path}")
    return 0


# -- collect -------------------------------------------------------------------------------------
@command("collect", "record demonstrations (Minari's episode shape) into an .npz or a Minari "
                   "data set")
def _collect_args(p):
    p.add_argument("env_id", help="e.g. macroact/Reaching2D-v0, PointMaze_Large-v3 (with "
                                  "--demonstrator maze), cube-single-v0 (--demonstrator ogbench)")
    p.add_argument("--episodes", type=int, default=200, help="number of episodes (default 200)")
    p.add_argument("--seed", type=int, default=0,
                   help="data set number k: episode i resets with seed i of block k of the demo "
                        "seed stream (macroact.seeding), disjoint from evaluation seeds "
                        "(default 0)")
    p.add_argument("--out", default=None, help="output .npz")
    p.add_argument("--demonstrator", default=None, metavar="NAME|module:callable",
                   help="maze (PointMaze, macroact[robotics]), ogbench (manipspace play data, "
                        "macroact[ogbench]) or your own module:callable (protocol in "
                        "macroact.envs.external); default: a macroact/ env's own")
    p.add_argument("--demonstrator-kwargs", default=None, metavar="KEY=VALUE,...",
                   help="keyword arguments of the demonstrator, values as JSON, e.g. "
                        "noise=0.2,exclude_goal_cells=[[7,10]], or replan=true for "
                        "macroact/Gripper's own (re-plans after a missed grasp or a drop)")
    p.add_argument("--env-kwargs", default=None, metavar="KEY=VALUE,...",
                   help="keyword arguments of gym.make, values as JSON (KEY=@FILE reads one "
                        "from a JSON file), e.g. maze_map=[[1,1,1,1],[1,0,0,1],[1,1,1,1]]")
    p.add_argument("--action-noise", type=float, default=0.0, metavar="STD",
                   help="DART noise for a macroact/ env's demonstrator: execute its actions plus "
                        "Gaussian noise of this std (fraction of the action half-range), record "
                        "its own actions, so that the demos show its corrections (default 0)")
    p.add_argument("--bursts", type=float, default=0.0, metavar="FRACTION",
                   help="for a macroact/ env's demonstrator: this fraction of the episodes gets "
                        "one burst of --burst-steps random executed actions (its own recorded) "
                        "within their first --burst-within steps (default 0)")
    p.add_argument("--burst-steps", type=int, default=20, metavar="N",
                   help="length of a burst (default 20)")
    p.add_argument("--burst-within", type=int, default=100, metavar="N",
                   help="a burst starts within an episode's first N steps (default 100)")
    p.add_argument("--minari-id", default=None, metavar="NAME",
                   help="also (or instead of --out) write a local Minari data set with this id, "
                        "[namespace/]name-v<N> (needs macroact[minari])")


@_collect_args
def run_collect(args: argparse.Namespace) -> int:
    from macroact.data.demos import collect
    from macroact.envs.external import collect_external, parse_kwargs
    from macroact.io import check_output_file

    if args.out is None and args.minari_id is None:
        raise CLIError("say where to write: --out FILE.npz and/or --minari-id NAME")
    if args.out is not None:
        check_output_file(args.out)  # before any work
    if args.minari_id is not None:
        from macroact.data.minari_io import check_dataset_id, store_path

        check_dataset_id(args.minari_id)
        if (store_path() / args.minari_id).exists():
            raise CLIError(f"Minari data set {args.minari_id!r} already exists in "
                           f"{store_path()}; pick another id or version")
    env_kwargs = parse_kwargs(args.env_kwargs) if args.env_kwargs else {}
    demo_kwargs = parse_kwargs(args.demonstrator_kwargs) if args.demonstrator_kwargs else {}
    if args.demonstrator is None:
        from macroact.envs import ENVS

        if args.env_id not in ENVS:
            raise CLIError(f"{args.env_id} has no scripted demonstrator of this package; pass "
                           "--demonstrator maze (PointMaze), ogbench (OGBench manipulation) or "
                           "module:callable")
        data = collect(args.env_id, args.episodes, seed=args.seed, env_kwargs=env_kwargs,
                       action_noise=args.action_noise, demonstrator_kwargs=demo_kwargs,
                       bursts=args.bursts, burst_steps=args.burst_steps,
                       burst_within=args.burst_within)
    else:
        if args.action_noise or args.bursts:
            raise CLIError("--action-noise and --bursts are for a macroact/ env's own "
                           "demonstrator; maze and ogbench take their noise in "
                           "--demonstrator-kwargs (e.g. noise=0.2)")
        data = collect_external(args.env_id, args.episodes, seed=args.seed, env_kwargs=env_kwargs,
                                demonstrator=args.demonstrator, demonstrator_kwargs=demo_kwargs)
    written = []
    if args.out is not None:
        data.save(args.out)
        written.append(args.out)
    if args.minari_id is not None:
        from macroact.data.minari_io import write_minari

        written.append(f"Minari data set {args.minari_id} ({write_minari(data, args.minari_id)})")
    print(f"wrote {len(data)} episodes of {args.env_id} to {' and '.join(written)} "
          f"(success rate {data.success_rate:.2f})")
    return 0


# -- encode --------------------------------------------------------------------------------------
@command("encode", "encode every action chunk of a demonstrations file into latent codes")
def _encode_args(p):
    p.add_argument("run_dir", help="run directory (or model.pt) of a FAVAE trained on demonstrations")
    p.add_argument("demos", nargs="?", default=None,
                   help="demonstrations .npz from `macroact collect`, or FILE.npz with "
                        "'sequences' (or give --minari)")
    p.add_argument("--minari", default=None, metavar="NAME",
                   help="encode a Minari data set instead (id in the local store, or its folder)")
    p.add_argument("--out", required=True, help="output .npz of codes")
    p.add_argument("--stride", type=int, default=None, help="chunk stride (default: the horizon)")
    p.add_argument("--tail", default=None, choices=("drop", "pad_last", "pad_zero"),
                   help="what to do with an episode's last partial chunk; default: the rule the "
                        "model was trained with (its run.json), and another value is an error")
    p.add_argument("--batch-size", type=int, default=1024,
                   help="chunks encoded per forward pass (memory, not results; default 1024)")
    p.add_argument("--prior", action="store_true",
                   help="also write prior_logp: log p(code | first observation) of each chunk's "
                        "posterior mean under the run's skill prior (RUN_DIR/prior.pt, from "
                        "`macroact prior`), and print its mean")


def _is_closed_loop(run_dir: str) -> bool:
    from macroact.io import read_json

    record = (Path(run_dir) if Path(run_dir).is_dir() else Path(run_dir).parent) / "run.json"
    run = read_json(record, "run record") if record.is_file() else {}
    return isinstance(run, dict) and run.get("model") == "closed_loop_favae"


@_encode_args
def run_encode(args: argparse.Namespace) -> int:
    from macroact.evaluation.encode import encode_file

    if (args.demos is None) == (args.minari is None):
        raise CLIError("give the data to encode: a demonstrations file or --minari NAME (one)")
    if args.prior or _is_closed_loop(args.run_dir):  # chunks with their observations
        from macroact.evaluation.skills import encode_demos

        data = args.demos
        if args.minari is not None:
            from macroact.data.minari_io import read_minari

            data = read_minari(args.minari)
        path, summary = encode_demos(args.run_dir, data, args.out, stride=args.stride,
                                     tail=args.tail, batch_size=args.batch_size, prior=args.prior)
        if "prior_logp_mean" in summary:
            print(f"mean prior log-likelihood of the codes: {summary['prior_logp_mean']:.3f} nats "
                  f"over {int(summary['chunks'])} chunks")
        print(f"wrote {path}")
        return 0
    data = args.demos
    if args.minari is not None:
        from macroact.data.minari_io import read_minari
        from macroact.io import check_output_file

        check_output_file(args.out)  # before reading the data set

        data = read_minari(args.minari)
    path = encode_file(args.run_dir, data, args.out, stride=args.stride, tail=args.tail,
                       batch_size=args.batch_size)
    print(f"wrote {path}")
    return 0


# -- prior ---------------------------------------------------------------------------------------
@command("prior", "train a skill prior p(z | s) on a run's demonstration chunks (saved as "
                  "RUN_DIR/prior.pt)")
def _prior_args(p):
    from macroact.models.prior import PriorTrainConfig, SkillPriorConfig

    p.add_argument("run_dir", help="run directory of `macroact train` (FAVAE or --closed-loop)")
    p.add_argument("--demos", required=True,
                   help="demonstrations .npz the model was trained on (chunked at its horizon "
                        "with its tail rule)")
    add_config_args(p, SkillPriorConfig, skip=("obs_dim", "latent_dim"), group="prior")
    add_config_args(p, PriorTrainConfig, group="training")


@_prior_args
def run_prior(args: argparse.Namespace) -> int:
    from macroact.evaluation.skills import train_prior
    from macroact.models.prior import PriorTrainConfig

    if not Path(args.demos).is_file():
        raise CLIError(f"--demos {args.demos!r} is not a file")
    kwargs = {k: getattr(args, k) for k in ("hidden", "components") if getattr(args, k) is not None}
    path, summary = train_prior(args.run_dir, args.demos, kwargs,
                                config_from_args(PriorTrainConfig, args))
    print(f"skill prior on {int(summary['chunks'])} chunks: final loss {summary['loss']:.4g}, mean "
          f"log p(code | s) {summary['prior_logp_mean']:.3f} nats -> {path}")
    return 0


# -- sweep (macroact.sweep) ---------------------------------------------------------------------
@command("sweep", "train and evaluate a grid of models, here or on a running Ray cluster")
def _sweep_args(p):
    from macroact.sweep import MODELS

    p.add_argument("--log", required=True,
                   help="JSONL run log: one record per finished cell, read back on the next run")
    p.add_argument("--grid", help="JSON file with a list of cells (instead of the product flags)")
    from macroact.config import field_docs
    from macroact.sweep import Cell

    docs = field_docs(Cell)
    many = " One or more values: the grid is the product of these lists."
    p.add_argument("--model", nargs="+", default=["favae"], choices=MODELS,
                   help=docs["model"] + many + " Default: favae.")
    p.add_argument("--dataset", nargs="+", default=["reaching2d"],
                   help=docs["dataset"] + many + " Default: reaching2d.")
    p.add_argument("--length", nargs="+", type=int, default=[100],
                   help=docs["length"] + many + " Default: 100.")
    p.add_argument("--beta", nargs="+", type=float, default=[1.0],
                   help=docs["beta"] + many + " Default: 1.0.")
    p.add_argument("--seed", nargs="+", type=int, default=[0],
                   help=docs["seed"] + many + " Default: 0.")
    p.add_argument("--steps", type=int, default=1000, help=docs["steps"] + " Default: 1000.")
    p.add_argument("--batch-size", type=int, default=128,
                   help=docs["batch_size"] + " Default: 128.")
    p.add_argument("--lr", type=float, default=1e-3, help=docs["lr"] + " Default: 0.001.")
    p.add_argument("--lr-schedule", choices=("constant", "cosine"), default="constant",
                   help=docs["lr_schedule"] + " Default: constant.")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                   help="further model-config field of every cell, e.g. ladder=false or "
                        "capacity=[7.84]")
    p.add_argument("--workers", type=int, default=1, help="cells in parallel here (default 1)")
    p.add_argument("--address", default=None,
                   help="run the cells as Ray Tune trials on this running Ray cluster (auto, "
                        "ray://HEAD:10001, or local); needs pip install 'macroact[sweep]'")
    p.add_argument("--threads", type=int, default=1, help="torch threads per cell (default 1)")


@_sweep_args
def run_sweep(args: argparse.Namespace) -> int:
    import itertools

    from macroact.sweep import Cell, aggregate, run_grid

    if args.grid:
        cells = [Cell.from_dict(d) for d in json.loads(Path(args.grid).read_text())]
    else:
        extra = {}
        for item in args.set:
            field, sep, value = item.partition("=")
            if not sep:
                raise CLIError(f"--set takes FIELD=JSON, got {item!r}")
            try:
                extra[field] = json.loads(value)
            except json.JSONDecodeError:
                extra[field] = value
        cells = [Cell(model=m, dataset=d, length=n, beta=b, seed=s, steps=args.steps,
                      batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule,
                      config=dict(extra))
                 for m, d, n, b, s in itertools.product(args.model, args.dataset, args.length,
                                                         args.beta, args.seed)]
    try:
        results = run_grid(cells, args.log, workers=args.workers, address=args.address,
                           threads=args.threads)
    except ImportError as e:  # --address without Ray installed
        raise CLIError(str(e)) from None
    for key, row in aggregate(results).items():
        print(key, {k: row[k] for k in ("n", "mig_sampled_mean", "mig_discrete_mean", "rec_mean",
                                        "n_degenerate") if k in row})
    return 0


def main(argv: list[str] | None = None) -> int:
    """The ``macroact`` console script (see ``macroact.commands.main``)."""
    from macroact.commands import main as commands_main

    return commands_main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
