"""Library recommendations (issue 7): the city library's catalogue, pseudonymised loans and searches, and the
recommendation models built on them.

The data side lives in ``schema`` (tables), ``catalogue`` (reading CSV and MARC21 files), ``privacy``
(pseudonyms, retention, opt-out, scrubbing of free text), ``store`` (import and reading) and ``access`` (roles).
Reader ids are never stored: every table holds only the keyed pseudonym (see docs/library-data.md).

The models live in ``interactions``, ``recommenders`` (popularity, item-kNN, EASE, ALS), ``content``,
``blend`` (the rathaus blend, weights tuned on a validation split of the training loans), ``serving``
(recommend with explanations, similar media, save/load) and ``evaluate`` (leave-one-out benchmark).
"""
