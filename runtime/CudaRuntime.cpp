//===- CudaRuntime.cpp - driver API through dlopen, mgpu* wrappers ---------===//
//
// See CudaRuntime.h. The driver API is declared here (a stable C ABI), so
// nothing of CUDA is needed to build; the versioned entry points (_v2) are
// the ones cuda.h maps the plain names to.
//
//===----------------------------------------------------------------------===//

#include "runtime/CudaRuntime.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <string>

namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
using CUevent = void *;

constexpr int kAttrComputeMajor = 75, kAttrComputeMinor = 76;
constexpr unsigned kStreamNonBlocking = 1, kEventDisableTiming = 2;

struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetAttribute)(int *, int, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*streamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, CUstream, void **, void **);
  CUresult (*memAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*memFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*memAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*memsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*memsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*eventCreate)(CUevent *, unsigned);
  CUresult (*eventDestroy)(CUevent);
  CUresult (*eventRecord)(CUevent, CUstream);
  CUresult (*eventSynchronize)(CUevent);
  CUresult (*getErrorString)(CUresult, const char **);
};

struct State {
  std::mutex mutex;
  bool initialized = false;
  std::string initError;
  Driver cu{};
  CUstream stream = nullptr;
  char chip[16] = "";
  int device = -1;
  std::string error; // the first failure since partita_cuda_error
  std::string reported;
};

State &state() {
  static State s;
  return s;
}

template <typename F> bool load(void *lib, const char *name, F &fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

std::string describe(CUresult r) {
  const char *text = nullptr;
  if (state().cu.getErrorString)
    state().cu.getErrorString(r, &text);
  return text ? std::string(text) : "CUDA error " + std::to_string(r);
}

/// Records a failed call; true when it succeeded.
bool check(CUresult r, const char *what) {
  if (r == 0)
    return true;
  partita::cuda::fail((std::string(what) + ": " + describe(r)).c_str());
  return false;
}

std::string initialize(int device) {
  State &s = state();
  void *lib = nullptr;
  for (const char *name : {"libcuda.so.1", "libcuda.so"})
    if (!lib)
      lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return "no CUDA device: the CUDA driver (libcuda.so.1) is not installed";
  Driver &d = s.cu;
  bool ok = load(lib, "cuInit", d.init) && load(lib, "cuDeviceGetCount", d.deviceGetCount) &&
            load(lib, "cuDeviceGet", d.deviceGet) &&
            load(lib, "cuDeviceGetAttribute", d.deviceGetAttribute) &&
            load(lib, "cuDevicePrimaryCtxRetain", d.primaryCtxRetain) &&
            load(lib, "cuCtxSetCurrent", d.ctxSetCurrent) &&
            load(lib, "cuStreamCreate", d.streamCreate) &&
            load(lib, "cuStreamSynchronize", d.streamSynchronize) &&
            load(lib, "cuStreamWaitEvent", d.streamWaitEvent) &&
            load(lib, "cuModuleLoadData", d.moduleLoadData) &&
            load(lib, "cuModuleUnload", d.moduleUnload) &&
            load(lib, "cuModuleGetFunction", d.moduleGetFunction) &&
            load(lib, "cuLaunchKernel", d.launchKernel) &&
            load(lib, "cuMemAllocAsync", d.memAllocAsync) &&
            load(lib, "cuMemFreeAsync", d.memFreeAsync) &&
            load(lib, "cuMemAllocManaged", d.memAllocManaged) &&
            load(lib, "cuMemFree_v2", d.memFree) &&
            load(lib, "cuMemcpyAsync", d.memcpyAsync) &&
            load(lib, "cuMemsetD32Async", d.memsetD32Async) &&
            load(lib, "cuMemsetD16Async", d.memsetD16Async) &&
            load(lib, "cuEventCreate", d.eventCreate) &&
            load(lib, "cuEventDestroy_v2", d.eventDestroy) &&
            load(lib, "cuEventRecord", d.eventRecord) &&
            load(lib, "cuEventSynchronize", d.eventSynchronize) &&
            load(lib, "cuGetErrorString", d.getErrorString);
  if (!ok)
    return "no CUDA device: the CUDA driver lacks an entry point Partita needs (too old?)";
  if (CUresult r = d.init(0))
    return "no CUDA device: cuInit: " + describe(r);
  int count = 0;
  if (CUresult r = d.deviceGetCount(&count))
    return "no CUDA device: " + describe(r);
  if (count == 0)
    return "no CUDA device: the driver sees no GPU";
  if (device < 0 || device >= count)
    return "no CUDA device " + std::to_string(device) + ": the driver sees " +
           std::to_string(count);
  CUdevice dev;
  CUcontext ctx;
  int major = 0, minor = 0;
  if (CUresult r = d.deviceGet(&dev, device))
    return "cannot open CUDA device " + std::to_string(device) + ": " + describe(r);
  d.deviceGetAttribute(&major, kAttrComputeMajor, dev);
  d.deviceGetAttribute(&minor, kAttrComputeMinor, dev);
  std::snprintf(s.chip, sizeof s.chip, "sm_%d%d", major, minor);
  if (CUresult r = d.primaryCtxRetain(&ctx, dev))
    return "cannot create a CUDA context: " + describe(r);
  if (CUresult r = d.ctxSetCurrent(ctx))
    return "cannot make the CUDA context current: " + describe(r);
  if (CUresult r = d.streamCreate(&s.stream, kStreamNonBlocking))
    return "cannot create a CUDA stream: " + describe(r);
  s.device = device;
  return "";
}

/// Whether the runtime is usable (initializing device 0 on first use).
bool ready() {
  State &s = state();
  if (!s.initialized) {
    char buf[256];
    if (partita_cuda_init(partita_cuda_default_device(), buf, sizeof buf) != 0)
      return partita::cuda::fail(buf);
  }
  return s.initError.empty() && !partita::cuda::failed();
}

CUdeviceptr dptr(const void *p) { return reinterpret_cast<CUdeviceptr>(p); }

} // namespace

