"""A numpy fast path for decoding a few latent codes at a time (the macro-action hot path).

At a fixed sequence length every FAVAE decoder layer is affine (transposed convolution, and
BatchNorm in eval mode) followed by an elementwise nonlinearity, so the whole decoder folds into
a short chain of small dense matrices. For short horizons this runs in microseconds, where the
PyTorch module pays a per-operator dispatch cost on every layer; one macro-action step of an
agent decodes a single code, so that cost dominates. ``DenseDecoder.from_model`` returns
``None`` for any model that is not exactly a ``FAVAE`` (chosen by type, not by the methods a
model happens to have) and when the matrices would be large (long horizons); callers then use
``model.decode``. Lengths, channels and LeakyReLU slopes are read from the model's own layers,
and ``bind`` checks the folded chain against ``model.decode`` on random codes before it is
used, falling back (with a warning) on any mismatch, so the fast path cannot drift from the
model.

The matrices are a snapshot: build a new ``DenseDecoder`` after the weights change.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from macroact.models.favae import FAVAE

#: Largest total number of matrix entries (multiply-adds per decoded code) the fast path builds.
MAX_ENTRIES = 2_000_000


def _leaky(x: np.ndarray, slope: float) -> np.ndarray:
    """LeakyReLU in place: ``max(x, slope * x)`` equals it for a slope in [0, 1]."""
    return np.maximum(x, slope * x, out=x)


def _probe(fn, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """Matrix ``W`` (n_in, n_out) and bias ``b`` of an affine ``fn`` on flat inputs."""
    with torch.no_grad():
        x = torch.cat([torch.zeros(1, n_in), torch.eye(n_in)])
        y = fn(x).reshape(n_in + 1, -1).double()
    b = y[0]
    return (y[1:] - b).numpy().astype(np.float32), b.numpy().astype(np.float32)


def _split_act(act: nn.Module) -> tuple[nn.Module | None, str]:
    """The affine BatchNorm (or None) and the nonlinearity name of a decoder activation."""
    if isinstance(act, nn.Tanh):
        return None, "tanh"
    bn = next((m for m in act if isinstance(m, nn.BatchNorm1d)), None)
    return bn, "leaky"


def _leaky_slope(model: nn.Module) -> float | None:
    """The one negative slope of every LeakyReLU in ``model``; None if they differ or lie
    outside [0, 1] (where ``max(x, slope * x)`` is not LeakyReLU)."""
    slopes = {float(m.negative_slope) for m in model.modules() if isinstance(m, nn.LeakyReLU)}
    if len(slopes) != 1:
        return None
    slope = slopes.pop()
    return slope if 0.0 <= slope <= 1.0 else None


class DenseDecoder:
    """FAVAE's decoder as dense matrices; ``__call__(z (n, J)) -> (n, H, A)`` in data units."""

    def __init__(self, stages, ladder_levels, injections, ladder_slices, out_shape, low, high):
        self.stages = stages          # per level (top first): list of (W, b, nonlinearity)
        self.ladder_levels = ladder_levels
        self.injections = injections  # per ladder: (W, b, gate or None, bn affine, nonlinearity)
        self.slices = ladder_slices
        self.out_shape = out_shape
        self.centre = ((high + low) / 2).astype(np.float32)
        self.half = np.where(high > low, (high - low) / 2, 1.0).astype(np.float32)
        self.n_entries = sum(W.size for level in stages for W, _, _ in level) + \
            sum(inj[0].size for inj in injections)
        self.levels = len(stages)
        self.top_affine = None
        self.slope = 0.01  # set from the model's LeakyReLUs by from_model
        self.model = None  # the model folded, for bind's check
        self._schedule = None

    def _build_schedule(self) -> list:
        """Per level, top first: (injection or None, stage), with constants folded in.

        The top injection absorbs the top BatchNorm's affine map, a lower one its gate
        (``gate * (z W + b) = z (W * gate) + b * gate``), so each step is one matmul.
        """
        by_level = dict(zip(self.ladder_levels, range(len(self.ladder_levels))))
        schedule, first = [], True
        for stage, lvl in zip(self.stages, reversed(range(self.levels))):
            inj = None
            if lvl in by_level:
                i = by_level[lvl]
                W, b, gate = self.injections[i]
                if first:
                    if self.top_affine is not None:
                        A, c = self.top_affine
                        W, b = W @ A, b @ A + c
                elif gate is not None:
                    W, b = W * gate, b * gate
                inj = (self.slices[i], np.ascontiguousarray(W, np.float32), b.astype(np.float32),
                       first)
                first = False
            schedule.append((inj, stage))
        return schedule

    @classmethod
    def from_model(cls, model, max_entries: int = MAX_ENTRIES) -> "DenseDecoder | None":
        """Fold a ``FAVAE``'s decoder (in eval mode); ``None`` for any other model type, for
        over ``max_entries`` matrix entries, or for activations it cannot fold."""
        if type(model) is not FAVAE:
            return None
        slope = _leaky_slope(model)
        if slope is None:
            return None
        c = model.config
        # Count first, so long horizons never allocate their (huge) matrices. Each level's
        # input length is the model's own level_lengths; each layer states its output length.
        total = 0
        for lvl, deconvs in enumerate(model.decoder):
            c_in, t_in = c.channels[lvl], model.level_lengths[lvl + 1]
            for deconv in deconvs:
                c_out, t_out = deconv.deconv.out_channels, deconv.out_len
                total += c_in * t_in * c_out * t_out
                c_in, t_in = c_out, t_out
        if total > max_entries:
            return None
        was_training = model.training
        model.eval()
        cpu = model if model.device.type == "cpu" else _cpu_copy(model)
        injections = []
        for i, lvl in enumerate(cpu.ladder_levels):
            lin = cpu.injects[i]
            W = lin.weight.detach().double().T.numpy().astype(np.float32)
            b = lin.bias.detach().double().numpy().astype(np.float32)
            gate = cpu.gates[str(i)].detach().reshape(-1).numpy() if str(i) in cpu.gates else None
            injections.append((W, b, gate))
        top_bn, _ = _split_act(cpu.top_act)
        top_affine = None
        if top_bn is not None:
            t_top = cpu.level_lengths[-1]
            n = c.channels[-1] * t_top
            top_affine = _probe(lambda x: top_bn(x.view(-1, c.channels[-1], t_top)), n)
        stages = []
        for lvl in reversed(range(c.levels)):
            level = []
            t_in = cpu.level_lengths[lvl + 1]
            c_in = c.channels[lvl]
            for k, deconv in enumerate(cpu.decoder[lvl]):
                bn, nonlin = _split_act(deconv.act)

                def fn(x, deconv=deconv, bn=bn, c_in=c_in, t_in=t_in):
                    y = deconv.deconv(x.view(-1, c_in, t_in), output_size=[deconv.out_len])
                    return bn(y) if bn is not None else y

                W, b = _probe(fn, c_in * t_in)
                level.append((W, b, nonlin))
                c_in, t_in = deconv.deconv.out_channels, deconv.out_len
            stages.append(level)
        model.train(was_training)
        low = cpu.normalizer.low.numpy()
        high = cpu.normalizer.high.numpy()
        dec = cls(stages, list(cpu.ladder_levels), injections, cpu.ladder_slices,
                  (c.seq_len, model.n_features), low, high)
        dec.top_affine = top_affine
        dec.levels = c.levels
        dec.slope = slope
        dec.model = model
        return dec

    def bind(self, latent_dims, base: np.ndarray, scale: float, low: np.ndarray,
             high: np.ndarray, dtype) -> "BoundDecoder | None":
        """The wrapper's whole hot path as one chain: agent actions -> clipped env actions.

        Folds in the code ``z = base; z[latent_dims] = scale * a`` (so the agent's ``k``
        values multiply one stacked injection matrix for all ladders), every bias (carried by a
        constant-1 column that LeakyReLU leaves at 1) and a time-major output order. ``None``
        when a tanh sits before the last stage (the constant column would not survive it).
        """
        if self._schedule is None:
            self._schedule = self._build_schedule()
        nonlins = [nonlin for _, stage in self._schedule for _, _, nonlin in stage]
        if any(n != "leaky" for n in nonlins[:-1]) or nonlins[-1] != "tanh":
            return None
        dims = np.asarray(latent_dims, dtype=np.int64)
        base = np.array(base, np.float64).reshape(-1)
        base[dims] = 0.0  # the chosen dims are set to scale * a, not added to the anchor
        n_latent = base.shape[0]
        # One block per injection, each with a trailing constant column (1 on top, else 0).
        blocks_w, blocks_b, widths = [], [], []
        for inj, _ in self._schedule:
            if inj is None:
                continue
            sl, W, b, top = inj
            full = np.zeros((n_latent, W.shape[1]))
            full[sl] = W
            blocks_w.append(np.concatenate([scale * full[dims], np.zeros((len(dims), 1))], 1))
            blocks_b.append(np.concatenate([base @ full + b, [1.0 if top else 0.0]]))
            widths.append(W.shape[1] + 1)
        w_inj = np.concatenate(blocks_w, 1).astype(np.float32)
        b_inj = np.concatenate(blocks_b).astype(np.float32)[None]
        bounds = np.cumsum([0] + widths)
        plan, k = [], 0
        for inj, stage in self._schedule:
            sl = None
            if inj is not None:
                sl = slice(int(bounds[k]), int(bounds[k + 1]))
                k += 1
            mats = []
            for W, b, nonlin in stage:
                if nonlin == "leaky":
                    aug = np.zeros((W.shape[0] + 1, W.shape[1] + 1))
                    aug[:-1, :-1], aug[-1, :-1], aug[-1, -1] = W, b, 1.0
                else:  # the last stage: (features, time) -> time-major (time, features)
                    n_t, n_f = self.out_shape
                    perm = (np.arange(n_f)[None, :] * n_t + np.arange(n_t)[:, None]).reshape(-1)
                    aug = np.concatenate([W, b[None]], 0)[:, perm]
                mats.append(np.ascontiguousarray(aug, np.float32))
            plan.append((sl, mats))
        def per_row(v):  # per-feature values repeated for each time step of a row
            return np.tile(np.asarray(v, np.float32), self.out_shape[0])[None]

        bound = BoundDecoder(w_inj, b_inj, plan, self.out_shape, per_row(self.half),
                             per_row(self.centre), per_row(low), per_row(high), np.dtype(dtype),
                             self.slope)
        return bound if self._agrees(bound, dims, base, scale, low, high) else None

    def _agrees(self, bound: "BoundDecoder", dims: np.ndarray, base: np.ndarray, scale: float,
                low: np.ndarray, high: np.ndarray, n_codes: int = 8) -> bool:
        """Whether ``bound`` sends what ``model.decode`` and clipping send, on random codes."""
        if self.model is None:
            return True
        rng = np.random.default_rng(0)
        a = rng.uniform(-1.0, 1.0, (n_codes, len(dims))).astype(np.float32)
        z = np.repeat(base[None].astype(np.float32), n_codes, 0)
        z[:, dims] = scale * a
        was_training = self.model.training
        self.model.eval()
        expected = self.model.decode(torch.as_tensor(z)).cpu().numpy()
        self.model.train(was_training)
        expected = np.clip(expected, low, high)
        got = bound(a).astype(np.float32)
        tol = 1e-4 * max(1.0, float(np.abs(self.half).max()))
        if got.shape == expected.shape and np.allclose(got, expected, rtol=1e-4, atol=tol):
            return True
        err = float(np.abs(got - expected).max()) if got.shape == expected.shape else np.inf
        warnings.warn(f"the dense fast decoder differs from model.decode by up to {err:.3g} "
                      "(on random codes); decoding through the model instead", stacklevel=3)
        return False


