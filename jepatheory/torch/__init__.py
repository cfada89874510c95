"""The torch backend (the ``torch`` extra): JEPA encoders (tabular, MLP, CNN), the
action-conditioned predictor, EMA targets, the anti-collapse terms (spectral loss, VICReg,
SIGReg), torch trainers, the next-feature MLP (the input-level counterpart of the MLP JEPA),
and checkpoints that load without unpickling objects.

Importing this package without torch raises :class:`~jepatheory.errors.MissingExtraError`
with the one-line install message."""
from .._optional import require

require("torch")

from .checkpoint import load_checkpoint, save_checkpoint
from .losses import l2_prediction, sigreg, spectral_loss, vicreg_terms, whitening_penalty
from .nets import ARCHS, CNNEncoder, JEPAWorldModel, MLPEncoder, Predictor, build_model
from .regression import NextFeatureMLP, train_next_features
from .trainers import REGS, TORCH_TRAINERS, TorchTrained, pick_device, train_torch

__all__ = [
    "ARCHS",
    "REGS",
    "TORCH_TRAINERS",
    "CNNEncoder",
    "JEPAWorldModel",
    "MLPEncoder",
    "NextFeatureMLP",
    "Predictor",
    "TorchTrained",
    "build_model",
    "l2_prediction",
    "load_checkpoint",
    "pick_device",
    "save_checkpoint",
    "sigreg",
    "spectral_loss",
    "train_next_features",
    "train_torch",
    "vicreg_terms",
    "whitening_penalty",
]
