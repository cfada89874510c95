r"""Finite MDPs: the kernel P, reward r, discount gamma, start distribution rho0.

Array convention (used everywhere in the package)
-------------------------------------------------
``P[s, a, s']`` is the probability of ``s'`` after action ``a`` in state ``s``. Internally
the kernel is one ``scipy.sparse.csr_array`` ``P_sa`` of shape ``(N*m, N)`` whose row
``s*m + a`` is :math:`P(\cdot \mid s, a)`; the same flat index ``s*m + a`` is used for
state-action vectors such as ``nu`` (``nu.reshape(N, m)[s, a] = nu(s, a)``). Rewards are
``r[s, a]``; observation features are ``x[s]`` (THEORY D6).

Rewards may be any finite numbers; the bounds use the reward range
``R_max = max r - min r`` (regret is invariant to shifting r).
"""
from __future__ import annotations

import dataclasses
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from .errors import (
    DiscountError,
    DistributionError,
    EmptyMDPError,
    MDPFileError,
    NegativeProbabilityError,
    NonFiniteError,
    OddMDPWarning,
    RowSumError,
    ShapeError,
)

__all__ = ["MDP", "load_mdp", "save_mdp", "ROW_SUM_TOL"]

#: Rows of P must sum to 1 within this absolute tolerance.
ROW_SUM_TOL = 1e-8


def _check_finite(name: str, arr: NDArray[Any]) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise NonFiniteError(f"{name}: entry {idx} is {float(arr[idx])!r} (must be finite)")


