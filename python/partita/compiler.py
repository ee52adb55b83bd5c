"""compile(): annotations -> propagated plan -> (lowered, JIT-ed) program."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Mapping, Sequence

import numpy as np

from . import _dtypes
from ._errors import CompileError, ExecutionError
from .graph import Graph
from .mesh import Mesh, PartitionSpec, as_mesh
from .model import Model


def _core():
    from . import _core as core
    return core


STAGES = ("imported", "annotated", "propagated", "partitioned", "lowered")
STRATEGIES = ("none", "auto")
#: The cluster the cost model and strategy="auto" assume unless told: this
#: kind of machine, one CPU core per rank (cluster/cpu-local.json).
DEFAULT_CLUSTER = "cpu-local"


class TensorSharding:
    """The propagated layout of one tensor over the mesh."""

    __slots__ = ("name", "shape", "spec", "unreduced", "local_shape", "mesh")

    def __init__(self, d: dict, mesh: Mesh):
        self.name = d["name"]
        self.shape = tuple(d["shape"])
        dims = [None if not a else (a[0] if len(a) == 1 else tuple(a)) for a in d["sharding"]]
        self.spec = PartitionSpec(*dims)
        self.unreduced = tuple(d.get("unreduced", ()))
        self.local_shape = tuple(d["local_shape"])
        self.mesh = mesh

    @property
    def replicated(self) -> bool:
        return not self.spec.axes() and not self.unreduced

    def block(self, device: int) -> tuple[slice, ...]:
        """The part of the (global) tensor device ``device`` holds."""
        coords = self.mesh.coords(device)
        out = []
        for size, local, (axes, _) in zip(self.shape, self.local_shape, self.spec.dims()):
            index = 0
            for a in axes:
                index = index * self.mesh[a] + coords[a]
            out.append(slice(index * local, (index + 1) * local))
        return tuple(out)

    def blocks(self) -> dict[tuple, list[int]]:
        """block (as ((start, stop), ...)) -> devices holding it."""
        out: dict[tuple, list[int]] = {}
        for d in range(self.mesh.size):
            key = tuple((s.start, s.stop) for s in self.block(d))
            out.setdefault(key, []).append(d)
        return out

    def __repr__(self):
        extra = f", unreduced={self.unreduced}" if self.unreduced else ""
        return f"TensorSharding({self.name!r}, {self.shape}, {self.spec!r}{extra})"


class Reshard:
    """A place where a value changes layout: the collective it implies."""

    __slots__ = ("collective", "axes", "tensor", "op", "location", "from_", "to", "origin",
                 "dtype", "shape", "bytes", "local_bytes", "group_size", "sent_bytes")

    def __init__(self, d: dict, sizes: dict):
        self.collective = d["collective"]
        self.axes = tuple(d["axes"])
        self.tensor = d["tensor"]
        self.op = d["op"]
        self.location = d["location"]
        self.from_ = d["from"]
        self.to = d["to"]
        self.origin = d.get("origin", "")
        self.dtype = sizes.get("dtype")
        self.shape = tuple(sizes.get("shape", ()))
        #: the whole tensor's size
        self.bytes = sizes.get("bytes", 0)
        #: each device's buffer before the collective
        self.local_bytes = sizes.get("local_bytes", 0)
        #: devices taking part in one collective
        self.group_size = sizes.get("group_size", 1)
        #: bytes each device sends with ring algorithms (0 for local slices)
        self.sent_bytes = sizes.get("sent_bytes_per_device", 0)

    def __repr__(self):
        return (f"Reshard({self.collective}{{{', '.join(self.axes)}}} of {self.tensor!r} "
                f"at {self.location}: {self.from_} -> {self.to}, {self.local_bytes} B/device)")


class Cost:
    """The cost model's prediction for the partitioned program on a cluster
    (lib/Planner, docs/planner.md): per device, times in seconds, sizes in
    bytes."""

    def __init__(self, report: dict, text: str, note: str = ""):
        self.report = report
        self.cluster: str = report["cluster"]
        self.device: str = report["device"]
        self.devices: int = report["devices"]
        #: compute_time + comm_time
        self.step_time: float = report["step_time_s"]
        #: roofline per op: max(FLOPs / peak, bytes / memory bandwidth)
        self.compute_time: float = report["compute_time_s"]
        #: alpha-beta time of the collectives
        self.comm_time: float = report["comm_time_s"]
        self.flops: float = report["flops_per_device"]
        memory = report["memory"]
        #: parameters + inputs + activations at the peak
        self.peak_memory: float = memory["total_bytes"]
        self.parameter_memory: float = memory["parameters_bytes"]
        self.memory_capacity: float = memory["capacity_bytes"]
        self.fits: bool = memory["fits"]
        #: per layer group: compute_time_s, comm_time_s, flops, collectives, comm_bytes
        self.layers: list[dict] = report["layers"]
        #: each collective: kind, tensor, axes, group_size, bytes, link, time_s
        self.collectives: list[dict] = report["collectives"]
        #: the printed report (`partita plan --cost`)
        self.text = text
        #: set when the mesh has more devices than the cluster (they share)
        self.note = note

    def __str__(self):
        return self.text

    def __repr__(self):
        return (f"Cost({self.cluster}: step {self.step_time:.3g} s = compute "
                f"{self.compute_time:.3g} s + communication {self.comm_time:.3g} s, "
                f"{self.peak_memory / 2**20:.2f} MiB per device)")


class Plan:
    """Per-tensor shardings and the collectives they imply."""

    def __init__(self, mesh: Mesh, plan_json: dict, sizes: list, text: str, program=None,
                 solver: dict | None = None):
        self.mesh = mesh
        self.tensors: dict[str, TensorSharding] = {
            t["name"]: TensorSharding(t, mesh) for t in plan_json.get("tensors", [])}
        self.reshards: list[Reshard] = [Reshard(r, s) for r, s in
                                        zip(plan_json.get("reshards", []), sizes)]
        self.counts: dict[str, int] = dict(plan_json.get("counts", {}))
        self.text = text
        #: strategy="auto": how the solve went (ops, groups, variables,
        #: constraints, status, solve_seconds, predicted_time_s, ...); else None
        self.solver = solver
        self._program = program
        self._cost: Cost | None = None

    @property
    def cost(self) -> Cost | None:
        """Predicted step time (compute and communication) and memory per
        device of the partitioned program on the compile's cluster; computed
        on first use."""
        if self._cost is None and self._program is not None:
            report, text, note = self._program.cost()
            self._cost = Cost(report, text, note)
        return self._cost

    def count(self, collective: str) -> int:
        return sum(1 for r in self.reshards if r.collective == collective)

    @property
    def collectives(self) -> list[Reshard]:
        """The reshards that communicate (local slices excluded)."""
        return [r for r in self.reshards if r.collective != "slice"]

    @property
    def communicated_bytes(self) -> int:
        """Bytes each device sends over all collectives (ring estimate)."""
        return sum(r.sent_bytes for r in self.reshards)

    def __getitem__(self, name: str) -> TensorSharding:
        try:
            return self.tensors[name]
        except KeyError:
            raise KeyError(f"the plan has no tensor {name!r}") from None

    def __str__(self):
        return self.text

    def __repr__(self):
        return (f"Plan(mesh={self.mesh}, {len(self.tensors)} tensors, "
                f"{len(self.reshards)} reshards {self.counts})")


class Compiled:
    """The result of :func:`compile`: ``plan``, ``mlir(stage)``, ``run(inputs)``."""

    def __init__(self, model, kind, source, name, input_shapes, composites, mesh,
                 result, keep, strategy, conservative=False, target="cpu"):
        self.model = model
        self.mesh = mesh
        self.strategy = strategy
        self.target = target
        self._kind, self._source, self._name = kind, source, name
        self._input_shapes, self._composites = input_shapes, composites
        self._result = result
        self._keep = keep  # temporary parameter files
        self._exe = None
        self._program = result.get("program")  # None without a mesh
        self._conservative = conservative
        self._partitioned = None
        self.diagnostics = list(result.get("diagnostics", []))
        if result.get("cluster_note"):
            self.diagnostics.append({"severity": "note", "message": result["cluster_note"],
                                     "location": "", "node": -1, "names": []})
        self.plan: Plan | None = None
        if result.get("has_mesh"):
            self.plan = Plan(mesh, json.loads(result["plan_json"]),
                             result.get("reshard_sizes", []), result["plan_text"],
                             self._program, result.get("solver"))

    @property
    def stages(self) -> tuple[str, ...]:
        return STAGES

    def mlir(self, stage: str = "propagated") -> str:
        """MLIR text after a stage: imported, annotated (with strategy="auto"
        the solver's constraints included), propagated (the same as annotated
        without a mesh), partitioned (the SPMD program every rank runs: local
        shapes, explicit collectives; needs a mesh) or lowered (LLVM dialect
        of the single-device program; compiles on first use). Large
        constants are elided."""
        if stage == "imported":
            return self._result[stage]
        if stage == "annotated":
            return self._result.get("solved", self._result["annotated"])
        if stage == "propagated":
            return self._result.get("propagated", self._result["annotated"])
        if stage == "lowered":
            return self._executable().lowered()
        if stage == "partitioned":
            if self._program is None:
                raise ValueError("the 'partitioned' stage needs a mesh: "
                                 "compile(model, mesh=Mesh({...}))")
            if self._partitioned is None:
                try:
                    self._partitioned = self._program.partitioned()
                except CompileError as e:
                    raise _relocate(e, self.model) from None
            return self._partitioned
        raise ValueError(f"unknown stage {stage!r} (expected one of {', '.join(STAGES)})")

    def _executable(self):
        if self._exe is None:
            try:
                self._exe = _core().Executable(self._kind, self._source, self._name,
                                               self._input_shapes, self._composites,
                                               self.target)
            except CompileError as e:
                raise _relocate(e, self.model) from None
        return self._exe

    @property
    def input_names(self) -> list[str]:
        return [n for n, *_ in self._executable().inputs()]

    @property
    def output_names(self) -> list[str]:
        return [n for n, *_ in self._executable().outputs()]

    def run(self, inputs=None, *, ranks: int = 1, collective_timeout: float = 30.0,
            timeout: float | None = 600.0) -> list[np.ndarray]:
        """Runs the program and returns its outputs as numpy arrays, in order.

        ``inputs``: a dict name -> array, a list in input order, or one array.
        Arrays are converted to the model's dtypes where numpy allows it
        ("same_kind" casting); inputs the importer specialized may be left out.

        ``ranks=1`` runs the whole (unpartitioned) program on one CPU device,
        in-process. ``ranks=N`` (N = the mesh's size) runs the partitioned
        program on N MPI ranks, one per device, through the ``partita``
        executable's launcher (``partita run --mesh``): each rank gets its
        blocks of the inputs and weights, the outputs are gathered whole. A
        failing rank raises ExecutionError with the launcher's one-line
        diagnostic; a collective that waits longer than
        ``collective_timeout`` seconds stops every rank, and the whole run
        is stopped after ``timeout`` seconds (None: no limit).
        """
        if isinstance(ranks, bool) or not isinstance(ranks, int) or ranks < 1:
            raise ValueError(f"ranks must be a positive integer, got {ranks!r}")
        if ranks > 1:
            if self.mesh is None or self._program is None:
                raise ValueError(f"ranks={ranks} needs a mesh of {ranks} devices: "
                                 f"compile(model, mesh=Mesh({{...}}))")
            if ranks != self.mesh.size:
                raise ValueError(f"ranks={ranks} does not match the mesh {self.mesh} of "
                                 f"{self.mesh.size} devices (one rank per device)")
            program = self._program
            try:
                specs, defaults = program.inputs(), program.defaults()
            except CompileError as e:
                raise _relocate(e, self.model) from None
            arrays = _convert_inputs(specs, defaults, inputs)
            from ._launch import run_ranks
            return run_ranks(program, self.mesh, arrays, conservative=self._conservative,
                             collective_timeout=collective_timeout, timeout=timeout,
                             target=self.target)
        exe = self._executable()
        return exe.run(_convert_inputs(exe.inputs(), exe.defaults(), inputs))

    def __repr__(self):
        return (f"Compiled({self._name!r}, mesh={self.mesh}, "
                f"{'plan: ' + repr(self.plan) if self.plan else 'no plan'})")


def _convert_inputs(specs, defaults, inputs) -> list[np.ndarray]:
    """The run() inputs as C-contiguous arrays of the model's dtypes, in order."""
    names = [s[0] for s in specs]
    if inputs is None:
        inputs = {}
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    if isinstance(inputs, Mapping):
        unknown = [k for k in inputs if k not in names]
        if unknown:
            raise ValueError(f"unknown input{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(map(repr, unknown))}; the model takes "
                             f"{', '.join(map(repr, names)) or 'no inputs'}")
        values = [inputs.get(n) for n in names]
    elif isinstance(inputs, Sequence):
        if len(inputs) > len(names):
            raise ValueError(f"the model takes {len(names)} inputs "
                             f"({', '.join(names)}), got {len(inputs)}")
        values = list(inputs) + [None] * (len(names) - len(inputs))
    else:
        raise TypeError("inputs must be a dict of arrays, a list of arrays or an array")
    arrays = []
    for (name, dtype, shape, npname), value, default in zip(specs, values, defaults):
        if value is None:
            if default is None:
                raise ValueError(f"missing input {name!r} ({_dtypes.canonical(dtype)}, "
                                 f"shape {tuple(shape)})")
            value = default
        arr = np.asarray(value)
        want = np.dtype(npname)
        if arr.dtype != want:
            if not np.can_cast(arr.dtype, want, casting="same_kind"):
                raise ValueError(f"input {name!r} has dtype {arr.dtype}, the model "
                                 f"expects {want} ({_dtypes.canonical(dtype)})")
            arr = arr.astype(want)
        if tuple(arr.shape) != tuple(shape):
            raise ValueError(f"input {name!r} has shape {tuple(arr.shape)}, the model "
                             f"expects {tuple(shape)}")
        arrays.append(np.ascontiguousarray(arr))
    return arrays


def _cluster_path(cluster: str) -> str:
    """A preset installed with the package (partita/cluster/NAME.json) when
    there is one; else the name as given (the compiler finds the source
    tree's presets, or reads the file)."""
    if os.path.exists(cluster) or "/" in cluster or cluster.endswith(".json"):
        return cluster
    installed = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cluster",
                             cluster + ".json")
    return installed if os.path.isfile(installed) else cluster


