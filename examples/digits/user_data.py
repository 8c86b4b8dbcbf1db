"""The "new user" of the digits demo: someone whose handwriting differs in a consistent way.

scikit-learn's digits are 8x8 images with values 0..16. A new user writes with a strong slant and
a thicker pen; the base model, trained on everyone else's digits, does noticeably worse on their
writing. The device fine-tunes on a few of this user's digits and is evaluated on others it has
never seen. Images are returned as float32 in [0, 1], shape [n, 8, 8, 1], as the model expects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits

MODEL_DIR = Path(__file__).resolve().parent / "model"


@dataclass(frozen=True)
class UserData:
    train_x: np.ndarray  # [n, 8, 8, 1] float32, the user's digits the device trains on
    train_y: np.ndarray  # [n] int32
    test_x: np.ndarray  # [m, 8, 8, 1] float32, held out: never seen in training
    test_y: np.ndarray  # [m] int32


def user_style(image: np.ndarray, shear: float, thickness: int) -> np.ndarray:
    """One 8x8 digit (0..16) written the user's way: slanted by ``shear``, pen ``thickness`` wider."""
    rows, cols = image.shape
    # x' = x + shear * (y - centre): the top leans right, the bottom left.
    matrix = np.array([[1.0, 0.0], [shear, 1.0]])
    offset = np.array([0.0, -shear * (rows - 1) / 2.0])
    slanted = ndimage.affine_transform(image, matrix, offset=offset, order=1, mode="constant")
    if thickness > 0:
        slanted = ndimage.grey_dilation(slanted, size=(1, 1 + thickness))
    return np.clip(slanted, 0.0, 16.0)


def make_user_data(
    n_train_per_class: int = 10, shear: float = 0.6, thickness: int = 1, seed: int = 0
) -> UserData:
    """The user's digits, drawn from the base model's held-out split so none were seen in pretraining."""
    digits = load_digits()
    split = json.loads((MODEL_DIR / "split.json").read_text())
    held_out = np.asarray(split["test"], dtype=np.int64)
    rng = np.random.default_rng(seed)
    images = np.stack([user_style(digits.images[i], shear, thickness) for i in held_out])
    labels = digits.target[held_out].astype(np.int32)
    x = (images / 16.0).astype(np.float32)[..., None]
    train_idx: list[int] = []
    for digit in range(10):
        of_class = np.flatnonzero(labels == digit)
        train_idx.extend(rng.choice(of_class, size=min(n_train_per_class, of_class.size), replace=False))
    train_mask = np.zeros(labels.size, dtype=bool)
    train_mask[train_idx] = True
    order = rng.permutation(np.flatnonzero(train_mask))
    return UserData(x[order], labels[order], x[~train_mask], labels[~train_mask])
