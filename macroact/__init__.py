"""macroact: learned macro-actions for reinforcement learning."""

__version__ = "0.1.0"
