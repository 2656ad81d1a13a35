"""Environments with scripted demonstrators, registered under the ``macroact/`` namespace."""
