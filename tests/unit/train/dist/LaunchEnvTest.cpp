// Rendezvous variables of torchrun and Slurm, and Slurm's compressed host lists
// (expected expansions as `scontrol show hostnames` prints them).
#include <gtest/gtest.h>

#include <map>

#include "core/Error.h"
#include "support/TestUtil.h"
#include "train/dist/LaunchEnv.h"

namespace seg::dist {
namespace {

using Vars = std::map<std::string, std::string>;

LaunchEnv fromVars(const Vars& vars) {
  return launchEnvFromEnvironment([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string errorFor(const Vars& vars) {
  return test::errorOf([&] { fromVars(vars); });
}

TEST(SlurmHostListTest, ExpandsRangesListsAndPadding) {
  using V = std::vector<std::string>;
  EXPECT_EQ(expandSlurmHostList("localhost"), V({"localhost"}));
  EXPECT_EQ(expandSlurmHostList("node[01-03,07]"), V({"node01", "node02", "node03", "node07"}));
  EXPECT_EQ(expandSlurmHostList("gpu5,node[8-10]"), V({"gpu5", "node8", "node9", "node10"}));
  EXPECT_EQ(expandSlurmHostList("a[1-2]-b[3-4]"), V({"a1-b3", "a1-b4", "a2-b3", "a2-b4"}));
  EXPECT_EQ(expandSlurmHostList("r[098-101].ib"), V({"r098.ib", "r099.ib", "r100.ib", "r101.ib"}));
  EXPECT_EQ(expandSlurmHostList("x[3],y"), V({"x3", "y"}));
}

TEST(SlurmHostListTest, MalformedListsNameTheList) {
  EXPECT_EQ(test::errorOf([] { expandSlurmHostList("node[01-03"); }),
            "Slurm host list 'node[01-03': unbalanced brackets");
  EXPECT_EQ(test::errorOf([] { expandSlurmHostList("node[3-1]"); }),
            "Slurm host list 'node[3-1]': range '3-1' runs backwards");
  EXPECT_EQ(test::errorOf([] { expandSlurmHostList("node[a-b]"); }),
            "Slurm host list 'node[a-b]': 'a-b' is not a number or a range of numbers");
  EXPECT_EQ(test::errorOf([] { expandSlurmHostList("a,,b"); }), "Slurm host list 'a,,b': empty host name");
}

TEST(LaunchEnvTest, NoLauncherMeansOneProcess) {
  const LaunchEnv env = fromVars({});
  EXPECT_FALSE(env.distributed());
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.worldSize, 1);
  EXPECT_EQ(env.source, "none");
}

TEST(LaunchEnvTest, ReadsTorchrunVariables) {
  const LaunchEnv env = fromVars({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"},
                                  {"MASTER_ADDR", "node01"}, {"MASTER_PORT", "29400"}});
  EXPECT_TRUE(env.distributed());
  EXPECT_EQ(env.source, "torchrun");
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.worldSize, 8);
  EXPECT_EQ(env.localRank, 1);
  EXPECT_EQ(env.masterAddr, "node01");
  EXPECT_EQ(env.masterPort, 29400);
  EXPECT_FALSE(env.agentStore);
}

TEST(LaunchEnvTest, TorchrunAgentStoreIsSharedPerAttempt) {
  const LaunchEnv env = fromVars({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1234"},
                                  {"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "2"}});
  EXPECT_TRUE(env.agentStore);
  EXPECT_EQ(env.storePrefix, "/worker/attempt_2");
}

TEST(LaunchEnvTest, ReadsSlurmStepWithMasterFromNodeList) {
  const Vars vars{{"SLURM_STEP_ID", "0"},         {"SLURM_PROCID", "5"},  {"SLURM_NTASKS", "8"},
                  {"SLURM_LOCALID", "1"},         {"SLURM_JOB_ID", "123456"},
                  {"SLURM_JOB_NODELIST", "gpu[07-10]"}};
  const LaunchEnv env = fromVars(vars);
  EXPECT_EQ(env.source, "slurm");
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.worldSize, 8);
  EXPECT_EQ(env.localRank, 1);
  EXPECT_EQ(env.masterAddr, "gpu07");
  EXPECT_EQ(env.masterPort, 20000 + 123456 % 20000);
  // The step's node list wins over the job's; MASTER_ADDR/PORT win over both.
  Vars step = vars;
  step["SLURM_STEP_NODELIST"] = "gpu[09-10]";
  EXPECT_EQ(fromVars(step).masterAddr, "gpu09");
  step["MASTER_ADDR"] = "10.0.0.1";
  step["MASTER_PORT"] = "29500";
  EXPECT_EQ(fromVars(step).masterAddr, "10.0.0.1");
  EXPECT_EQ(fromVars(step).masterPort, 29500);
}

TEST(LaunchEnvTest, SbatchScriptOutsideAStepIsOneProcess) {
  // The batch script itself carries SLURM_PROCID and SLURM_NTASKS but no step id.
  const LaunchEnv env = fromVars({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}, {"SLURM_JOB_NODELIST", "n[1-2]"}});
  EXPECT_FALSE(env.distributed());
}

TEST(LaunchEnvTest, TorchrunVariablesWinOverSlurm) {
  const LaunchEnv env = fromVars({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"},
                                  {"MASTER_PORT", "4000"}, {"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "0"},
                                  {"SLURM_NTASKS", "1"}});
  EXPECT_EQ(env.source, "torchrun");
  EXPECT_EQ(env.rank, 1);
}

TEST(LaunchEnvTest, BadValuesNameTheVariable) {
  EXPECT_EQ(errorFor({{"RANK", "2"}, {"WORLD_SIZE", "2"}}), "environment: RANK='2' is not an integer in [0, 1]");
  EXPECT_EQ(errorFor({{"RANK", "x"}, {"WORLD_SIZE", "2"}}), "environment: RANK='x' is not an integer in [0, 1]");
  EXPECT_EQ(errorFor({{"RANK", "0"}}),
            "environment: RANK is set but WORLD_SIZE is not (torchrun-style launch needs both)");
  EXPECT_EQ(errorFor({{"RANK", "0"}, {"WORLD_SIZE", "2"}}),
            "environment: WORLD_SIZE=2 needs MASTER_ADDR and MASTER_PORT (the host and port of rank 0)");
  EXPECT_EQ(errorFor({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "99999"}}),
            "environment: MASTER_PORT='99999' is not an integer in [1, 65535]");
  EXPECT_EQ(errorFor({{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_JOB_ID", "7"}}),
            "environment: Slurm step without SLURM_STEP_NODELIST or SLURM_JOB_NODELIST; set MASTER_ADDR");
}

}  // namespace
}  // namespace seg::dist
