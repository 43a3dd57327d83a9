"""Library recommendations (issue 7): "similar media" for the catalogue page and personal recommendations from a
reader's loans, built from the loan matrix (EASE, item-kNN, ALS, popularity) and item content (embeddings or
metadata), blended with weights tuned on a validation split of the training loans; pure numpy/scipy, no database.
"""
