"""Device meshes and sharding specs (JAX PartitionSpec / DTensor style).

A :class:`Mesh` names its axes, major to minor: ``Mesh({"data": 2, "model": 2})``
has 4 devices, device ``d`` at coordinates ``divmod(d, 2)``.

A :class:`PartitionSpec` (``P``) has one entry per tensor dimension:

* ``None`` -- replicated (closed: propagation never shards it);
* ``"model"`` -- split over that mesh axis; ``("data", "model")`` -- over
  several axes, major to minor;
* ``OPEN`` (the string ``"?"``) -- open: propagation may choose; an axis
  list ending in ``OPEN`` (``("data", OPEN)``) is split over ``data`` and may
  be split further.

``P(..., priority=0)`` orders conflicting annotations (0 is strongest);
specs without a priority are weaker than any prioritized one.
"""

from __future__ import annotations

import itertools
from typing import Iterable, Mapping

OPEN = "?"


class Mesh:
    """Named device axes with sizes, major to minor."""

    def __init__(self, axes: Mapping[str, int] | Iterable[tuple[str, int]] | None = None,
                 **kwargs: int):
        items = list(axes.items()) if isinstance(axes, Mapping) else list(axes or [])
        items += list(kwargs.items())
        if not items:
            raise ValueError("a Mesh needs at least one axis, e.g. Mesh({'data': 2})")
        seen = set()
        for name, size in items:
            if not isinstance(name, str) or not name or name == OPEN:
                raise ValueError(f"mesh axis names must be non-empty strings, got {name!r}")
            if name in seen:
                raise ValueError(f"mesh axis {name!r} is given twice")
            if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
                raise ValueError(f"mesh axis {name!r} must have a positive integer size, "
                                 f"got {size!r}")
            seen.add(name)
        self._axes = [(str(n), int(s)) for n, s in items]

    @property
    def axes(self) -> dict[str, int]:
        return dict(self._axes)

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self._axes)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(s for _, s in self._axes)

    @property
    def size(self) -> int:
        n = 1
        for _, s in self._axes:
            n *= s
        return n

    def __getitem__(self, axis: str) -> int:
        for n, s in self._axes:
            if n == axis:
                return s
        raise KeyError(f"mesh {self} has no axis {axis!r}")

    def __contains__(self, axis: str) -> bool:
        return any(n == axis for n, _ in self._axes)

    def coords(self, device: int) -> dict[str, int]:
        """The coordinates of device ``device`` (row-major over the axes)."""
        if not 0 <= device < self.size:
            raise IndexError(f"device {device} is not in mesh {self}")
        out = {}
        for name, size in reversed(self._axes):
            device, out[name] = divmod(device, size)
        return {n: out[n] for n, _ in self._axes}

    def devices(self) -> list[dict[str, int]]:
        return [self.coords(d) for d in range(self.size)]

    def _pairs(self) -> list[tuple[str, int]]:
        return list(self._axes)

    def flag(self) -> str:
        """The CLI's spelling, ``data=2,model=2`` (``partita run --mesh``)."""
        return ",".join(f"{n}={s}" for n, s in self._axes)

    def __eq__(self, other) -> bool:
        return isinstance(other, Mesh) and self._axes == other._axes

    def __hash__(self) -> int:
        return hash(tuple(self._axes))

    def __repr__(self) -> str:
        return "Mesh({" + ", ".join(f"{n!r}: {s}" for n, s in self._axes) + "})"


def as_mesh(mesh) -> Mesh | None:
    if mesh is None or isinstance(mesh, Mesh):
        return mesh
    return Mesh(mesh)


class PartitionSpec(tuple):
    """One entry per tensor dimension: None, an axis, a tuple of axes, or OPEN."""

    def __new__(cls, *dims, priority: int | None = None):
        norm = []
        for d in dims:
            if d is None or d == OPEN:
                norm.append(d)
            elif isinstance(d, str):
                norm.append(d)
            elif isinstance(d, (tuple, list)):
                if not all(isinstance(a, str) and a for a in d):
                    raise TypeError(f"a PartitionSpec entry must be None, an axis name, "
                                    f"OPEN or a tuple of axis names, got {d!r}")
                norm.append(tuple(d) if len(d) != 1 else d[0])
            else:
                raise TypeError(f"a PartitionSpec entry must be None, an axis name, OPEN "
                                f"or a tuple of axis names, got {d!r}")
        if priority is not None and (not isinstance(priority, int) or priority < 0):
            raise ValueError(f"priority must be a non-negative integer, got {priority!r}")
        self = super().__new__(cls, norm)
        self.priority = priority
        return self

    def dims(self) -> list[tuple[list[str], bool]]:
        """(axes, open) per dimension, the form the compiler takes."""
        out = []
        for d in self:
            if d is None:
                out.append(([], False))
            elif d == OPEN:
                out.append(([], True))
            elif isinstance(d, str):
                out.append(([d], False))
            else:
                axes = [a for a in d if a != OPEN]
                out.append((axes, OPEN in d))
        return out

    def axes(self) -> list[str]:
        return list(itertools.chain.from_iterable(a for a, _ in self.dims()))

    def __repr__(self) -> str:
        inner = ", ".join("OPEN" if d == OPEN else repr(d) for d in self)
        if self.priority is not None:
            inner += (", " if inner else "") + f"priority={self.priority}"
        return f"P({inner})"

    def __reduce__(self):
        return (_make_spec, (tuple(self), self.priority))

    @staticmethod
    def from_placements(placements, mesh: Mesh, ndim: int,
                        priority: int | None = None) -> "PartitionSpec":
        """DTensor style: one placement per *mesh axis* (``Shard(d)`` or
        ``Replicate()``), as in ``distribute_tensor(t, mesh, [Shard(0)])``."""
        mesh = as_mesh(mesh)
        placements = list(placements)
        if len(placements) != len(mesh.axis_names):
            raise ValueError(f"{len(placements)} placements for a mesh with "
                             f"{len(mesh.axis_names)} axes ({mesh})")
        per_dim: list[list[str]] = [[] for _ in range(ndim)]
        for axis, p in zip(mesh.axis_names, placements):
            if isinstance(p, Shard):
                d = p.dim + ndim if p.dim < 0 else p.dim
                if not 0 <= d < ndim:
                    raise ValueError(f"Shard({p.dim}) for a tensor of rank {ndim}")
                per_dim[d].append(axis)
            elif not isinstance(p, Replicate):
                raise TypeError(f"placements are Shard(dim) or Replicate(), got {p!r}")
        return PartitionSpec(*[None if not a else (a[0] if len(a) == 1 else tuple(a))
                               for a in per_dim], priority=priority)


def _make_spec(dims, priority):
    return PartitionSpec(*dims, priority=priority)


P = PartitionSpec


class Shard:
    """DTensor placement: the tensor dimension ``dim`` is split over a mesh axis."""

    def __init__(self, dim: int):
        self.dim = dim

    def __repr__(self) -> str:
        return f"Shard({self.dim})"


class Replicate:
    """DTensor placement: replicated over a mesh axis."""

    def __repr__(self) -> str:
        return "Replicate()"


def as_spec(spec) -> PartitionSpec:
    """A PartitionSpec from a spec, a list/tuple of entries, or None (a scalar)."""
    if isinstance(spec, PartitionSpec):
        return spec
    if isinstance(spec, (list, tuple)):
        return PartitionSpec(*spec)
    raise TypeError(f"expected a PartitionSpec (P(...)) or a list of per-dimension "
                    f"entries, got {spec!r}")
