"""Alembic branch ``governance`` (rathaus.governance.register.tables; bias_eval_runs belongs to the platform
chain, 0005_bias_evals)."""