namespace partita::cuda {
bool fail(const char *message) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.error.empty())
    s.error = message;
  return false;
}
bool failed() { return !state().error.empty(); }
} // namespace partita::cuda

extern "C" {

int partita_cuda_init(int device, char *error, size_t errorSize) {
  State &s = state();
  if (!s.initialized) {
    s.initError = initialize(device);
    s.initialized = true;
  }
  if (!s.initError.empty()) {
    if (error && errorSize)
      std::snprintf(error, errorSize, "%s", s.initError.c_str());
    return 1;
  }
  return 0;
}

const char *partita_cuda_chip() { return state().chip; }

int partita_cuda_device() { return state().device; }

int partita_cuda_default_device() {
  for (const char *var : {"PARTITA_CUDA_DEVICE", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                          "SLURM_LOCALID"})
    if (const char *v = std::getenv(var))
      return std::atoi(v);
  return 0;
}

void *partita_cuda_stream() { return state().stream; }

const char *partita_cuda_error() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.error.empty())
    return nullptr;
  s.reported = s.error;
  s.error.clear();
  return s.reported.c_str();
}

void *partita_cuda_alloc(size_t bytes) {
  CUdeviceptr p = 0;
  if (ready() &&
      check(state().cu.memAllocAsync(&p, bytes ? bytes : 1, state().stream), "cuMemAllocAsync"))
    return reinterpret_cast<void *>(p);
  return nullptr;
}

void partita_cuda_free(void *device) {
  if (device && ready())
    check(state().cu.memFreeAsync(dptr(device), state().stream), "cuMemFreeAsync");
}

void partita_cuda_copy_to_device(void *device, const void *host, size_t bytes) {
  if (bytes && ready())
    check(state().cu.memcpyAsync(dptr(device), dptr(host), bytes, state().stream),
          "cuMemcpyAsync (to the device)");
}

void partita_cuda_copy_to_host(void *host, const void *device, size_t bytes) {
  if (bytes && ready() &&
      check(state().cu.memcpyAsync(dptr(host), dptr(device), bytes, state().stream),
            "cuMemcpyAsync (to the host)"))
    partita_cuda_synchronize();
}

void partita_cuda_synchronize() {
  if (ready())
    check(state().cu.streamSynchronize(state().stream), "cuStreamSynchronize");
}

