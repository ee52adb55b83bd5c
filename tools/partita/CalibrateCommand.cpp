//===- CalibrateCommand.cpp - `partita calibrate` ---------------------------===//
//
//   partita calibrate [-o FILE.json] [--ranks N] [--name NAME] [--quick]
//
// Measures this machine and writes a cluster preset (cluster/*.json format):
//
//  * The launcher (the process the user started) checks the flags and starts
//    N ranks with the launcher of `partita run --mesh`
//    (relaunchUnderMpirun: mpirun binds each rank to a core, as in real runs).
//  * Every rank, at the same time (each start behind a barrier), times
//    GEMMs through partita_contract_f32/f64 -- the call the CPU backend's
//    compiled code makes, so the same OpenBLAS with the runtime's thread
//    count -- and a streaming triad, then the collectives through the
//    runtime's C ABI (partita_all_reduce, ...: the functions compiled modules
//    call) at several message sizes. Rank 0 writes the raw timings to a file
//    named by the launcher.
//  * The launcher fits alpha and beta (lib/Planner/Calibration.cpp), prints
//    a table, and writes the preset, which it reads back with the cluster
//    loader before saying it is done.
//
// Per-device numbers are the slowest rank's best repetition: an SPMD step
// waits for its slowest device.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "partita/Planner/Calibration.h"
#include "partita/Planner/Cluster.h"
#include "partita/Planner/CostModel.h"
#include "partita/Runtime/Contraction.h"
#ifdef PARTITA_HAVE_DISTRIBUTED
#include "partita/Distributed/Distributed.h"
#include "partita/Runtime/CollectivesABI.h"
#include <mpi.h>
#endif

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <unistd.h>

namespace cl = llvm::cl;
using namespace partita;

static cl::SubCommand calibrateCmd("calibrate",
                                   "Measure this machine and write a cluster preset");
static cl::opt<std::string> calOutput("o", cl::desc("Write the preset to FILE (default: print it)"),
                                      cl::value_desc("file"), cl::sub(calibrateCmd));
static cl::opt<int> calRanks("ranks", cl::desc("MPI ranks (devices) to time the collectives on"),
                             cl::init(2), cl::sub(calibrateCmd));
static cl::opt<std::string> calName("name", cl::desc("Preset name (default: the -o file's stem)"),
                                    cl::sub(calibrateCmd));
static cl::opt<bool> calQuick("quick",
                              cl::desc("Small sizes and few repetitions (seconds; for tests)"),
                              cl::sub(calibrateCmd));

bool partita::tools::calibrateSelected() { return static_cast<bool>(calibrateCmd); }

namespace {

int fail(const llvm::Twine &msg) {
  llvm::errs() << "partita: error: " << msg << "\n";
  return 1;
}

#ifdef PARTITA_HAVE_DISTRIBUTED

constexpr const char *kRawEnv = "PARTITA_CALIBRATE_RAW";
constexpr int kMaxRanks = 256;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// What the ranks measure; sizes from --quick.
struct Sizes {
  int64_t gemm;         ///< M = N = K
  int gemmReps;
  int64_t triadElems;   ///< doubles per array
  int triadReps;
  std::vector<int64_t> messageBytes;
  int batches;
  int64_t batchBytes;   ///< iterations per batch = clamp(batchBytes / S, 1, maxIters)
  int maxIters;
};

Sizes sizesFor(bool quick) {
  Sizes s;
  s.gemm = quick ? 384 : 2048;
  s.gemmReps = 3;
  s.triadElems = int64_t(1) << 22; // 32 MiB per array: past the caches
  s.triadReps = quick ? 3 : 5;
  for (int64_t b = 1024; b <= (quick ? (int64_t(256) << 10) : (int64_t(16) << 20)); b *= 4)
    s.messageBytes.push_back(b);
  s.batches = quick ? 3 : 5;
  s.batchBytes = quick ? int64_t(1) << 20 : int64_t(8) << 20;
  s.maxIters = quick ? 20 : 100;
  return s;
}

std::string cpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      if (pos != std::string::npos) {
        std::string m = line.substr(pos + 1);
        m.erase(0, m.find_first_not_of(' '));
        return m;
      }
    }
  return "CPU";
}

std::string today() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::localtime(&t));
  return buf;
}