class BoundDecoder:
    """``DenseDecoder.bind``'s result: ``__call__(a (n, k) float32) -> (n, H, A)`` in ``dtype``,
    clipped to ``[low, high]``; equal to building the code and calling the model, up to float32
    rounding."""

    def __init__(self, w_inj, b_inj, plan, out_shape, half, centre, low, high, dtype, slope):
        self.w_inj, self.b_inj, self.plan = w_inj, b_inj, plan
        self.slope = slope
        self.out_shape = out_shape
        self.half, self.centre, self.low, self.high = half, centre, low, high
        self.dtype = dtype
        self.last = plan[-1][1][-1]  # the final matrix, followed by tanh instead of LeakyReLU

    def __call__(self, a: np.ndarray) -> np.ndarray:
        x = a @ self.w_inj
        x += self.b_inj
        h = None
        last = self.last
        for sl, mats in self.plan:
            if sl is not None:
                if h is None:
                    h = _leaky(x[:, sl], self.slope)
                else:
                    h += x[:, sl]
            for W in mats:
                h = h @ W
                if W is not last:
                    _leaky(h, self.slope)
        np.tanh(h, out=h)
        h *= self.half
        h += self.centre
        np.maximum(h, self.low, out=h)
        np.minimum(h, self.high, out=h)
        out = h.reshape(len(a), *self.out_shape)
        return out if out.dtype == self.dtype else out.astype(self.dtype)


def _cpu_copy(model):
    import copy

    return copy.deepcopy(model).cpu().eval()
