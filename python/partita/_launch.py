"""Multi-rank runs: the compiled program on one MPI rank per mesh device.

The compiler stays in-process; only the ranks are separate processes, started
exactly as ``partita run --mesh`` starts them (lib/Distributed: the ``partita``
executable relaunches itself under ``mpirun -np N``; each rank partitions the
annotated module, keeps its own blocks of the weights, lowers and runs over
the MPI runtime, and rank 0 gathers the outputs). This module writes the
annotated module and the inputs to a temporary directory, runs that command
and reads the outputs back; a failing rank becomes an ExecutionError carrying
the launcher's one-line diagnostic.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile

from ._errors import ExecutionError

#: Variables that make ``partita`` believe it already is a rank (or that tie
#: it to an outer MPI job); the launcher must start its own ranks.
_LAUNCHER_VARS = ("OMPI_", "PMIX_", "PMI_", "PRTE_")


def partita_executable() -> str:
    """The ``partita`` executable the ranks run: ``$PARTITA_EXE``, the one
    installed with the package (``partita/bin``), the build tree's
    (``<build>/bin`` next to ``<build>/python/partita``), or the first on
    ``PATH``."""
    env = os.environ.get("PARTITA_EXE")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "bin", "partita"),
                      os.path.join(here, os.pardir, os.pardir, "bin", "partita")):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.normpath(candidate)
    found = shutil.which("partita")
    if found:
        return found
    raise ExecutionError(
        "cannot find the partita executable for multi-rank runs (looked in $PARTITA_EXE, "
        f"{os.path.join(here, 'bin')}, the build tree's bin/ and PATH); install it with "
        "`cmake --install <build> --component python`")


def _environment() -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(_LAUNCHER_VARS) or k.startswith("OMPI_ALLOW_RUN_AS_ROOT")}
    return env


def _diagnostic(stderr: str, stdout: str, returncode: int, ranks: int) -> tuple[str, list]:
    """The root cause, one line: the launcher prints the failing rank's line
    first (docs/runtime.md, "Faults"); compiler errors of a rank read
    ``file:line:col: error: ...``. mpirun's own banner is skipped."""
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("partita: error: ") or ": error: " in l]
    seen, unique = set(), []
    for l in errors:
        if l not in seen:
            seen.add(l)
            unique.append(l)
    if unique:
        first = unique[0]
        if first.startswith("partita: error: "):
            first = first[len("partita: error: "):]
        return first, unique
    tail = lines[-1] if lines else (stdout.strip().splitlines() or [""])[-1]
    return (f"the run on {ranks} ranks failed (exit status {returncode})"
            + (f": {tail}" if tail else "")), lines


