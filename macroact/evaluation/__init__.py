"""Evaluation: disentanglement metrics (MIG), latent traversals and offline encoding.

- ``macroact.evaluation.metrics``: pure functions of arrays with an explicit random state;
- ``macroact.evaluation.traverse``: traversal figures like the paper's Fig. 3 and 4;
- ``macroact.evaluation.encode``: codes of data sets and demonstrations, written to files.
"""
