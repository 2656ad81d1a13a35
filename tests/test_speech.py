"""Synthetic speech data: log-mel features, speaker table, espeak-ng generation and cache."""

from __future__ import annotations

import numpy as np
import pytest

from macroact.data import speech
from macroact.data.speech import (
    LOCATIONS,
    SPEECH_FACTORS,
    espeak_available,
    hz_to_mel,
    log_mel,
    mel_band_centers,
    mel_filterbank,
    resample,
    speaker_table,
    speech_dataset,
)

needs_espeak = pytest.mark.skipif(not espeak_available(),
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")
SR = 16000


def _sine(freq: float, seconds: float = 0.5, rate: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return 0.5 * np.sin(2 * np.pi * freq * t)


def test_htk_mel_scale():
    assert hz_to_mel(0.0) == 0.0
    assert abs(hz_to_mel(1000.0) - 1000.0) < 0.1  # the HTK scale's anchor


def test_filterbank_shape_and_no_empty_band():
    fb = mel_filterbank(80, 1024, SR)
    assert fb.shape == (80, 513)
    assert (fb.max(axis=1) > 0.5).all()


@pytest.mark.parametrize("band", [5, 30, 60, 75])
def test_sine_peaks_in_its_mel_band(band):
    freq = mel_band_centers(80, SR)[band]
    feats = log_mel(_sine(freq), SR)
    assert feats.shape[1] == 80
    assert int(np.argmax(feats.mean(axis=0))) == band


def test_length_rule_cuts_and_pads_with_silence():
    x = _sine(1000.0, seconds=1.0)  # 98 full frames
    assert log_mel(x, SR).shape == (98, 80)
    assert log_mel(x, SR, length=50).shape == (50, 80)
    padded = log_mel(x, SR, length=150)
    assert padded.shape == (150, 80)
    np.testing.assert_allclose(padded[:97], log_mel(x, SR)[:97], rtol=1e-5)
    np.testing.assert_allclose(padded[-10:], np.log(1e-10), rtol=1e-6)


def test_resample_keeps_frequency_and_duration():
    x = _sine(1000.0, seconds=1.0, rate=22050)
    y = resample(x, 22050, SR)
    assert y.shape == (SR,)
    peak_hz = np.argmax(np.abs(np.fft.rfft(y))) * SR / len(y)
    assert abs(peak_hz - 1000.0) <= 1.0
    assert abs(y.std() - x.std()) < 0.01


def test_speaker_table_covers_accent_sex_pairs():
    table = speaker_table(16)
    assert {(s["location"], s["sex"]) for s in table} == {(l, x) for l in range(8) for x in range(2)}
    full = speaker_table(speech.MAX_SPEAKERS)
    assert len({(s["voice"], s["speed"], s["pitch"]) for s in full}) == speech.MAX_SPEAKERS
    assert all(s["voice"].split("+")[0] == LOCATIONS[s["location"]] for s in full)
    with pytest.raises(ValueError, match="n_speakers"):
        speaker_table(0)


def test_bad_sentences_raise(tmp_path):
    with pytest.raises(ValueError, match="single string"):
        speech_dataset(2, sentences="hello", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="distinct"):
        speech_dataset(2, sentences=["a b", "a b"], cache_dir=tmp_path)


def test_missing_espeak_names_the_install(tmp_path, monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    assert not espeak_available()
    with pytest.raises(RuntimeError, match="apt-get install espeak-ng"):
        speech_dataset(2, cache_dir=tmp_path)


def test_cache_dir_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MACROACT_CACHE", str(tmp_path))
    assert speech.default_cache_dir() == tmp_path / "speech"


@needs_espeak
def test_small_generation_and_cache(tmp_path, monkeypatch):
    sentences = ["Don't ask me to carry an oily rag.", "She had your dark suit."]
    feats, factors, names = speech_dataset(2, sentences=sentences, length=150, cache_dir=tmp_path)
    assert names == SPEECH_FACTORS == ("location", "sex", "speaker", "sentence")
    assert feats.shape == (4, 150, 80) and feats.dtype == np.float32
    assert np.isfinite(feats).all()
    # speaker 0: en-gb male; speaker 1: en-us female; sentences vary fastest
    np.testing.assert_array_equal(factors, [[0, 0, 0, 0], [0, 0, 0, 1], [1, 1, 1, 0], [1, 1, 1, 1]])
    assert np.abs(feats[0] - feats[1]).mean() > 0.5  # sentences differ
    assert np.abs(feats[0] - feats[2]).mean() > 0.5  # speakers differ
    assert (feats.max(axis=2) > -10).mean() > 0.5  # mostly speech, not padding

    assert len(list(tmp_path.glob("*.npz"))) == 1
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)  # cached: no espeak-ng needed
    again, factors2, _ = speech_dataset(2, sentences=sentences, length=150, cache_dir=tmp_path)
    np.testing.assert_array_equal(again, feats)
    np.testing.assert_array_equal(factors2, factors)
