"""A synthetic stand-in for TIMIT: sentences spoken by espeak-ng voices, as 80-dim log-mel features.

FAVAE's speech experiment uses TIMIT (licensed, not redistributable) with the factors location
(8 dialect regions), sex, speaker and sentence (the two "SA" sentences every speaker reads).
This module builds data with the same factor structure from the open-source speech synthesiser
espeak-ng (Debian/Ubuntu: ``apt-get install espeak-ng``; macOS: ``brew install espeak-ng``):

- location: one of 8 English accents of espeak-ng (``LOCATIONS``), standing in for TIMIT's
  8 dialect regions;
- sex: from the voice variant (``+m1`` .. ``+m8`` male, ``+f1`` .. ``+f5``, ``+Andrea``,
  ``+belinda``, ``+linda`` female);
- speaker: an (accent, variant, speed, pitch) combination, see :func:`speaker_table`;
- sentence: index into ``sentences`` (default TIMIT's SA1 and SA2 texts).

Features (:func:`log_mel`): the 22050 Hz synthesis is resampled to 16 kHz (TIMIT's rate) by
FFT (band-limited) resampling; power spectra of 25 ms periodic-Hann frames every 10 ms
(1024-point FFT) go through 80 triangular mel filters (HTK mel scale ``2595 log10(1 + f/700)``,
0 Hz to Nyquist, peak 1); features are ``log(max(mel power, 1e-10))``, unnormalised.
Fixed length rule: the waveform is cut, or zero-padded (silence, which espeak-ng also emits
between words) at its end, to exactly ``length`` frames; the default 400 frames (4 s) holds the
default sentences whole at every speaker's speed.

Generated arrays are cached as ``.npz`` files keyed by the parameters, in ``cache_dir``
(default ``$MACROACT_CACHE/speech`` when that variable is set, else ``~/.cache/macroact/speech``);
a cached set loads without espeak-ng.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SPEECH_FACTORS = ("location", "sex", "speaker", "sentence")
# espeak-ng's English accents (all in Debian's espeak-ng-data); 8, like TIMIT's dialect regions.
LOCATIONS = ("en-gb", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
             "en-gb-x-gbcwmd", "en-us-nyc")
SEXES = ("male", "female")
VARIANTS_BY_SEX = (
    ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"),
    ("f1", "f2", "f3", "f4", "f5", "Andrea", "belinda", "linda"),
)
# TIMIT's SA1 and SA2, the two sentences every TIMIT speaker reads.
TIMIT_SA_SENTENCES = (
    "She had your dark suit in greasy wash water all year.",
    "Don't ask me to carry an oily rag like that.",
)
_SPEEDS = tuple(150 + 10 * k for k in range(6))  # words per minute (espeak-ng default 175)
_PITCHES = tuple(30 + 5 * k for k in range(9))  # 0-99 (espeak-ng default 50)
# (accent, sex, variant) repeat every 16 speakers, speed every 6, pitch every 9: all distinct below.
MAX_SPEAKERS = 144
_FORMAT_VERSION = 1
_LOG_FLOOR = 1e-10
_INSTALL_HINT = ("install it (Debian/Ubuntu: apt-get install espeak-ng; macOS: brew install espeak-ng) "
                 "or point cache_dir at a folder that already holds this data set")


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` binary is on ``PATH``."""
    return shutil.which("espeak-ng") is not None


