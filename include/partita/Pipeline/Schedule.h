//===- Schedule.h - pipeline schedules as per-rank action lists -*- C++ -*-===//
//
// A pipeline schedule says, for every rank of the pipeline axis, the order
// in which it runs its stages' work on each microbatch: forward (F),
// backward (B: input and weight gradients together), or the backward split
// as zero-bubble schedules need it (I: input gradient, W: weight gradient),
// and the transfers between ranks (send/recv of a stage's activations
// forward, of its input gradient backward).
//
// Stages are *virtual* stages 0..S-1 in model order; `stageRank` places
// them on ranks (S = ranks with one stage per rank; interleaved schedules
// put v chunks on each rank, chunk c of rank r being stage c*p + r; ZB-V
// folds the stages into a V: stage s on rank s for s < p, else 2p-1-s).
//
// The same lists serve three consumers: the verifier (every send has its
// receive, every dependency is met, no deadlock), the simulator (step time,
// bubble, activations in flight on the cost model's per-stage times) and
// the runtime's schedule executor. Formulas and definitions:
// docs/pipeline.md.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_PIPELINE_SCHEDULE_H
#define PARTITA_PIPELINE_SCHEDULE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace partita::pipeline {

/// What a compute action runs of its stage.
enum class Phase : uint8_t {
  Forward,        ///< F
  Backward,       ///< B: input and weight gradients in one action
  BackwardInput,  ///< I: the input gradient only (zero-bubble split)
  BackwardWeight, ///< W: the weight gradient only
};

enum class ActionKind : uint8_t { Compute, Send, Recv };

/// One entry of a rank's list. Send/Recv carry the transfer a compute
/// action produces or consumes: `phase` Forward is the activation stage
/// `stage` sends to `stage + 1` (and `stage + 1` receives: the Recv names
/// the *producing* stage), `phase` Backward/BackwardInput the input gradient
/// stage `stage` sends to `stage - 1`. `peer` is the other rank.
struct Action {
  ActionKind kind = ActionKind::Compute;
  Phase phase = Phase::Forward;
  int microbatch = 0;
  int stage = 0;
  int peer = -1;

  bool operator==(const Action &o) const {
    return kind == o.kind && phase == o.phase && microbatch == o.microbatch &&
           stage == o.stage && peer == o.peer;
  }
};

/// Short form used in listings, diagnostics and schedule files:
/// F3@1 (forward of microbatch 3 on stage 1), B, I, W likewise;
/// sendF3@1>2 (stage 1's activation of microbatch 3 to rank 2),
/// recvF3@1<0 (received from rank 0), sendB3@1>0, recvB3@2<2.
std::string formatAction(const Action &a);

struct Schedule {
  std::string name;
  int ranks = 1;
  int microbatches = 1;
  /// Whether the list has backward actions (training) or forwards only.
  bool training = true;
  /// B is split into I and W.
  bool splitBackward = false;
  std::vector<int> stageRank; ///< rank of each virtual stage
  std::vector<std::vector<Action>> actions; ///< per rank, in execution order

  int numStages() const { return (int)stageRank.size(); }
  /// Stages held by `rank`, in model order.
  std::vector<int> stagesOf(int rank) const;
};

/// The schedules this library generates.
struct ScheduleSpec {
  /// gpipe | 1f1b | interleaved | zb-h1 | zb-h2 | zb-v
  std::string kind = "1f1b";
  int ranks = 1;
  int microbatches = 1;
  int chunks = 1; ///< virtual stages per rank (interleaved: v; zb-v: 2)
  bool training = true;
};

/// Parses a --schedule value: gpipe, 1f1b, interleaved:V (V >= 2), zb-h1,
/// zb-h2, zb-v. Fills kind and chunks; false with a one-line `error`.
bool parseScheduleName(llvm::StringRef text, ScheduleSpec &spec, std::string &error);

