"""Data: the paper's data sets, Sprites and speech, and demonstration episodes with chunking.

- ``macroact.data.paper``: 2D Reaching and 2D Wavy Reaching (the authors' arrays and our
  generator), and ``load_dataset`` for every named data set;
- ``macroact.data.sprites`` and ``macroact.data.speech``: the paper's video and audio sets;
- ``macroact.data.demos``: ``EpisodeData`` (Minari's episode shape), ``collect`` and
  ``chunk_actions``.

Sprite sheets (with their licences) live in ``assets/sprites/``. Submodules are imported when
used, so importing this package stays cheap.
"""
