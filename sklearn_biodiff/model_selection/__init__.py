"""Patient-grouped splits, patient-level scores and tuning of the diffusion estimators."""

from ._scoring import aggregate_by_group, make_patient_scorer, patient_roc_auc_score
from ._search import (
    DACLSearchSpace,
    grouped_cross_validate,
    optuna_search,
    timestep_ablation_grid,
    timestep_ranges,
)
from ._split import check_groups_disjoint, grouped_train_test_split, make_grouped_cv

__all__ = [
    "DACLSearchSpace",
    "aggregate_by_group",
    "check_groups_disjoint",
    "grouped_cross_validate",
    "grouped_train_test_split",
    "make_grouped_cv",
    "make_patient_scorer",
    "optuna_search",
    "patient_roc_auc_score",
    "timestep_ablation_grid",
    "timestep_ranges",
]