def _source_of(model, keep: list):
    """(kind, source, name, input_shapes, composites) for a Graph or Model."""
    if isinstance(model, Graph):
        tmp = tempfile.TemporaryDirectory(prefix="partita-params-")
        keep.append(tmp)
        doc = model.to_json(param_dir=tmp.name)
        return "json", json.dumps(doc), f"{model.name}.json", {}, False
    if isinstance(model, Model):
        kind, source, name = model._source()
        return kind, source, name, model.input_shapes, model.composites
    raise TypeError(f"compile() takes a partita Graph or Model (load_onnx, from_torch), "
                    f"got {model!r}")


def _model_file(kind: str, source: str, name: str, keep: list, what: str) -> str:
    """The model as a file the ``partita`` executable reads (the ranks'
    launches): a Graph's JSON written next to its parameters (``keep``'s
    last temporary directory), a loaded model's own file."""
    if kind == "json":
        path = os.path.join(keep[-1].name, name)
        with open(path, "w") as f:
            f.write(source)
        return path
    if kind == "file":
        return source
    raise ValueError(f"this model ({kind}) cannot {what} yet: save it as a "
                     f"file (ONNX or JSON) and load it")


def _relocate(e: CompileError, model) -> CompileError:
    """For graphs built in Python, point node diagnostics at the Python line."""
    if isinstance(model, Graph):
        for d in e.diagnostics:
            if d.get("severity") == "error" and d.get("node", -1) > 0:
                site = model.node_callsite(d["node"])
                if site:
                    names = ", ".join(d.get("names", []))
                    return CompileError(e.message, f"{site} ({names})" if names else site,
                                        e.diagnostics)
                break
    return e