//===--- on the ranks -----------------------------------------------------===//

/// A rank-2 memref descriptor {allocated, aligned, offset, sizes, strides}.
struct Desc2 {
  int64_t w[7];
  Desc2(void *p, int64_t rows, int64_t cols) : w{(int64_t)p, (int64_t)p, 0, rows, cols, cols, 1} {}
};

/// Best FLOP/s of C += A*B (n x n) over `reps`, through the CPU backend's
/// contraction entry point (loops m=0, n=1, k=2; nibble maps A[m,k], B[k,n],
/// C[m,n]). Every rank starts each repetition together.
template <typename T>
double timeGemm(int64_t n, int reps, void (*contract)(int64_t, void *, int64_t, void *, int64_t,
                                                       void *, int64_t, int64_t, int64_t, int64_t)) {
  std::vector<T> a(n * n), b(n * n), c(n * n, 0);
  for (int64_t i = 0; i < n * n; ++i) {
    a[i] = T((i % 7) * 0.25);
    b[i] = T((i % 5) * 0.5);
  }
  Desc2 da(a.data(), n, n), db(b.data(), n, n), dc(c.data(), n, n);
  double best = 0;
  for (int r = 0; r <= reps; ++r) { // the first is a warm-up
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = now();
    contract(2, da.w, 2, db.w, 2, dc.w, 3, 0x20, 0x12, 0x10);
    double dt = now() - t0;
    if (r > 0)
      best = std::max(best, 2.0 * n * n * n / dt);
  }
  return best;
}

/// Best bytes/s of a[i] = b[i] + s * c[i] (3 arrays of doubles counted once
/// each: read b and c, write a), single-threaded like the compiled loops.
double timeTriad(int64_t n, int reps) {
  std::vector<double> a(n, 0), b(n, 1), c(n, 2);
  double best = 0, s = 0.5;
  for (int r = 0; r <= reps; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = now();
    double *pa = a.data();
    const double *pb = b.data(), *pc = c.data();
    for (int64_t i = 0; i < n; ++i)
      pa[i] = pb[i] + s * pc[i];
    double dt = now() - t0;
    if (r > 0)
      best = std::max(best, 3.0 * n * sizeof(double) / dt);
    s += a[r % n] * 1e-9; // a data dependence, so no repetition is skipped
  }
  return best;
}

/// Seconds per call (best batch) of one collective on S bytes over the group
/// of every rank; S as the cost model counts it (docs/planner.md).
double timeCollective(const std::string &kind, int64_t bytes, int ranks, int group,
                      const Sizes &sz) {
  int64_t count = bytes / 4 / ranks * ranks; // f32 elements of the full tensor
  std::vector<float> in(count, 1.0f), out(count, 0.0f);
  int64_t per = count / ranks;
  auto once = [&] {
    if (kind == "all_reduce")
      partita_all_reduce(in.data(), out.data(), count, PARTITA_F32, PARTITA_SUM, group);
    else if (kind == "all_gather")
      partita_all_gather(in.data(), out.data(), 1, per, PARTITA_F32, group);
    else if (kind == "reduce_scatter")
      partita_reduce_scatter(in.data(), out.data(), 1, per, PARTITA_F32, PARTITA_SUM, group);
    else
      partita_all_to_all(in.data(), out.data(), 1, per, 1, per, PARTITA_F32, group);
  };
  int iters = (int)std::clamp<int64_t>(sz.batchBytes / std::max<int64_t>(bytes, 1), 1,
                                       sz.maxIters);
  double best = 1e30;
  for (int b = 0; b <= sz.batches; ++b) { // the first is a warm-up
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = now();
    for (int i = 0; i < iters; ++i)
      once();
    double dt = (now() - t0) / iters;
    if (b > 0)
      best = std::min(best, dt);
  }
  return best;
}

const char *const kKinds[] = {"all_reduce", "all_gather", "reduce_scatter", "all_to_all"};