def _as_kernel(P: Any) -> tuple[sp.csr_array, int, int]:
    """Normalise a kernel given as dense (S, A, S), a list of A sparse (S, S) matrices, or
    a sparse (S*A, S) matrix with rows s*A + a (then m must be known: not accepted here)."""
    if isinstance(P, (list, tuple)) and len(P) == 0:
        raise EmptyMDPError("P: empty action set (an empty list of per-action kernels)")
    if isinstance(P, (list, tuple)) and len(P) > 0 and sp.issparse(P[0]):
        m = len(P)
        N = P[0].shape[0]
        for a, Pa in enumerate(P):
            if Pa.shape != (N, N):
                raise ShapeError(f"P: action {a} block has shape {Pa.shape}, expected ({N}, {N})")
        blocks = [sp.csr_array(Pa, dtype=float) for Pa in P]
        # interleave rows: row s*m + a = blocks[a][s]
        stacked = sp.vstack(blocks, format="csr")  # row a*N + s
        perm = (np.arange(N)[:, None] + N * np.arange(m)[None, :]).ravel()
        return sp.csr_array(stacked[perm]), N, m
    if sp.issparse(P):
        raise ShapeError(f"P: a single sparse matrix of shape {P.shape} is ambiguous; pass a list "
                         "of per-action (S, S) matrices, or the flat (S*A, S) kernel to "
                         "MDP.from_flat")
    try:
        arr = np.asarray(P, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ShapeError(f"P: not an (S, A, S) array of numbers ({exc})") from None
    if arr.ndim != 3:
        raise ShapeError(f"P: expected shape (S, A, S), got an array of shape {arr.shape}")
    N, m, N2 = arr.shape
    if N == 0 or m == 0:
        raise EmptyMDPError(f"P: empty state or action set (shape {arr.shape})")
    if N2 != N:
        raise ShapeError(f"P: expected shape (S, A, S), got {arr.shape} (last axis != first)")
    _check_finite("P", arr)
    return sp.csr_array(arr.reshape(N * m, N)), N, m


@dataclass(frozen=True, eq=False)
class MDP:
    r"""A validated finite MDP (THEORY "Setting").

    Build it with :meth:`MDP.from_arrays` (dense or sparse kernels) or one of the
    environment families in :mod:`jepatheory.envs`.

    Attributes
    ----------
    P_sa : csr_array, shape (N*m, N)
        Kernel, row ``s*m + a`` is :math:`P(\cdot\mid s,a)`.
    r : ndarray, shape (N, m)
    gamma : float in [0, 1)
    rho0 : ndarray, shape (N,)
    x : ndarray (N, d) or None
        Observation features (D6).
    coords : ndarray (N, 2) or None
        Positions for plots.
    names : tuple of str or None
    name : str
    meta : dict
        Family parameters and anything else worth recording.
    """

    P_sa: sp.csr_array
    r: NDArray[np.float64]
    gamma: float
    rho0: NDArray[np.float64]
    n_states: int
    n_actions: int
    x: NDArray[np.float64] | None = None
    coords: NDArray[np.float64] | None = None
    names: tuple[str, ...] | None = None
    name: str = "mdp"
    meta: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        P: Any,
        r: ArrayLike,
        gamma: float,
        rho0: ArrayLike | None = None,
        *,
        x: ArrayLike | None = None,
        coords: ArrayLike | None = None,
        names: Sequence[str] | None = None,
        name: str = "mdp",
        meta: dict[str, Any] | None = None,
        warn: bool = True,
    ) -> MDP:
        """Validate and build an MDP.

        ``P`` is a dense array ``(S, A, S)`` or a list of ``A`` sparse ``(S, S)`` matrices;
        ``rho0`` defaults to uniform. Raises a subclass of :class:`~jepatheory.errors.MDPError`
        naming the offending entry; warns :class:`~jepatheory.errors.OddMDPWarning` on
        absorbing or unreachable states.
        """
        P_sa, N, m = _as_kernel(P)
        return cls.from_flat(P_sa, N, m, r, gamma, rho0, x=x, coords=coords, names=names,
                             name=name, meta=meta, warn=warn)

    @classmethod
    def from_flat(
        cls,
        P_sa: Any,
        n_states: int,
        n_actions: int,
        r: ArrayLike,
        gamma: float,
        rho0: ArrayLike | None = None,
        *,
        x: ArrayLike | None = None,
        coords: ArrayLike | None = None,
        names: Sequence[str] | None = None,
        name: str = "mdp",
        meta: dict[str, Any] | None = None,
        warn: bool = True,
    ) -> MDP:
        """Build from the flat kernel ``P_sa`` of shape ``(N*m, N)`` (row ``s*m + a``)."""
        N, m = int(n_states), int(n_actions)
        if N <= 0 or m <= 0:
            raise EmptyMDPError(f"MDP: empty state or action set (N={N}, m={m})")
        P_sa = sp.csr_array(P_sa, dtype=float)
        if P_sa.shape != (N * m, N):
            raise ShapeError(f"P: flat kernel has shape {P_sa.shape}, expected ({N*m}, {N})")
        P_sa.sum_duplicates()
        P_sa.eliminate_zeros()
        _check_finite("P", P_sa.data)
        if (P_sa.data < 0).any():
            k = int(np.argmax(P_sa.data < 0))
            row = int(np.searchsorted(P_sa.indptr, k, side="right") - 1)
            s, a, s2 = row // m, row % m, int(P_sa.indices[k])
            raise NegativeProbabilityError(
                f"P[{s}, {a}, {s2}] = {P_sa.data[k]:.6g} is negative"
            )
        sums = np.asarray(P_sa.sum(axis=1)).ravel()
        dev = np.abs(sums - 1.0)
        if (dev > ROW_SUM_TOL).any():
            row = int(np.argmax(dev))
            nbad = int((dev > ROW_SUM_TOL).sum())
            raise RowSumError(
                f"P[{row // m}, {row % m}, :] sums to {sums[row]:.10g} (off by "
                f"{sums[row] - 1:+.3g}); {nbad} row(s) of P do not sum to 1"
            )
        r_arr = np.asarray(r, dtype=float)
        if r_arr.shape != (N, m):
            raise ShapeError(f"r: expected shape ({N}, {m}), got {r_arr.shape}")
        _check_finite("r", r_arr)
        try:
            g = float(gamma)
        except (TypeError, ValueError):
            raise DiscountError(f"gamma: {gamma!r} is not a number") from None
        if not (0.0 <= g < 1.0) or not np.isfinite(g):
            raise DiscountError(f"gamma = {g!r} is outside [0, 1)")
        rho = np.full(N, 1.0 / N) if rho0 is None else np.asarray(rho0, dtype=float).ravel()
        _check_distribution("rho0", rho, N)
        x_arr = None
        if x is not None:
            x_arr = np.asarray(x, dtype=float)
            if x_arr.ndim == 1:
                x_arr = x_arr[:, None]
            if x_arr.ndim != 2 or x_arr.shape[0] != N:
                raise ShapeError(f"x: expected shape ({N}, d), got {x_arr.shape}")
            _check_finite("x", x_arr)
        c_arr = None
        if coords is not None:
            c_arr = np.asarray(coords, dtype=float)
            if c_arr.shape != (N, 2):
                raise ShapeError(f"coords: expected shape ({N}, 2), got {c_arr.shape}")
        nm = None
        if names is not None:
            nm = tuple(str(v) for v in names)
            if len(nm) != N:
                raise ShapeError(f"names: expected {N} names, got {len(nm)}")
        mdp = cls(P_sa=P_sa, r=r_arr, gamma=g, rho0=rho, n_states=N, n_actions=m, x=x_arr,
                  coords=c_arr, names=nm, name=name, meta=dict(meta or {}))
        if warn:
            mdp._warn_odd()
        return mdp

    def _warn_odd(self) -> None:
        N, m = self.n_states, self.n_actions
        diag = self.P_sa[np.arange(N * m), np.repeat(np.arange(N), m)]
        absorbing = np.asarray(diag).reshape(N, m).min(axis=1) >= 1.0 - 1e-12
        if absorbing.any():
            idx = np.flatnonzero(absorbing)
            warnings.warn(f"{self.name}: {idx.size} absorbing state(s), e.g. {idx[:5].tolist()}",
                          OddMDPWarning, stacklevel=3)
        # reachability from supp(rho0) under any policy: BFS from a super-source (index N)
        P = self.P_sa.tocoo()
        starts = np.flatnonzero(self.rho0 > 0)
        rows = np.concatenate([P.row // m, np.full(starts.size, N)])
        cols = np.concatenate([P.col, starts])
        adj = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(N + 1, N + 1))
        from scipy.sparse.csgraph import breadth_first_order  # lazy: keeps `envs` fast

        order = breadth_first_order(adj, N, directed=True, return_predecessors=False)
        reach = np.zeros(N + 1, dtype=bool)
        reach[order] = True
        if not reach[:N].all():
            idx = np.flatnonzero(~reach[:N])
            warnings.warn(
                f"{self.name}: {idx.size} state(s) are never reached from rho0 under any "
                f"policy, e.g. {idx[:5].tolist()}", OddMDPWarning, stacklevel=3)

    # ------------------------------------------------------------------ views
    @property
    def N(self) -> int:
        return self.n_states

    @property
    def m(self) -> int:
        return self.n_actions

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_states, self.n_actions)

    @property
    def r_max(self) -> float:
        """Reward range ``max r - min r`` (the R_max of the bounds; 0 for constant r)."""
        return float(self.r.max() - self.r.min())

    def P_dense(self) -> NDArray[np.float64]:
        """The kernel as a dense ``(S, A, S)`` array (small MDPs only)."""
        if self.n_states * self.n_actions * self.n_states > 5e7:
            raise MemoryError(f"P_dense: {self.n_states} states is too large for a dense kernel")
        return self.P_sa.toarray().reshape(self.n_states, self.n_actions, self.n_states)

    def P_action(self, a: int) -> sp.csr_array:
        """``P[:, a, :]`` as a sparse ``(N, N)`` matrix."""
        if not 0 <= a < self.n_actions:
            raise IndexError(f"action {a} out of range [0, {self.n_actions})")
        return sp.csr_array(self.P_sa[a::self.n_actions])

    def replace(self, **changes: Any) -> MDP:
        """A validated copy with some fields replaced (e.g. ``gamma``, ``rho0``, ``x``)."""
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        kw.update(changes)
        return MDP.from_flat(kw["P_sa"], kw["n_states"], kw["n_actions"], kw["r"], kw["gamma"],
                             kw["rho0"], x=kw["x"], coords=kw["coords"], names=kw["names"],
                             name=kw["name"], meta=kw["meta"], warn=False)

    def __repr__(self) -> str:
        obs = "" if self.x is None else f", d_x={self.x.shape[1]}"
        return (f"MDP(name={self.name!r}, n_states={self.n_states}, n_actions={self.n_actions}, "
                f"gamma={self.gamma:g}, nnz={self.P_sa.nnz}{obs})")