TARGETS = ("cpu", "cuda", "cuda-on-cpu")


def compile(model, mesh=None, strategy: str = "none", *, cluster: str = DEFAULT_CLUSTER,
            conservative: bool = False, explain: bool = False,
            solver_time_limit: float = 60.0, loss: str | None = None,
            optimizer: str = "sgd", pipeline: str | None = None, stages=None,
            microbatches: int | None = None, schedule: str = "1f1b", target: str = "cpu",
            attention="auto", experts=None, **training):
    """Compiles ``model`` (a :class:`Graph` or a loaded :class:`Model`).

    With ``loss`` (and ``optimizer`` and the other options of
    :func:`partita.train`) the result is the training step instead: the
    same as ``train(model, loss, optimizer, mesh=mesh, ...)``.

    ``mesh``: a :class:`Mesh` or dict (default: the model's). With a mesh the
    annotations are propagated to every tensor and the plan lists the
    collectives; outputs nobody annotated stay open (any layout, but reduced).
    ``strategy="none"`` uses only the annotations; ``"auto"`` runs the
    auto-planner first: an ILP (GLPK) picks a sharding for every tensor the
    annotations leave open, minimizing the predicted step time within the
    cluster's memory per device; the annotations are kept as constraints.
    ``cluster``: a preset (``cpu-local``, ``h100x8``, ``h100-cluster``,
    ``a100-megatron``) or a cluster JSON file, used by the solver and by
    ``plan.cost``; a mesh larger than the cluster shares its devices.
    ``solver_time_limit``: seconds for the ILP (then its best plan so far).
    ``conservative`` resolves conflicts by the common prefix; ``explain``
    records a remark per reshard in ``diagnostics``.

    ``pipeline`` names the mesh axis whose ranks are pipeline stages
    (docs/pipeline.md): ``stages`` lists the tensors after which a stage
    ends (default: chosen by the cost model), ``microbatches`` counts a
    step's microbatches and ``schedule`` is gpipe, 1f1b, interleaved:V,
    zb-h1 or zb-h2 (zb-* and training schedules with a loss). Without a
    loss the result is a :class:`Pipelined` whose ``run`` takes the step's
    microbatches; with one, the pipelined training step.

    ``target``: ``"cpu"`` (default), ``"cuda"`` (kernels and cuBLAS on the
    GPU, NCCL between ranks; docs/cuda.md; without a GPU ``run`` raises
    ExecutionError "no CUDA device: ...") or ``"cuda-on-cpu"`` (the CUDA
    target's loop mapping run on the CPU, to check it without a GPU).
    Inference only.

    ``attention``: how attention over a split sequence partitions
    (docs/sequence.md): ``"auto"`` (default), ``"gather"``, ``"ulysses"``,
    ``"ring"`` or ``"zigzag"`` (the load-balanced ring, causal attention)
    for every attention, or a dict mapping attention outputs to forms.
    ``plan`` lists each attention's form and why.

    ``experts``: how mixture-of-experts blocks split (docs/experts.md):
    ``None`` (default: as propagation leaves them), a mesh axis for the
    expert dimension, ``{"axis": AXIS, "ffn": AXIS}`` to also split each
    expert FFN's hidden dimension, or ``"auto"``: every assignment priced
    on ``cluster`` and the fastest that fits taken (``plan`` says which).
    """
    forms = ("auto", "gather", "ulysses", "ring", "zigzag")
    per_output = attention if isinstance(attention, dict) else {}
    for form in ([attention] if not per_output else per_output.values()):
        if form not in forms:
            raise ValueError(f"unknown attention form {form!r} (expected one of "
                             f"{', '.join(forms)} or a dict of them by attention output)")
    expert_axis, expert_ffn = "", ""
    if isinstance(experts, dict):
        if set(experts) - {"axis", "ffn"} or not isinstance(experts.get("axis"), str) or \
                not isinstance(experts.get("ffn", ""), str):
            raise ValueError(f"experts={experts!r}: expected a mesh axis, 'auto' or "
                             f"{{'axis': AXIS, 'ffn': AXIS}}")
        expert_axis, expert_ffn = experts["axis"], experts.get("ffn", "")
    elif isinstance(experts, str):
        expert_axis = experts
    elif experts is not None:
        raise ValueError(f"experts={experts!r}: expected a mesh axis, 'auto' or "
                         f"{{'axis': AXIS, 'ffn': AXIS}}")
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (expected one of {', '.join(TARGETS)})")
    if target != "cpu" and (loss is not None or pipeline is not None):
        raise ValueError(f"target={target!r} runs inference without a pipeline; training "
                         f"and pipelines run on the CPU target")
    if experts is not None and (loss is not None or pipeline is not None):
        raise ValueError("experts= applies to inference without a pipeline; training takes "
                         "the \"experts\" key of a shardings file (docs/experts.md)")
    if attention != "auto" and (loss is not None or pipeline is not None):
        raise ValueError("attention forms apply to inference without a pipeline (a training "
                         "step holds attention as primitive ops; docs/sequence.md)")
    if loss is not None and pipeline is not None:
        training.update(pipeline=pipeline, stages=stages, schedule=schedule)
    if loss is not None and microbatches is not None:
        training["microbatches"] = microbatches
    if loss is not None:
        from .training import train
        if mesh is not None or getattr(model, "mesh", None) is not None:
            training.setdefault("mesh", mesh if mesh is not None else model.mesh)
            training.setdefault("strategy", strategy)
            if strategy == "auto":
                training.setdefault("cluster", cluster)
        return train(model, loss, optimizer, **training)
    if training:
        raise TypeError(f"compile() got training options ({', '.join(sorted(training))}) "
                        f"without a loss: compile(model, loss=..., optimizer=...)")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r} (expected 'none' or 'auto')")
    if pipeline is not None:
        if strategy != "none":
            raise ValueError("strategy='auto' with a pipeline is not built yet "
                             "(docs/pipeline.md)")
        return _compile_pipelined(model, mesh, pipeline, stages,
                                  1 if microbatches is None else microbatches, schedule)
    if microbatches is not None or stages is not None:
        raise TypeError("microbatches and stages take a pipeline: "
                        "compile(model, mesh=..., pipeline=AXIS, ...)")
    mesh = as_mesh(mesh) if mesh is not None else getattr(model, "mesh", None)
    annotations = dict(getattr(model, "annotations", {}))
    if annotations and mesh is None:
        first = next(iter(annotations))
        raise CompileError(f"sharding annotations (e.g. on '{first}') need a mesh: "
                           f"compile(model, mesh=Mesh({{...}}))",
                           getattr(model, "name", ""))
    if strategy == "auto" and mesh is None:
        raise CompileError("strategy='auto' needs a mesh: compile(model, "
                           "mesh=Mesh({...}), strategy='auto')", getattr(model, "name", ""))
    keep: list = []
    kind, source, name, input_shapes, composites = _source_of(model, keep)
    specs = [(n, s.dims(), -1 if s.priority is None else s.priority)
             for n, s in annotations.items()]
    try:
        result = _core().plan(kind, source, name, input_shapes,
                              mesh._pairs() if mesh is not None else None, specs,
                              conservative, explain, composites, True, strategy,
                              _cluster_path(cluster), float(solver_time_limit),
                              "" if per_output else attention, per_output,
                              expert_axis, expert_ffn)
    except CompileError as e:
        raise _relocate(e, model) from None
    return Compiled(model, kind, source, name, input_shapes, composites, mesh, result,
                    keep, strategy, conservative, target)