/// One rank's part. Rank 0 writes the raw timings (JSON) to `rawFile`.
int runRank(int ranks, const std::string &rawFile) {
  std::vector<int64_t> mesh = {ranks};
  char initError[512];
  if (partita_runtime_init(mesh.data(), 1, initError, sizeof initError))
    return fail(initError);
  int rank = partita_runtime_rank();
  int32_t axis = 0;
  int group = partita_runtime_add_group(&axis, 1);
  Sizes sz = sizesFor(calQuick);
  int threads = partita_set_num_threads(partita_configured_num_threads());
  bool blas = partita_have_blas();
  int64_t gemmN = blas ? sz.gemm : 256; // reference loops: a size that ends

  double mine[3] = {timeGemm<float>(gemmN, sz.gemmReps, partita_contract_f32),
                    timeGemm<double>(gemmN, sz.gemmReps, partita_contract_f64),
                    timeTriad(sz.triadElems, sz.triadReps)};
  std::vector<double> perRank(rank == 0 ? 3 * ranks : 0);
  MPI_Gather(mine, 3, MPI_DOUBLE, perRank.data(), 3, MPI_DOUBLE, 0, MPI_COMM_WORLD);

  llvm::json::Array samples;
  for (const char *kind : kKinds)
    for (int64_t bytes : sz.messageBytes) {
      double t = timeCollective(kind, bytes, ranks, group, sz), slowest = 0;
      MPI_Reduce(&t, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
      int64_t count = bytes / 4 / ranks * ranks;
      samples.push_back(llvm::json::Object{
          {"kind", kind}, {"bytes", count * 4}, {"seconds", slowest}});
    }
  partita_runtime_shutdown();
  if (rank != 0)
    return 0;

  llvm::json::Array gemmRanks, triadRanks;
  for (int r = 0; r < ranks; ++r) {
    gemmRanks.push_back(llvm::json::Array{perRank[3 * r], perRank[3 * r + 1]});
    triadRanks.push_back(perRank[3 * r + 2]);
  }
  llvm::json::Object raw{{"ranks", ranks},
                         {"threads", threads},
                         {"blas", blas},
                         {"gemm_n", gemmN},
                         {"gemm_reps", sz.gemmReps},
                         {"gemm_flops", std::move(gemmRanks)},
                         {"triad_bytes", 3 * sz.triadElems * (int64_t)sizeof(double)},
                         {"triad_reps", sz.triadReps},
                         {"triad_bytes_per_s", std::move(triadRanks)},
                         {"batches", sz.batches},
                         {"samples", std::move(samples)}};
  std::error_code ec;
  llvm::raw_fd_ostream os(rawFile, ec);
  if (ec)
    return fail("cannot write '" + rawFile + "': " + ec.message());
  os << llvm::json::Value(std::move(raw));
  return 0;
}

//===--- in the launcher --------------------------------------------------===//

/// Whether `path` can be written (without creating or truncating it).
bool writable(llvm::StringRef path, std::string &why) {
  if (llvm::sys::fs::is_directory(path)) {
    why = "is a directory";
    return false;
  }
  if (llvm::sys::fs::exists(path)) {
    if (llvm::sys::fs::access(path, llvm::sys::fs::AccessMode::Write)) {
      why = "permission denied";
      return false;
    }
    return true;
  }
  llvm::SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  if (!llvm::sys::fs::is_directory(dir)) {
    why = "no such directory '" + dir.str().str() + "'";
    return false;
  }
  if (llvm::sys::fs::access(dir, llvm::sys::fs::AccessMode::Write)) {
    why = "directory '" + dir.str().str() + "' is not writable";
    return false;
  }
  return true;
}

std::string gflops(double f) { return llvm::formatv("{0:f1} GF/s", f / 1e9).str(); }
std::string gbs(double b) { return llvm::formatv("{0:f2} GB/s", b / 1e9).str(); }

/// Reads the ranks' timings, fits, prints, writes.
int finish(const std::string &rawFile, int ranks) {
  auto buf = llvm::MemoryBuffer::getFile(rawFile);
  if (!buf)
    return fail("the ranks wrote no timings (" + rawFile + ")");
  auto parsed = llvm::json::parse((*buf)->getBuffer());
  if (!parsed)
    return fail("the ranks' timings are not valid JSON: " + llvm::toString(parsed.takeError()));
  const llvm::json::Object &raw = *parsed->getAsObject();
  planner::Calibration cal;
  cal.ranks = ranks;
  cal.threads = (int)raw.getInteger("threads").value_or(1);
  int64_t gemmN = raw.getInteger("gemm_n").value_or(0);
  int64_t gemmReps = raw.getInteger("gemm_reps").value_or(0);
  bool blas = raw.getBoolean("blas").value_or(false);
  cal.name = !calName.empty() ? calName.getValue()
             : !calOutput.empty() ? llvm::sys::path::stem(calOutput).str()
                                  : std::string("calibrated");
  std::string cpu = cpuModel();
  cal.deviceName = cpu + " (one MPI rank, " + std::to_string(cal.threads) + " BLAS threads)";
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  cal.memoryBytes = (double)pages * page / ranks;
  cal.description = "This machine as measured by `partita calibrate --ranks " +
                    std::to_string(ranks) + (calQuick ? " --quick" : "") + "` on " + today() +
                    ": one device = one MPI rank (mpirun binds each to a core), " +
                    std::to_string(ranks) + " ranks talking through shared memory.";

  llvm::outs() << "partita calibrate: " << ranks << " ranks on " << cpu << ", "
               << cal.threads << " BLAS threads per rank"
               << (blas ? " (OpenBLAS)" : " (no BLAS: reference loops)")
               << "; every rank measures at the same time; per device = the slowest rank\n";
  const auto *gemm = raw.getArray("gemm_flops");
  const auto *triad = raw.getArray("triad_bytes_per_s");
  if (!gemm || !triad || (int)gemm->size() != ranks || (int)triad->size() != ranks)
    return fail("the ranks' timings are incomplete");
  const char *dtypes[] = {"f32", "f64"}, *routines[] = {"sgemm", "dgemm"};
  for (int d = 0; d < 2; ++d) {
    double slowest = 1e300;
    std::string perRank;
    for (int r = 0; r < ranks; ++r) {
      double f = (*(*gemm)[r].getAsArray())[d].getAsNumber().value_or(0);
      slowest = std::min(slowest, f);
      perRank += (r ? ", " : "") + llvm::formatv("{0:f1}", f / 1e9).str();
    }
    cal.peakFlops[dtypes[d]] = slowest;
    cal.flopsSource[dtypes[d]] =
        llvm::formatv("{0} {1}x{1}x{1} through partita_contract_{2} (the CPU backend's BLAS "
                      "call), best of {3} on each rank, slowest rank: {4} (ranks: {5} GF/s)",
                      routines[d], gemmN, dtypes[d], gemmReps, gflops(slowest), perRank)
            .str();
    llvm::outs() << llvm::formatv("  {0} {1,4}^3 {2}: {3,12}   (per rank: {4} GF/s)\n",
                                  routines[d], gemmN, dtypes[d], gflops(slowest), perRank);
  }
  {
    double slowest = 1e300;
    std::string perRank;
    for (int r = 0; r < ranks; ++r) {
      double b = (*triad)[r].getAsNumber().value_or(0);
      slowest = std::min(slowest, b);
      perRank += (r ? ", " : "") + llvm::formatv("{0:f2}", b / 1e9).str();
    }
    cal.memoryBandwidth = slowest;
    int64_t bytes = raw.getInteger("triad_bytes").value_or(0);
    cal.bandwidthSource =
        llvm::formatv("triad a = b + s*c over 3 arrays of {0} (one thread per rank), bytes "
                      "read + written, best of {1}, slowest rank: {2} (ranks: {3} GB/s)",
                      planner::formatBytes(bytes / 3), raw.getInteger("triad_reps").value_or(0),
                      gbs(slowest), perRank)
            .str();
    llvm::outs() << llvm::formatv("  triad {0,9}: {1,12}   (per rank: {2} GB/s)\n",
                                  planner::formatBytes(bytes), gbs(slowest), perRank);
  }
  cal.memoryBandwidth = std::max(cal.memoryBandwidth, 1.0);

  // Collectives: one row per size.
  const auto *samples = raw.getArray("samples");
  if (!samples)
    return fail("the ranks' timings have no collectives");
  std::map<int64_t, std::map<std::string, double>> table;
  for (const llvm::json::Value &v : *samples) {
    const auto *o = v.getAsObject();
    planner::CollectiveSample s;
    s.kind = o->getString("kind").value_or("").str();
    s.groupSize = ranks;
    s.bytes = o->getNumber("bytes").value_or(0);
    s.seconds = o->getNumber("seconds").value_or(0);
    cal.samples.push_back(s);
    table[(int64_t)s.bytes][s.kind] = s.seconds;
  }
  llvm::outs() << "  collectives over " << ranks << " ranks (f32, seconds per call, best of "
               << raw.getInteger("batches").value_or(0) << " batches, slowest rank):\n";
  llvm::outs() << llvm::formatv("  {0,10} {1,12} {2,12} {3,14} {4,12}\n", "S", "all_reduce",
                                "all_gather", "reduce_scatter", "all_to_all");
  for (auto &[bytes, row] : table) {
    llvm::outs() << llvm::formatv("  {0,10}", planner::formatBytes((double)bytes));
    int w[] = {12, 12, 14, 12};
    for (int k = 0; k < 4; ++k)
      llvm::outs() << " " << llvm::right_justify(planner::formatSeconds(row[kKinds[k]]), w[k]);
    llvm::outs() << "\n";
  }

  std::string error;
  auto fit = planner::fitCalibration(cal, error);
  if (failed(fit))
    return fail(error);
  llvm::outs() << llvm::formatv(
      "  fit, link 'shm' (all {0} samples, ring factors): alpha = {1} per step, B = {2}; rms "
      "relative error {3:f1}%\n",
      cal.samples.size(), planner::formatSeconds(fit->link.alpha), gbs(fit->link.bandwidth),
      100 * fit->link.rmsRelError);
  for (auto &[kind, k] : fit->kinds)
    llvm::outs() << llvm::formatv("    {0,-14} alpha {1,9}, B {2,10} -> bandwidth_factor "
                                  "{3:f3}, latency_factor {4:f3} (rms {5:f1}%)\n",
                                  kind, planner::formatSeconds(k.fit.alpha), gbs(k.fit.bandwidth),
                                  k.bandwidthFactor, k.latencyFactor, 100 * k.fit.rmsRelError);
  cal.sources.push_back("memory_gb: physical memory / " + std::to_string(ranks) + " ranks");
  cal.sources.push_back("every rank measured at the same time (one core each), so shared "
                        "caches and memory are contended as in a real run");

  std::string text = planner::calibrationPresetJson(cal, *fit);
  // What plan --cluster will read: the loader must accept it.
  if (failed(planner::parseCluster(text, cal.name + ".json", error)))
    return fail("the calibrated preset does not load: " + error);
  if (calOutput.empty()) {
    llvm::outs() << text;
    return 0;
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(calOutput, ec);
  if (ec)
    return fail("cannot write '" + calOutput + "': " + ec.message());
  os << text;
  os.close();
  if (os.has_error())
    return fail("cannot write '" + calOutput + "': " + os.error().message());
  llvm::outs() << "wrote " << calOutput << " (use: partita plan ... --cost --cluster "
               << calOutput << ")\n";
  return 0;
}

#endif // PARTITA_HAVE_DISTRIBUTED

} // namespace

int partita::tools::runCalibrate() {
#ifdef PARTITA_HAVE_DISTRIBUTED
  if (calRanks < 2 || calRanks > kMaxRanks)
    return fail("--ranks must be between 2 and " + std::to_string(kMaxRanks) + " (got " +
                std::to_string(calRanks) + ")");
  if (underLauncher()) {
    const char *raw = std::getenv(kRawEnv);
    if (!raw)
      return fail("calibrate starts its own ranks: run it without mpirun (--ranks N)");
    return runRank(calRanks, raw);
  }
  std::string why;
  if (!calOutput.empty() && !writable(calOutput, why))
    return fail("cannot write '" + calOutput + "': " + why);
  llvm::SmallString<128> rawFile;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("partita-calibrate", "json", fd, rawFile))
    return fail("cannot create a temporary file for the timings");
  llvm::sys::Process::SafelyCloseFileDescriptor(fd);
  ::setenv(kRawEnv, rawFile.c_str(), 1);
  llvm::outs().flush();
  int rc = relaunchUnderMpirun(calRanks, "calibrate --ranks");
  ::unsetenv(kRawEnv);
  if (rc == 0)
    rc = finish(rawFile.str().str(), calRanks);
  llvm::sys::fs::remove(rawFile);
  return rc;
#else
  return fail("calibrate needs the MPI runtime, which this build does not have (install "
              "libopenmpi-dev openmpi-bin and reconfigure)");
#endif
}
