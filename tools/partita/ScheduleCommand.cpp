//===- ScheduleCommand.cpp - `partita schedule` -----------------------------===//
//
//   partita schedule --schedule 1f1b --ranks P --microbatches M
//                    [--inference] [--times F:I:W | --stage-times F:I:W,...]
//                    [--transfer T]
//                    [--file SCHEDULE.json] [--json] [--trace TRACE.json]
//
// Generates (or reads, --file) a pipeline schedule, verifies it, prints each
// rank's action list and simulates it on uniform (or the given per-stage)
// stage times: step time,
// bubble fraction against the published formula, and the activations each
// rank holds at its peak (lib/Pipeline/Schedule.cpp, docs/pipeline.md).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "partita/Pipeline/Schedule.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;
using namespace partita::pipeline;

static cl::SubCommand scheduleCmd("schedule",
                                  "Generate, verify and simulate a pipeline schedule");
static cl::opt<std::string> schName("schedule",
                                    cl::desc("gpipe, 1f1b, interleaved:V, zb-h1, zb-h2 or zb-v"),
                                    cl::init("1f1b"), cl::sub(scheduleCmd));
static cl::opt<int> schRanks("ranks", cl::desc("Ranks on the pipeline axis"), cl::init(4),
                             cl::sub(scheduleCmd));
static cl::opt<int> schMicrobatches("microbatches", cl::desc("Microbatches per step"),
                                    cl::init(8), cl::sub(scheduleCmd));
static cl::opt<bool> schInference("inference", cl::desc("Forwards only"), cl::sub(scheduleCmd));
static cl::opt<std::string>
    schTimes("times", cl::desc("Time of one stage's F, I (input gradient) and W (weight "
                               "gradient) per microbatch, F:I:W (B = I + W)"),
             cl::init("1:1:1"), cl::sub(scheduleCmd));
static cl::opt<std::string> schStageTimes(
    "stage-times",
    cl::desc("Per stage F:I:W, comma-separated in stage order (unequal stages; overrides "
             "--times)"),
    cl::sub(scheduleCmd));
static cl::opt<double> schTransfer("transfer", cl::desc("Time of one transfer between ranks"),
                                   cl::init(0), cl::sub(scheduleCmd));
static cl::opt<std::string> schFile("file", cl::desc("Read the schedule from a JSON file"),
                                    cl::value_desc("file"), cl::sub(scheduleCmd));
static cl::opt<bool> schJson("json", cl::desc("Print the schedule as a schedule file"),
                             cl::sub(scheduleCmd));
static cl::opt<std::string> schTrace("trace",
                                     cl::desc("Write the simulated timeline as a Chrome trace"),
                                     cl::value_desc("file"), cl::sub(scheduleCmd));

bool partita::tools::scheduleSelected() { return static_cast<bool>(scheduleCmd); }

namespace {

int fail(const llvm::Twine &msg) {
  llvm::errs() << "partita: error: " << msg << "\n";
  return 1;
}

/// The published bubble of a generated schedule on uniform stages
/// (REFERENCES.md "Pipeline schedules"), for comparison.
std::string publishedBubble(const ScheduleSpec &spec, double f, double bi, double bw) {
  double p = spec.ranks, m = spec.microbatches;
  if (!spec.training || spec.kind == "gpipe" || spec.kind == "1f1b")
    return "(p-1)/m = " + llvm::formatv("{0:F4}", (p - 1) / m).str();
  if (spec.kind == "interleaved")
    return "(p-1)/(v m) = " + llvm::formatv("{0:F4}", (p - 1) / (spec.chunks * m)).str();
  if (spec.kind == "zb-h1")
    return "(p-1)(F+I-W)/(m(F+I+W)) = " +
           llvm::formatv("{0:F4}", (p - 1) * (f + bi - bw) / (m * (f + bi + bw))).str();
  return "0";
}

} // namespace

