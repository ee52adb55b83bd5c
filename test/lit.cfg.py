# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "PARTITA"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py",
                   "unit"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.partita_obj_root, "test")

config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%src_root", config.partita_src_root))
config.substitutions.append(("%obj_root", config.partita_obj_root))
config.substitutions.append(("%onnx_testdata", "/usr/share/libonnx-testdata/data"))

llvm_config.use_default_substitutions()
tool_dirs = [os.path.join(config.partita_obj_root, "bin"), config.llvm_tools_dir]
tools = ["partita-opt", "partita", "FileCheck", "not", "count", "split-file", "mlir-translate"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# CUDA: `cuda-toolkit` when ptxas is there (kernels compile to cubin),
# `cuda-device` when the driver sees a GPU (CUDA tests run); without one,
# tests that run on the GPU are UNSUPPORTED and those that check the
# "no CUDA device" diagnostic run instead.
# `cuda-multi-device` with two or more (NCCL runs one rank per GPU).
def _cuda_device_count():
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0
    return count.value

_cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
if os.path.exists(os.path.join(_cuda_home, "bin", "ptxas")):
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%ptxas", os.path.join(_cuda_home, "bin", "ptxas")))
_cuda_devices = _cuda_device_count()
if _cuda_devices > 0:
    config.available_features.add("cuda-device")
if _cuda_devices > 1:
    config.available_features.add("cuda-multi-device")
