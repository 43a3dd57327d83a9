"""Routing of incoming messages: relevance, category/department, urgency and language, with calibrated
confidence and a per-department threshold for routing without a human (see ``model``)."""

from rathaus.inbox.routing.calibration import routed_share, threshold_for_precision
from rathaus.inbox.routing.data import RoutingFileError, TrainingReport, TrainingRow, read_training_csv
from rathaus.inbox.routing.model import (
    Alternative,
    Embed,
    RoutingError,
    RoutingModel,
    RoutingSuggestion,
    train,
)
from rathaus.inbox.routing.store import ModelFileError

__all__ = [
    "Alternative", "Embed", "ModelFileError", "RoutingError", "RoutingFileError", "RoutingModel",
    "RoutingSuggestion", "TrainingReport", "TrainingRow", "read_training_csv", "routed_share",
    "threshold_for_precision", "train",
]