int partita::tools::runSchedule() {
  double f = 1, bi = 1, bw = 1;
  {
    llvm::SmallVector<llvm::StringRef, 3> parts;
    llvm::StringRef(schTimes).split(parts, ':');
    if (parts.size() != 3 || parts[0].getAsDouble(f) || parts[1].getAsDouble(bi) ||
        parts[2].getAsDouble(bw) || f <= 0 || bi <= 0 || bw <= 0)
      return fail("--times '" + schTimes + "': expected F:I:W, three positive numbers");
  }
  // Per stage times (--stage-times): F > 0, I and W >= 0 (a first stage
  // without float inputs has no input gradient).
  StageCosts given;
  if (!schStageTimes.empty()) {
    llvm::SmallVector<llvm::StringRef> stages;
    llvm::StringRef(schStageTimes).split(stages, ',');
    for (llvm::StringRef st : stages) {
      llvm::SmallVector<llvm::StringRef, 3> parts;
      st.split(parts, ':');
      double sf, si, sw;
      if (parts.size() != 3 || parts[0].getAsDouble(sf) || parts[1].getAsDouble(si) ||
          parts[2].getAsDouble(sw) || sf <= 0 || si < 0 || sw < 0)
        return fail("--stage-times '" + st.str() +
                    "': expected F:I:W per stage (F positive, I and W not negative)");
      given.forward.push_back(sf);
      given.backwardInput.push_back(si);
      given.backwardWeight.push_back(sw);
    }
  }
  bool perStage = !given.forward.empty();
  auto costsFor = [&](int stages) {
    StageCosts c = perStage ? given : StageCosts::uniform(stages, f, bi, bw);
    c.transfer = schTransfer;
    return c;
  };
  std::string error;
  ScheduleSpec spec;
  std::optional<Schedule> schedule;
  if (!schFile.empty()) {
    auto buf = llvm::MemoryBuffer::getFile(schFile);
    if (!buf)
      return fail("cannot read '" + schFile + "': " + buf.getError().message());
    schedule = parseScheduleJson((*buf)->getBuffer(), error);
    if (!schedule)
      return fail(schFile + ": " + error);
  } else {
    if (!parseScheduleName(schName, spec, error))
      return fail(error);
    spec.ranks = schRanks;
    spec.microbatches = schMicrobatches;
    spec.training = !schInference;
    StageCosts costs = costsFor(schRanks * spec.chunks);
    if (costs.forward.size() != (size_t)(schRanks * spec.chunks))
      return fail("--stage-times gives " + std::to_string(costs.forward.size()) +
                  " stages; the schedule has " + std::to_string(schRanks * spec.chunks));
    schedule = generateSchedule(spec, error, &costs);
    if (!schedule)
      return fail(error);
  }
  const Schedule &s = *schedule;
  if (!verifySchedule(s, error))
    return fail((schFile.empty() ? "schedule " + s.name : schFile) + ": " + error);
  if (schJson) {
    printScheduleJson(s, llvm::outs());
    return 0;
  }
  llvm::outs() << "schedule " << s.name << ": " << s.ranks << " ranks, " << s.numStages()
               << " stages, " << s.microbatches << " microbatches ("
               << (s.training ? s.splitBackward ? "training, backward split into I and W"
                                                : "training"
                              : "inference")
               << ")\n";
  for (int r = 0; r < s.ranks; ++r) {
    llvm::outs() << "rank " << r << ":";
    for (const Action &a : s.actions[r])
      llvm::outs() << " " << formatAction(a);
    llvm::outs() << "\n";
  }
  llvm::outs() << "verified: every send has its receive, every dependency comes first, "
                  "no deadlock\n";
  StageCosts costs = costsFor(s.numStages());
  if (costs.forward.size() != (size_t)s.numStages())
    return fail("--stage-times gives " + std::to_string(costs.forward.size()) +
                " stages; the schedule has " + std::to_string(s.numStages()));
  SimulationResult sim = simulateSchedule(s, &costs);
  if (perStage) { // the published formulas assume uniform stages: the means
    f = bi = bw = 0;
    for (int st = 0; st < s.numStages(); ++st)
      f += costs.forward[st], bi += costs.backwardInput[st], bw += costs.backwardWeight[st];
    f /= s.numStages(), bi /= s.numStages(), bw /= s.numStages();
  }
  llvm::outs() << "simulated (" << (perStage ? "the given stage times; mean" : "per stage and")
               << " microbatch F " << llvm::format("%g", f) << ", I "
               << llvm::format("%g", bi) << ", W " << llvm::format("%g", bw) << ", transfer "
               << llvm::format("%g", schTransfer.getValue()) << "): step "
               << llvm::format("%.2f", sim.stepTime) << ", ideal "
               << llvm::format("%.2f", sim.idealTime) << ", bubble "
               << llvm::format("%.4f", sim.bubble);
  if (schFile.empty())
    llvm::outs() << " (published: " << publishedBubble(spec, f, bi, bw) << ")";
  llvm::outs() << "\n";
  for (int r = 0; r < s.ranks; ++r) {
    llvm::outs() << "rank " << r << ": busy " << llvm::format("%.2f", sim.busy[r]) << ", idle "
                 << llvm::format("%.2f", sim.idle[r]);
    if (s.training)
      llvm::outs() << ", peak activations " << llvm::format("%.1f", sim.peakInFlight[r])
                   << " microbatches";
    llvm::outs() << "\n";
  }
  if (!schTrace.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(schTrace, ec);
    if (ec)
      return fail("cannot write '" + schTrace + "': " + ec.message());
    // One time unit is shown as a millisecond.
    writeChromeTrace(sim.timeline, 1000, os);
    llvm::outs() << "wrote " << schTrace << "\n";
  }
  return 0;
}