def _run(cmd: list, ranks: int, cwd: str, timeout: float | None) -> str:
    """Runs a multi-rank ``partita`` command in its own session; its stdout,
    or an ExecutionError with the launcher's one-line diagnostic."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_environment(), cwd=cwd,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise ExecutionError(
            f"the run on {ranks} ranks did not finish within {timeout:g} s; "
            f"all ranks were stopped", [], None) from None
    except BaseException:  # KeyboardInterrupt: leave no rank behind
        _stop(proc)
        raise
    if proc.returncode != 0:
        message, lines = _diagnostic(err, out, proc.returncode, ranks)
        raise ExecutionError(message, lines, proc.returncode)
    return out


def _save_arrays(tmp: str, arrays: list) -> list:
    """The arrays as tmp/input_K.npy, in order; their paths."""
    import numpy as np

    files = []
    for i, a in enumerate(arrays):
        files.append(os.path.join(tmp, f"input_{i}.npy"))
        np.save(files[-1], a)
    return files


def _shardings_flags(tmp: str, mesh, shardings: dict | None) -> list:
    """``--shardings FILE`` with the annotations written as tmp/shardings.json
    (nothing without any)."""
    import json

    if not shardings:
        return []
    path = os.path.join(tmp, "shardings.json")
    with open(path, "w") as f:
        json.dump({"mesh": mesh.axes, "shardings": shardings}, f)
    return ["--shardings", path]


def train_ranks(model_file: str, mesh, flags: list, arrays: list, labels, steps: int, *,
                shardings: dict | None = None, timeout: float | None = 600.0):
    """``partita train MODEL --mesh ...`` for ``steps`` steps on the batch
    ``arrays`` (and ``labels``); returns (losses, {parameter: trained value},
    the command's stdout)."""
    import re

    import numpy as np

    exe = partita_executable()
    ranks = mesh.size
    with tempfile.TemporaryDirectory(prefix="partita-train-") as tmp:
        files = _save_arrays(tmp, arrays)
        weights = os.path.join(tmp, "weights")
        cmd = [exe, "train", model_file, "--mesh", mesh.flag(), "--steps", str(int(steps)),
               "--save-weights", weights] + list(flags)
        if files:
            cmd += ["--inputs", ",".join(files)]
        if labels is not None:
            np.save(os.path.join(tmp, "labels.npy"), labels)
            cmd += ["--labels", os.path.join(tmp, "labels.npy")]
        cmd += _shardings_flags(tmp, mesh, shardings)
        out = _run(cmd, ranks, tmp, timeout)
        losses = [float(m) for m in re.findall(r"^step \d+: loss (\S+)$", out, re.M)]
        params = {f[:-4]: np.load(os.path.join(weights, f)) for f in os.listdir(weights)}
        return losses, params, out


def pipeline_ranks(model_file: str, mesh, flags: list, arrays: list, *,
                   shardings: dict | None = None, collective_timeout: float = 30.0,
                   timeout: float | None = 600.0):
    """``partita run MODEL --mesh ... --pipeline ...`` on the step's input
    ``arrays``; returns (the outputs, the command's stdout)."""
    import numpy as np

    exe = partita_executable()
    with tempfile.TemporaryDirectory(prefix="partita-pipeline-") as tmp:
        files = _save_arrays(tmp, arrays)
        outputs = os.path.join(tmp, "outputs")
        os.mkdir(outputs)
        cmd = [exe, "run", model_file, "--mesh", mesh.flag(), "--outputs", outputs,
               "--print-limit", "0", "--collective-timeout", repr(float(collective_timeout))]
        cmd += list(flags)
        if files:
            cmd += ["--inputs", ",".join(files)]
        cmd += _shardings_flags(tmp, mesh, shardings)
        out = _run(cmd, mesh.size, tmp, timeout)
        count = len([f for f in os.listdir(outputs) if f.startswith("output_")])
        return [np.load(os.path.join(outputs, f"output_{k}.npy")) for k in range(count)], out


def run_ranks(program, mesh, arrays, *, conservative: bool = False,
              collective_timeout: float = 30.0, timeout: float | None = 600.0,
              target: str = "cpu"):
    """Runs ``program`` (a ``_core.Program``) on ``mesh.size`` ranks with the
    converted input ``arrays``; returns the gathered outputs."""
    exe = partita_executable()
    ranks = mesh.size
    with tempfile.TemporaryDirectory(prefix="partita-ranks-") as tmp:
        model = os.path.join(tmp, "model.mlir")
        program.write_model(model)
        inputs = program.write_inputs(tmp, arrays)
        outputs = os.path.join(tmp, "outputs")
        os.mkdir(outputs)
        cmd = [exe, "run", model, "--mesh", mesh.flag(), "--outputs", outputs,
               "--print-limit", "0", "--collective-timeout", repr(float(collective_timeout))]
        if inputs:
            cmd += ["--inputs", ",".join(inputs)]
        if conservative:
            cmd.append("--conservative")
        if target != "cpu":
            cmd += ["--target", target]
        # Its own session: on a timeout the launcher, mpirun and every rank
        # are stopped together.
        _run(cmd, ranks, tmp, timeout)
        return program.read_outputs(outputs)


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.communicate(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
