//===- PlannerLocalClusterTest.cpp - the default cluster (issue 16) -------===//

#include "partita/Planner/Cluster.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <thread>

using namespace partita::planner;

namespace {

/// Points XDG_CONFIG_HOME at a fresh folder for the test's lifetime.
struct ConfigHome {
  llvm::SmallString<128> dir;
  std::string saved;
  bool had = false;
  ConfigHome() {
    if (const char *v = std::getenv("XDG_CONFIG_HOME"))
      saved = v, had = true;
    llvm::sys::fs::createUniqueDirectory("partita-config", dir);
    ::setenv("XDG_CONFIG_HOME", dir.c_str(), 1);
  }
  ~ConfigHome() {
    llvm::sys::fs::remove_directories(dir);
    if (had)
      ::setenv("XDG_CONFIG_HOME", saved.c_str(), 1);
    else
      ::unsetenv("XDG_CONFIG_HOME");
  }
};

TEST(PlannerLocalCluster, DescribesThisMachine) {
  ConfigHome home;
  std::string error, origin;
  auto c = loadClusterOrLocal("", error, origin);
  ASSERT_TRUE(succeeded(c)) << error;
  EXPECT_EQ(c->name, "local");
  EXPECT_NE(origin.find("this machine's CPUs"), std::string::npos) << origin;
  EXPECT_EQ(c->numDevices(), int64_t(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_GT(c->device.flopsFor("f32"), 1e9);  // any core of the last decade
  EXPECT_LT(c->device.flopsFor("f32"), 1e12); // one core, not a GPU
  EXPECT_GT(c->device.memoryBytes, 1e8);
  std::string mapError;
  EXPECT_TRUE(succeeded(c->mapAxes({{"data", c->numDevices()}}, mapError))) << mapError;
}

TEST(PlannerLocalCluster, PrefersTheCalibratedPreset) {
  ConfigHome home;
  llvm::SmallString<128> file(home.dir);
  llvm::sys::path::append(file, "partita");
  llvm::sys::fs::create_directories(file);
  llvm::sys::path::append(file, "cluster.json");
  EXPECT_EQ(localClusterFile(), std::string(file));
  std::ifstream preset(PARTITA_SOURCE_DIR "/cluster/cpu-local.json");
  std::ofstream(std::string(file)) << preset.rdbuf();
  std::string error, origin;
  auto c = loadClusterOrLocal("", error, origin);
  ASSERT_TRUE(succeeded(c)) << error;
  EXPECT_EQ(c->name, "cpu-local");
  EXPECT_NE(origin.find("calibrated"), std::string::npos) << origin;
  // An explicit --cluster wins over both.
  auto h = loadClusterOrLocal("h100x8", error, origin);
  ASSERT_TRUE(succeeded(h)) << error;
  EXPECT_EQ(h->name, "h100x8");
  EXPECT_EQ(origin, "--cluster h100x8");
}

TEST(PlannerLocalCluster, BrokenCalibratedPresetIsAnError) {
  ConfigHome home;
  llvm::SmallString<128> file(home.dir);
  llvm::sys::path::append(file, "partita");
  llvm::sys::fs::create_directories(file);
  llvm::sys::path::append(file, "cluster.json");
  std::ofstream(std::string(file)) << "{\"device\": 1}";
  std::string error, origin;
  EXPECT_TRUE(failed(loadClusterOrLocal("", error, origin)));
  EXPECT_NE(error.find("cluster.json"), std::string::npos) << error;
}

} // namespace