def _compile_pipelined(model, mesh, axis: str, stages, microbatches: int, schedule: str):
    """compile(..., pipeline=AXIS) without a loss (see compile)."""
    from .pipelined import Pipelined
    from .training import _spec_json
    mesh = as_mesh(mesh) if mesh is not None else getattr(model, "mesh", None)
    if mesh is None or axis not in mesh.axes:
        raise ValueError(f"pipeline={axis!r} is not an axis of the mesh "
                         f"{mesh.flag() if mesh is not None else '(none)'}")
    if isinstance(microbatches, bool) or not isinstance(microbatches, int) or microbatches < 1:
        raise ValueError(f"microbatches must be a positive integer, got {microbatches!r}")
    if isinstance(stages, str):
        stages = [stages]
    keep: list = []
    kind, source, name, input_shapes, composites = _source_of(model, keep)
    # The model on one device, its annotations left out: the inputs' names
    # and types.
    try:
        result = _core().plan(kind, source, name, input_shapes, None, [], False, False,
                              composites, True, "none", _cluster_path(DEFAULT_CLUSTER), 60.0)
    except CompileError as e:
        raise _relocate(e, model) from None
    one = Compiled(model, kind, source, name, input_shapes, composites, None, result, keep,
                   "none")
    model_file = _model_file(kind, source, name, keep, "run in a pipeline")
    shardings = {n: _spec_json(s) for n, s in getattr(model, "annotations", {}).items()}
    flags = ["--pipeline", axis, "--stages", ",".join(stages) if stages else "auto",
             "--microbatches", str(microbatches), "--schedule", schedule]
    return Pipelined(model, mesh, one, model_file, flags, shardings, microbatches, keep)