def _check_distribution(name: str, v: NDArray[np.float64], size: int) -> None:
    if v.shape != (size,):
        raise ShapeError(f"{name}: expected shape ({size},), got {v.shape}")
    _check_finite(name, v)
    if (v < 0).any():
        i = int(np.argmin(v))
        raise DistributionError(f"{name}[{i}] = {v[i]:.6g} is negative")
    tot = float(v.sum())
    if abs(tot - 1.0) > 1e-8:
        raise DistributionError(f"{name} sums to {tot:.10g}, not 1")


#: public name of the distribution check (shape, finite, >= 0, sums to 1) for data/solvers
check_distribution = _check_distribution


# ---------------------------------------------------------------------- files
_REQUIRED = ("P", "r", "gamma", "rho0")


def load_mdp(path: str | Path) -> tuple[MDP, NDArray[np.float64] | None]:
    """Read an MDP from an ``.npz`` file.

    Arrays: ``P`` (S, A, S), ``r`` (S, A), ``gamma`` (scalar), ``rho0`` (S); optional
    ``nu`` (S, A) and ``x`` (S, d). Returns ``(mdp, nu_or_None)``. Invalid content raises
    the same typed errors as invalid arrays; an unreadable file raises
    :class:`~jepatheory.errors.MDPFileError`.
    """
    path = Path(path)
    if not path.exists():
        raise MDPFileError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        # np.load would fall back to unpickling and report "pickled data": say what it is
        magic = b""
        if path.is_file():
            with path.open("rb") as fh:
                magic = fh.read(6)
        what = "a single .npy array" if magic == b"\x93NUMPY" else "not a zip archive"
        raise MDPFileError(f"{path}: expected an .npz archive of named arrays, got {what}")
    inspect_npz(path)
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises several unrelated types here
        raise MDPFileError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") \
            from None
    if not hasattr(data, "files"):
        raise MDPFileError(f"{path}: expected an .npz archive of named arrays, got a single array")
    with data:
        missing = [k for k in _REQUIRED if k not in data.files]
        if missing:
            raise MDPFileError(f"{path}: missing array(s) {missing}; has {sorted(data.files)}")
        try:
            arrays = {k: data[k] for k in data.files}
        except Exception as exc:
            raise MDPFileError(f"{path}: could not read arrays ({exc})") from None
    for k, v in arrays.items():
        if not isinstance(v, np.ndarray):  # an archive member that is not an .npy array
            raise MDPFileError(f"{path}: member {k!r} is not a numpy array")
        if v.dtype == object or not np.issubdtype(v.dtype, np.number) and v.dtype != bool:
            raise MDPFileError(f"{path}: array {k!r} has non-numeric dtype {v.dtype}")
        if np.issubdtype(v.dtype, np.complexfloating):
            raise MDPFileError(f"{path}: array {k!r} has complex dtype {v.dtype} (must be real)")
    gamma = arrays["gamma"]
    if gamma.size != 1:
        raise DiscountError(f"{path}: gamma must be a scalar, got shape {gamma.shape}")
    mdp = MDP.from_arrays(arrays["P"], arrays["r"], float(gamma.ravel()[0]), arrays["rho0"],
                          x=arrays.get("x"), name=path.stem)
    nu = arrays.get("nu")
    if nu is not None:
        nu = np.asarray(nu, dtype=float)
        if nu.shape != (mdp.n_states, mdp.n_actions):
            raise ShapeError(f"nu: expected shape ({mdp.n_states}, {mdp.n_actions}), "
                             f"got {nu.shape}")
        _check_distribution("nu", nu.ravel(), mdp.n_states * mdp.n_actions)
    return mdp, nu