def speaker_table(n_speakers: int) -> list[dict]:
    """The voice settings of speakers ``0 .. n_speakers - 1``.

    Speaker ``i`` speaks with accent ``LOCATIONS[i % 8]``, sex ``(i + i // 8) % 2`` (so the first
    16 speakers cover every accent-sex pair once), the ``(i // 2) % 8``-th variant of that sex,
    speed ``150 + 10 * (5 i mod 6)`` words per minute and pitch ``30 + 5 * (4 i mod 9)``.

    Args:
        n_speakers: number of speakers, 1 to ``MAX_SPEAKERS``.

    Returns:
        One dict per speaker with keys ``voice`` (e.g. ``"en-us+f1"``), ``location``, ``sex``
        (indices into ``LOCATIONS``/``SEXES``), ``speed`` and ``pitch``.

    Example:
        >>> [s["voice"] for s in speaker_table(3)]
        ['en-gb+m1', 'en-us+f1', 'en-gb-scotland+m2']
    """
    if isinstance(n_speakers, bool) or not isinstance(n_speakers, (int, np.integer)) \
            or not 1 <= n_speakers <= MAX_SPEAKERS:
        raise ValueError(f"n_speakers must be an integer in 1..{MAX_SPEAKERS}, got {n_speakers!r}")
    table = []
    for i in range(int(n_speakers)):
        location, sex = i % len(LOCATIONS), (i + i // len(LOCATIONS)) % 2
        variant = VARIANTS_BY_SEX[sex][(i // 2) % len(VARIANTS_BY_SEX[sex])]
        table.append({"voice": f"{LOCATIONS[location]}+{variant}", "location": location, "sex": sex,
                      "speed": _SPEEDS[(5 * i) % len(_SPEEDS)], "pitch": _PITCHES[(4 * i) % len(_PITCHES)]})
    return table


def synthesize(text: str, voice: str = "en-us", speed: int = 175,
               pitch: int = 50) -> tuple[np.ndarray, int]:
    """Speak ``text`` with espeak-ng.

    Args:
        text: the sentence (passed on stdin, so it may start with ``-``).
        voice: an espeak-ng voice, optionally with a variant, e.g. ``"en-gb-scotland+f3"``.
        speed: words per minute (espeak-ng ``-s``).
        pitch: 0-99 (espeak-ng ``-p``).

    Returns:
        ``(waveform, sample_rate)``: float32 mono samples in [-1, 1] of shape ``(samples,)``
        and espeak-ng's rate (22050 Hz).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError(f"espeak-ng is not installed or not on PATH; {_INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="macroact-espeak-") as tmp:
        out = Path(tmp) / "speech.wav"
        proc = subprocess.run(
            [exe, "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)), "-w", str(out), "--stdin"],
            input=text.encode(), capture_output=True, timeout=60)
        if proc.returncode != 0 or not out.is_file():
            raise RuntimeError(
                f"espeak-ng failed for voice {voice!r} (exit {proc.returncode}): "
                f"{proc.stderr.decode(errors='replace').strip()}; list voices with `espeak-ng --voices=en`")
        with wave.open(str(out), "rb") as w:
            if w.getsampwidth() != 2:
                raise RuntimeError(f"espeak-ng wrote {8 * w.getsampwidth()}-bit audio; expected 16-bit PCM")
            rate, n_channels = w.getframerate(), w.getnchannels()
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    x = samples.reshape(-1, n_channels).mean(axis=1) / 32768.0
    return x.astype(np.float32), int(rate)


def resample(x: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited (FFT) resampling of a mono signal ``(samples,)`` from one rate to another."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"resample expects a mono signal of shape (samples,), got shape {x.shape}")
    if orig_rate <= 0 or target_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_rate} -> {target_rate}")
    if orig_rate == target_rate or len(x) == 0:
        return x.astype(np.float32)
    n_out = max(1, int(round(len(x) * target_rate / orig_rate)))
    spectrum = np.fft.rfft(x)
    keep = n_out // 2 + 1
    if keep <= len(spectrum):
        spectrum = spectrum[:keep]  # drops everything above the new Nyquist: no aliasing
    else:
        spectrum = np.concatenate([spectrum, np.zeros(keep - len(spectrum), dtype=spectrum.dtype)])
    return (np.fft.irfft(spectrum, n=n_out) * (n_out / len(x))).astype(np.float32)


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: ``2595 log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_band_centers(n_mels: int, sample_rate: int, fmin: float = 0.0,
                     fmax: float | None = None) -> np.ndarray:
    """Centre frequencies in Hz ``(n_mels,)`` of the filters of :func:`mel_filterbank`."""
    fmax = sample_rate / 2 if fmax is None else fmax
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))[1:-1]


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters (HTK scale, peak 1) over the bins of an ``n_fft``-point real FFT.

    Returns:
        float64 ``(n_mels, n_fft // 2 + 1)``; filter ``k`` rises linearly in Hz from centre
        ``k - 1`` to centre ``k`` and falls to centre ``k + 1`` (edges ``fmin``, ``fmax``).
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(f"need 0 <= fmin < fmax <= sample_rate / 2, got fmin={fmin}, fmax={fmax}, "
                         f"sample_rate={sample_rate}")
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lower) / (centre - lower)
    falling = (upper - freqs) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def log_mel(
    x: np.ndarray,
    sample_rate: int = 16000,
    n_mels: int = 80,
    win_ms: float = 25.0,
    hop_ms: float = 10.0,
    n_fft: int = 1024,
    length: int | None = None,
) -> np.ndarray:
    """Log-mel features of a mono signal.

    Args:
        x: samples ``(samples,)``.
        sample_rate: rate of ``x`` in Hz.
        n_mels: number of mel bands.
        win_ms: analysis window (periodic Hann) in milliseconds.
        hop_ms: frame step in milliseconds.
        n_fft: FFT size (>= the window; the window is zero-padded).
        length: if given, cut or zero-pad ``x`` at its end to exactly this many frames;
            otherwise all full windows are used (a signal shorter than one window is padded).

    Returns:
        float32 ``(frames, n_mels)``: ``log(max(mel power, 1e-10))``.

    Example:
        >>> t = np.arange(16000) / 16000
        >>> log_mel(np.sin(2 * np.pi * 440 * t)).shape
        (98, 80)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"log_mel expects a mono signal of shape (samples,), got shape {x.shape}")
    win, hop = int(round(sample_rate * win_ms / 1000)), int(round(sample_rate * hop_ms / 1000))
    if win < 2 or hop < 1 or n_fft < win:
        raise ValueError(f"window {win} samples, hop {hop}, n_fft {n_fft}: need window >= 2, hop >= 1 "
                         f"and n_fft >= window; raise sample_rate, win_ms/hop_ms or n_fft")
    if length is not None:
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
            raise ValueError(f"length must be an integer >= 1 or None, got {length!r}")
        n = (int(length) - 1) * hop + win
        x = x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))
    elif len(x) < win:
        x = np.pad(x, (0, win - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop]
    window = np.hanning(win + 1)[:-1]  # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, n=n_fft)) ** 2
    mel = power @ mel_filterbank(n_mels, n_fft, sample_rate).T
    return np.log(np.maximum(mel, _LOG_FLOOR)).astype(np.float32)


def default_cache_dir() -> Path:
    """``$MACROACT_CACHE/speech`` if that variable is set, else ``~/.cache/macroact/speech``."""
    root = os.environ.get("MACROACT_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "macroact") / "speech"


def _check_sentences(sentences: Sequence[str]) -> tuple[str, ...]:
    if isinstance(sentences, str):
        raise ValueError(f"sentences must be a sequence of strings, got the single string {sentences!r}; "
                         "wrap it in a list")
    sentences = tuple(sentences)
    if not sentences or not all(isinstance(s, str) and s.strip() for s in sentences):
        raise ValueError(f"sentences must be a non-empty sequence of non-empty strings, got {sentences!r}")
    if len(set(sentences)) != len(sentences):
        raise ValueError(f"sentences must be distinct (each is one value of the sentence factor), "
                         f"got {sentences!r}")
    return sentences


def speech_dataset(
    n_speakers: int = 16,
    sentences: Sequence[str] = TIMIT_SA_SENTENCES,
    length: int = 400,
    sample_rate: int = 16000,
    n_mels: int = 80,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Every speaker reading every sentence, as log-mel sequences with factor labels.

    Args:
        n_speakers: number of speakers (1 to ``MAX_SPEAKERS``; see :func:`speaker_table`).
        sentences: the texts; the sentence factor is the index into this sequence.
        length: frames per sequence (10 ms each); longer utterances are cut at the end,
            shorter ones padded with silence.
        sample_rate: rate the synthesis is resampled to before the features.
        n_mels: feature dimension.
        cache_dir: folder of the ``.npz`` cache (default :func:`default_cache_dir`).
        use_cache: read and write the cache; False always synthesises and writes nothing.

    Returns:
        ``features`` float32 ``(n_speakers * len(sentences), length, n_mels)``, speaker-major;
        ``factors`` int64 ``(N, 4)``; ``factor_names`` (``SPEECH_FACTORS``: location, sex,
        speaker, sentence).
    """
    sentences = _check_sentences(sentences)
    table = speaker_table(n_speakers)
    for name, value in (("length", length), ("sample_rate", sample_rate), ("n_mels", n_mels)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    params = {"format": _FORMAT_VERSION, "n_speakers": int(n_speakers), "sentences": list(sentences),
              "length": int(length), "sample_rate": int(sample_rate), "n_mels": int(n_mels)}
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    path = Path(cache_dir if cache_dir is not None else default_cache_dir()) / \
        f"speech-{n_speakers}spk-{len(sentences)}sent-{length}-{key}.npz"
    if use_cache and path.is_file():
        with np.load(path, allow_pickle=False) as data:
            return data["features"], data["factors"], tuple(str(s) for s in data["factor_names"])
    if not espeak_available():
        raise RuntimeError(
            f"speech_dataset needs espeak-ng to synthesise (no cache at {path}); {_INSTALL_HINT}")

    features, factors = [], []
    for speaker, spec in enumerate(table):
        for sentence, text in enumerate(sentences):
            wav, rate = synthesize(text, spec["voice"], spec["speed"], spec["pitch"])
            wav = resample(wav, rate, sample_rate)
            features.append(log_mel(wav, sample_rate, n_mels=n_mels, length=length))
            factors.append((spec["location"], spec["sex"], speaker, sentence))
    features_arr = np.stack(features).astype(np.float32)
    factors_arr = np.asarray(factors, dtype=np.int64)
    if use_cache:
        _write_npz(path, features=features_arr, factors=factors_arr, factor_names=np.array(SPEECH_FACTORS),
                   params=np.array(json.dumps({**params, "speakers": table})))
    return features_arr, factors_arr, SPEECH_FACTORS


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    """Write an npz under a temporary name and rename it, so readers never see a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