//===- What MLIR's gpu-to-llvm lowering calls -----------------------------===//

CUmodule mgpuModuleLoad(void *data, size_t /*size*/) {
  CUmodule module = nullptr;
  if (ready())
    check(state().cu.moduleLoadData(&module, data), "cuModuleLoadData (the kernels' cubin)");
  return module;
}

void mgpuModuleUnload(CUmodule module) {
  if (module && state().cu.moduleUnload)
    state().cu.moduleUnload(module);
}

CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  CUfunction fn = nullptr;
  if (module && ready())
    check(state().cu.moduleGetFunction(&fn, module, name), "cuModuleGetFunction");
  return fn;
}

void mgpuLaunchKernel(CUfunction fn, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                      intptr_t blockX, intptr_t blockY, intptr_t blockZ, int32_t smem,
                      CUstream stream, void **params, void **extra, size_t /*paramsCount*/) {
  if (!fn || !ready())
    return;
  check(state().cu.launchKernel(fn, gridX, gridY, gridZ, blockX, blockY, blockZ, smem,
                                stream ? stream : state().stream, params, extra),
        "cuLaunchKernel");
}

CUstream mgpuStreamCreate() {
  (void)ready();
  return state().stream;
}

void mgpuStreamDestroy(CUstream) {} // the process's stream lives on

void mgpuStreamSynchronize(CUstream stream) {
  if (ready())
    check(state().cu.streamSynchronize(stream ? stream : state().stream), "cuStreamSynchronize");
}

void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  if (ready())
    check(state().cu.streamWaitEvent(stream, event, 0), "cuStreamWaitEvent");
}

CUevent mgpuEventCreate() {
  CUevent event = nullptr;
  if (ready())
    check(state().cu.eventCreate(&event, kEventDisableTiming), "cuEventCreate");
  return event;
}

void mgpuEventDestroy(CUevent event) {
  if (event && ready())
    check(state().cu.eventDestroy(event), "cuEventDestroy");
}

void mgpuEventSynchronize(CUevent event) {
  if (event && ready())
    check(state().cu.eventSynchronize(event), "cuEventSynchronize");
}

void mgpuEventRecord(CUevent event, CUstream stream) {
  if (event && ready())
    check(state().cu.eventRecord(event, stream), "cuEventRecord");
}

void *mgpuMemAlloc(uint64_t bytes, CUstream stream, bool hostShared) {
  if (!ready())
    return nullptr;
  CUdeviceptr p = 0;
  if (hostShared) {
    check(state().cu.memAllocManaged(&p, bytes ? bytes : 1, /*CU_MEM_ATTACH_GLOBAL=*/1),
          "cuMemAllocManaged");
    return reinterpret_cast<void *>(p);
  }
  check(state().cu.memAllocAsync(&p, bytes ? bytes : 1, stream ? stream : state().stream),
        "cuMemAllocAsync");
  return reinterpret_cast<void *>(p);
}

void mgpuMemFree(void *ptr, CUstream stream) {
  if (ptr && ready())
    check(state().cu.memFreeAsync(dptr(ptr), stream ? stream : state().stream),
          "cuMemFreeAsync");
}

void mgpuMemcpy(void *dst, void *src, size_t bytes, CUstream stream) {
  if (bytes && ready())
    check(state().cu.memcpyAsync(dptr(dst), dptr(src), bytes, stream ? stream : state().stream),
          "cuMemcpyAsync");
}

void mgpuMemset32(void *dst, unsigned value, size_t count, CUstream stream) {
  if (count && ready())
    check(state().cu.memsetD32Async(dptr(dst), value, count, stream ? stream : state().stream),
          "cuMemsetD32Async");
}

void mgpuMemset16(void *dst, unsigned short value, size_t count, CUstream stream) {
  if (count && ready())
    check(state().cu.memsetD16Async(dptr(dst), value, count, stream ? stream : state().stream),
          "cuMemsetD16Async");
}

void mgpuSetDefaultDevice(int32_t device) {
  char buf[256];
  if (partita_cuda_init(device, buf, sizeof buf) != 0)
    partita::cuda::fail(buf);
}

} // extern "C"
