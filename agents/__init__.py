"""Agents that act over learned macro-actions (stable-baselines3)."""