#: Most members an MDP archive may hold (it needs at most six).
MAX_NPZ_MEMBERS = 64


def inspect_npz(path: str | Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Read every member's ``.npy`` header (declared shape and dtype) and the archive's
    uncompressed sizes *without decompressing any data*, and refuse what cannot be loaded:
    too many members, a member that is not an ``.npy`` array, a non-numeric dtype, a header
    whose shape disagrees with the member's size, or a total (times the working copies of
    :meth:`MDP.from_arrays`) that does not fit in memory (a zip bomb:
    :class:`~jepatheory.errors.ResourceLimitError`). Returns name -> (shape, dtype)."""
    from ._npz import npy_header
    from .limits import check_memory, estimate_npz_member_bytes, format_bytes

    path = Path(path)
    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    total = 0.0
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_NPZ_MEMBERS:
                raise MDPFileError(f"{path}: {len(infos)} archive members (an MDP has at "
                                   f"most 6; limit {MAX_NPZ_MEMBERS})")
            for info in infos:
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if not info.filename.endswith(".npy"):
                    raise MDPFileError(f"{path}: member {info.filename!r} is not an .npy "
                                       "array")
                try:
                    shape, dtype, header = npy_header(zf, info)
                except ValueError as exc:
                    raise MDPFileError(f"{path}: member {name!r} has no valid .npy header "
                                       f"({exc})") from None
                if dtype.hasobject or not (np.issubdtype(dtype, np.number)
                                           or dtype.kind == "b"):
                    raise MDPFileError(f"{path}: array {name!r} has non-numeric dtype {dtype}")
                declared = estimate_npz_member_bytes(shape, dtype.itemsize)
                if declared != info.file_size - header:
                    raise MDPFileError(
                        f"{path}: array {name!r} declares shape {shape} {dtype} "
                        f"({format_bytes(declared)}) but the member holds "
                        f"{format_bytes(max(info.file_size - header, 0))}: corrupt archive")
                total += declared
                out[name] = (tuple(shape), dtype)
    except zipfile.BadZipFile as exc:
        raise MDPFileError(f"{path}: not a readable .npz file ({exc})") from None
    except OSError as exc:
        raise MDPFileError(f"{path}: cannot be read ({exc})") from None
    # the arrays, their float64/CSR conversions and the validation copies: about 4x
    check_memory(4 * total, f"loading {path} ({format_bytes(total)} uncompressed)")
    return out


def save_mdp(path: str | Path, mdp: MDP, nu: ArrayLike | None = None) -> Path:
    """Write ``mdp`` (and optionally ``nu``) in the format :func:`load_mdp` reads."""
    arrays: dict[str, Any] = dict(P=mdp.P_dense(), r=mdp.r, gamma=np.float64(mdp.gamma),
                                  rho0=mdp.rho0)
    if mdp.x is not None:
        arrays["x"] = mdp.x
    if nu is not None:
        arrays["nu"] = np.asarray(nu, dtype=float).reshape(mdp.n_states, mdp.n_actions)
    path = Path(path)
    np.savez_compressed(path, **arrays)
    return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")
