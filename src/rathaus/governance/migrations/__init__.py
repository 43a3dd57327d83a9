"""Alembic branch ``governance``: the register (governance_0001) and the use-case portfolio (governance_0002);
bias_eval_runs belongs to the platform chain (0005_bias_evals)."""
