"""visualize(plan): which device holds which block of each tensor, and the
collectives per op -- as text, and as a PNG/SVG through matplotlib."""

from __future__ import annotations

import os
from typing import Iterable

from .compiler import Compiled, Plan, TensorSharding


def _fmt_block(block) -> str:
    return "[" + ", ".join(f"{a}:{b}" for a, b in block) + "]"


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _devices(ds: list[int], total: int) -> str:
    if len(ds) == total:
        return f"all {total} devices" if total > 1 else "device 0"
    return "devices " + ",".join(map(str, ds)) if len(ds) > 1 else f"device {ds[0]}"


def render_tensor(t: TensorSharding) -> str:
    shape = "x".join(map(str, t.shape)) or "scalar"
    local = "x".join(map(str, t.local_shape)) or "scalar"
    head = f"{t.name}  {shape}  {t.spec!r}  local {local}"
    if t.unreduced:
        head += f"  partial sums over {', '.join(t.unreduced)}"
    lines = [head]
    for block, ds in t.blocks().items():
        lines.append(f"    {_fmt_block(block):<28} on {_devices(ds, t.mesh.size)}")
    return "\n".join(lines)


def render_text(plan: Plan, tensors: Iterable[str] | None = None) -> str:
    mesh = plan.mesh
    axes = ", ".join(f"{n}={s}" for n, s in mesh.axes.items())
    lines = [f"mesh {axes} ({mesh.size} devices)"]
    for d in range(mesh.size):
        coords = ", ".join(f"{k}={v}" for k, v in mesh.coords(d).items())
        lines.append(f"  device {d}: {coords}")
    lines.append("")
    lines.append("tensors (block of the global tensor each device holds):")
    names = list(tensors) if tensors is not None else list(plan.tensors)
    for n in names:
        lines.append("  " + render_tensor(plan[n]).replace("\n", "\n  "))
    lines.append("")
    comm = plan.reshards
    lines.append(f"collectives: {len(comm)}"
                 + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(plan.counts.items()))})"
                    if comm else ""))
    by_op: dict[str, list] = {}
    for r in comm:
        by_op.setdefault(f"{r.location} [{r.op}]", []).append(r)
    for where, rs in by_op.items():
        lines.append(f"  at {where}:")
        for r in rs:
            shape = "x".join(map(str, r.shape))
            lines.append(f"    {r.collective}{{{', '.join(r.axes)}}} of '{r.tensor}' "
                         f"({shape} {r.dtype}): {r.from_} -> {r.to}; "
                         f"{_fmt_bytes(r.local_bytes)}/device over {r.group_size} devices, "
                         f"~{_fmt_bytes(r.sent_bytes)} sent per device")
    if comm:
        lines.append(f"  total sent per device: ~{_fmt_bytes(plan.communicated_bytes)}")
    return "\n".join(lines) + "\n"


def render_image(plan: Plan, path: str, tensors: Iterable[str] | None = None) -> str:
    """Draws each tensor (its last two dimensions) split into the blocks the
    devices hold, colored by device; PNG or SVG by the file extension."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle
    except ImportError as e:
        raise ImportError("visualize(..., path) needs matplotlib "
                          "(Debian: apt-get install python3-matplotlib)") from e
    names = list(tensors) if tensors is not None else list(plan.tensors)
    if not names:
        raise ValueError("the plan has no tensors to draw")
    cols = min(4, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axs = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    cmap = plt.get_cmap("tab10" if plan.mesh.size <= 10 else "tab20")
    for ax in axs.flat:
        ax.axis("off")
    for ax, name in zip(axs.flat, names):
        t = plan[name]
        shape2 = (list(t.shape) if len(t.shape) >= 2 else [1] + list(t.shape) or [1, 1])[-2:]
        if not shape2:
            shape2 = [1, 1]
        h, w = max(shape2[0], 1), max(shape2[1], 1)
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
        ax.set_aspect("auto")
        ax.axis("on")
        ax.set_xticks([])
        ax.set_yticks([])
        for block, ds in t.blocks().items():
            b2 = list(block[-2:]) if len(block) >= 2 else [(0, 1)] + list(block)
            if len(b2) < 2:
                b2 = [(0, 1), (0, 1)]
            (r0, r1), (c0, c1) = b2
            ax.add_patch(Rectangle((c0, r0), c1 - c0, r1 - r0, facecolor=cmap(ds[0] % 20),
                                   edgecolor="black", alpha=0.6))
            ax.text((c0 + c1) / 2, (r0 + r1) / 2,
                    "d" + ",".join(map(str, ds)) if len(ds) < plan.mesh.size else "all",
                    ha="center", va="center", fontsize=8)
        title = f"{name} {'x'.join(map(str, t.shape))}\n{t.spec!r}"
        if t.unreduced:
            title += f" partial({','.join(t.unreduced)})"
        ax.set_title(title, fontsize=8)
    fig.suptitle(f"mesh {plan.mesh.axes}: {len(plan.reshards)} reshards {plan.counts}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def visualize(plan, path: str | os.PathLike | None = None,
              tensors: Iterable[str] | None = None) -> str:
    """Text rendering of ``plan`` (a Plan or a Compiled result): every
    tensor's blocks per device and the collectives per op. With ``path``
    (.png or .svg) also draws the tensors with matplotlib. Returns the text."""
    if isinstance(plan, Compiled):
        if plan.plan is None:
            raise ValueError("nothing to visualize: the model was compiled without a mesh")
        plan = plan.plan
    if not isinstance(plan, Plan):
        raise TypeError(f"visualize() takes a Plan or a compile() result, got {plan!r}")
    text = render_text(plan, tensors)
    if path is not None:
        render_image(plan, os.fspath(path), tensors)
    return text