/// Per-stage action times for the generators that place work by time
/// (zero-bubble) and for the simulator. Sized numStages(); with a combined
/// backward, B costs backwardInput + backwardWeight.
struct StageCosts {
  std::vector<double> forward, backwardInput, backwardWeight;
  /// Seconds per transfer between two ranks (0: free).
  double transfer = 0;
  /// Uniform stages: F = B(input) = W = 1 (the zero-bubble paper's
  /// assumption; 1F1B's combined B then costs 2).
  static StageCosts uniform(int stages, double f = 1, double bi = 1, double bw = 1);
};

/// Generates the schedule with its transfers inserted (insertTransfers).
/// `costs` (numStages() entries) guide the zero-bubble generators; uniform
/// when empty. nullopt with a one-line `error` when the parameters do not
/// fit the schedule (interleaved needs microbatches % ranks == 0, ...).
std::optional<Schedule> generateSchedule(const ScheduleSpec &spec, std::string &error,
                                         const StageCosts *costs = nullptr);

/// Adds the send after each compute action whose result another rank
/// consumes, and the matching receive right before the consuming action.
/// Existing transfers are kept (a schedule file may give its own).
void insertTransfers(Schedule &schedule);

/// Checks that every stage's work for every microbatch appears once on its
/// rank, every send has its receive (and the reverse), every compute action
/// comes after what it depends on (its rank's earlier actions or a receive),
/// and that executing the lists (sends buffered, receives blocking) ends.
/// false with a one-line `error` naming the rank, action and microbatch.
bool verifySchedule(const Schedule &schedule, std::string &error);

struct SimulationResult {
  double stepTime = 0;   ///< last action's end (all ranks start at 0)
  double idealTime = 0;  ///< the busiest rank's compute time
  /// Largest over ranks of (idle time between the rank's first and last
  /// action) / (its compute time): the fraction a steady stream of steps
  /// loses per rank. GPipe/1F1B: (p-1)/m; interleaved (p-1)/(v m).
  double bubble = 0;
  std::vector<double> busy, idle, start, end; ///< per rank
  /// Peak number of microbatches whose activations a rank holds (a forward
  /// done, its B -- or W when split -- not yet), counted per stage in units
  /// of one stage's activations, summed over the rank's stages and divided
  /// by the rank's stage count: 1F1B's rank 0 holds p, GPipe's m.
  std::vector<double> peakInFlight;
  /// Per rank, the actions with their simulated start and end (traces).
  struct Slot {
    Action action;
    double start, end;
  };
  std::vector<std::vector<Slot>> timeline;
};

/// Executes the lists on `costs` (uniform when null). Requires a verified
/// schedule.
SimulationResult simulateSchedule(const Schedule &schedule, const StageCosts *costs = nullptr);

/// Reads a schedule file (docs/pipeline.md "Schedule files"):
///   {"stage_ranks": [0, 1], "microbatches": 2,
///    "ranks": [["F0", "F1", "B0", "B1"], ["F0", "B0", "F1", "B1"]]}
/// A token is F|B|I|W<microbatch>[@<stage>] (the stage may be left out when
/// the rank holds one) or a transfer as formatAction prints it. Without any
/// transfer in the file they are inserted. nullopt with `error` naming the
/// file position.
std::optional<Schedule> parseScheduleJson(llvm::StringRef text, std::string &error);

/// Writes the lists in the schedule-file format (transfers included).
void printScheduleJson(const Schedule &schedule, llvm::raw_ostream &os);

/// A Chrome trace (chrome://tracing, Perfetto): one process per rank, one
/// complete event per action; times in `timeline` units scaled by
/// `usPerUnit` microseconds.
void writeChromeTrace(const std::vector<std::vector<SimulationResult::Slot>> &timeline,
                      double usPerUnit, llvm::raw_ostream &os);

} // namespace partita::pipeline

#endif // PARTITA_PIPELINE_SCHEDULE_H
