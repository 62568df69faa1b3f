#pragma once
// Who am I in a multi-process run? Read from the environment a launcher sets:
// torchrun style (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; also what
// `segtrain --nproc N` sets) or a Slurm step started by srun (SLURM_PROCID,
// SLURM_NTASKS, SLURM_LOCALID, the master being the first host of the step's node
// list). No torch here: the app reads it before anything else to set up logging.
#include <functional>
#include <string>
#include <vector>

namespace seg::dist {

struct LaunchEnv {
  int rank = 0;
  int worldSize = 1;
  int localRank = 0;          // rank on this node: the CUDA device index under NCCL
  std::string masterAddr;     // host of rank 0's TCPStore
  int masterPort = 0;
  std::string source = "none";  // none | torchrun | slurm
  // torchrun's elastic agent already serves a TCPStore on MASTER_PORT
  // (TORCHELASTIC_USE_AGENT_STORE=True): every rank is a client, and keys are scoped
  // per restart attempt as torch.distributed's env:// rendezvous does.
  bool agentStore = false;
  std::string storePrefix;    // "" or "/worker/attempt_<n>"
  bool distributed() const { return worldSize > 1; }
};

using GetEnv = std::function<const char*(const char*)>;

// Throws InputError naming the variable for a malformed or inconsistent value
// (e.g. RANK=3 with WORLD_SIZE=2, or WORLD_SIZE > 1 without MASTER_ADDR).
// torchrun variables win over Slurm ones: `segtrain --nproc N` inside a Slurm job
// sets them. Slurm variables count only inside a step (SLURM_STEP_ID set): an
// sbatch script itself also carries SLURM_PROCID=0 and SLURM_NTASKS=N.
LaunchEnv launchEnvFromEnvironment(const GetEnv& getenv);
LaunchEnv launchEnvFromEnvironment();  // the process environment

// Expands Slurm's compressed host list: "node[01-03,07],gpu5" -> node01, node02,
// node03, node07, gpu5 (zero padding kept; several bracket groups per name allowed,
// "a[1-2]-b[3-4]" -> a1-b3, a1-b4, a2-b3, a2-b4 as `scontrol show hostnames` does).
// Throws InputError naming the list when it is malformed.
std::vector<std::string> expandSlurmHostList(const std::string& list);

// The master port of a Slurm job when MASTER_PORT is unset: 20000 + job id mod
// 20000, so that concurrent jobs sharing a node rarely collide.
int slurmDefaultPort(const std::string& jobId);

}  // namespace seg::dist
