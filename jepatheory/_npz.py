"""Reading an ``.npz`` member's ``.npy`` header without decompressing its data (the size and
dtype checks of :func:`jepatheory.mdp.inspect_npz` and the audit's model files)."""
from __future__ import annotations

import zipfile

import numpy as np

__all__ = ["npy_header"]


def npy_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo
               ) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, header_bytes)`` of the ``.npy`` member ``info``; raises ValueError
    (or OSError) when the member has no valid ``.npy`` header."""
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        return tuple(shape), dtype, fh.tell()
