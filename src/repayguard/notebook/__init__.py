"""The Python API for notebooks: frames in (pandas, Polars, … through narwhals), frames out.

``repayguard.load_policy`` / ``evaluate`` / ``explain`` decide a frame of policy inputs;
``repayguard.decide`` runs the decision core over a frame of events as of a date (and
``repayguard.features`` gives the features it decides from);
``repayguard.load_model`` / ``predict_proba`` score a frame with a registered model. The root
package re-exports these lazily, so ``import repayguard`` stays cheap. See docs/python-api.md.
"""

from repayguard.notebook.deciding import decide, features
from repayguard.notebook.policies import SHIPPED, FramePolicy, load_policy
from repayguard.notebook.scoring import FrameModel, load_model

__all__ = [
    "SHIPPED",
    "FrameModel",
    "FramePolicy",
    "decide",
    "features",
    "load_model",
    "load_policy",
]
