"""Alembic's migration environment (``env.py``) and revisions (``versions/``), run by :mod:`rathaus.core.migrate`.

A package only so that import-linter sees ``env.py``'s imports (see ``[tool.importlinter]`` in pyproject.toml).
"""
