#include "train/dist/LaunchEnv.h"

#include <cstdlib>
#include <limits>

#include "core/Error.h"

namespace seg::dist {

namespace {

int parseInt(const std::string& name, const char* text, int lo, int hi) {
  const std::string value(text);
  size_t used = 0;
  long parsed = 0;
  try {
    parsed = std::stol(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || parsed < lo || parsed > hi) {
    throw InputError("environment: " + name + "='" + value + "' is not an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  }
  return static_cast<int>(parsed);
}

// One bracket group "01-03,07" -> {"01", "02", "03", "07"}, keeping the width of the
// lower bound (Slurm pads to it).
std::vector<std::string> expandRanges(const std::string& ranges, const std::string& list) {
  const auto bad = [&](const std::string& why) {
    return InputError("Slurm host list '" + list + "': " + why);
  };
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= ranges.size()) {
    const size_t comma = ranges.find(',', start);
    const std::string item = ranges.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) throw bad("empty range in [" + ranges + "]");
    const size_t dash = item.find('-');
    const std::string loText = item.substr(0, dash);
    const std::string hiText = dash == std::string::npos ? loText : item.substr(dash + 1);
    for (const auto& t : {loText, hiText}) {
      if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 9) {
        throw bad("'" + item + "' is not a number or a range of numbers");
      }
    }
    const long lo = std::stol(loText);
    const long hi = std::stol(hiText);
    if (hi < lo) throw bad("range '" + item + "' runs backwards");
    if (hi - lo > 100000) throw bad("range '" + item + "' is implausibly long");
    const size_t width = loText.size();
    for (long v = lo; v <= hi; ++v) {
      std::string digits = std::to_string(v);
      if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
      out.push_back(digits);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// "a[1-2]-b[3-4]" -> cartesian product, first group varying slowest.
void expandEntry(const std::string& entry, const std::string& list, std::vector<std::string>& hosts) {
  std::vector<std::string> partial{""};
  size_t pos = 0;
  while (pos < entry.size()) {
    const size_t open = entry.find('[', pos);
    const std::string literal = entry.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    if (literal.find(']') != std::string::npos) {
      throw InputError("Slurm host list '" + list + "': unmatched ']' in '" + entry + "'");
    }
    for (auto& p : partial) p += literal;
    if (open == std::string::npos) break;
    const size_t close = entry.find(']', open);
    if (close == std::string::npos) throw InputError("Slurm host list '" + list + "': unmatched '[' in '" + entry + "'");
    const auto values = expandRanges(entry.substr(open + 1, close - open - 1), list);
    std::vector<std::string> next;
    for (const auto& p : partial)
      for (const auto& v : values) next.push_back(p + v);
    partial.swap(next);
    pos = close + 1;
  }
  for (auto& p : partial) hosts.push_back(std::move(p));
}

}  // namespace

std::vector<std::string> expandSlurmHostList(const std::string& list) {
  std::vector<std::string> hosts;
  std::string entry;
  int depth = 0;
  for (size_t i = 0; i <= list.size(); ++i) {
    const char c = i < list.size() ? list[i] : ',';
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (depth < 0 || depth > 1) throw InputError("Slurm host list '" + list + "': unbalanced brackets");
    if (c == ',' && depth == 0) {
      if (entry.empty()) throw InputError("Slurm host list '" + list + "': empty host name");
      expandEntry(entry, list, hosts);
      entry.clear();
    } else if (c != ' ') {
      entry += c;
    }
  }
  if (depth != 0) throw InputError("Slurm host list '" + list + "': unbalanced brackets");
  return hosts;
}

int slurmDefaultPort(const std::string& jobId) {
  const int id = parseInt("SLURM_JOB_ID", jobId.c_str(), 0, std::numeric_limits<int>::max());
  return 20000 + id % 20000;
}

LaunchEnv launchEnvFromEnvironment(const GetEnv& getenv) {
  const auto get = [&](const char* name) -> std::string {
    const char* v = getenv(name);
    return v ? std::string(v) : std::string();
  };
  const auto has = [&](const char* name) { return !get(name).empty(); };
  LaunchEnv env;
  constexpr int kMaxRanks = 1 << 20;
  if (has("RANK") || has("WORLD_SIZE")) {
    if (!has("RANK") || !has("WORLD_SIZE")) {
      throw InputError(std::string("environment: ") + (has("RANK") ? "RANK" : "WORLD_SIZE") + " is set but " +
                       (has("RANK") ? "WORLD_SIZE" : "RANK") + " is not (torchrun-style launch needs both)");
    }
    env.source = "torchrun";
    env.worldSize = parseInt("WORLD_SIZE", getenv("WORLD_SIZE"), 1, kMaxRanks);
    env.rank = parseInt("RANK", getenv("RANK"), 0, env.worldSize - 1);
    env.localRank = has("LOCAL_RANK") ? parseInt("LOCAL_RANK", getenv("LOCAL_RANK"), 0, kMaxRanks) : 0;
    if (env.worldSize > 1) {
      if (!has("MASTER_ADDR") || !has("MASTER_PORT")) {
        throw InputError("environment: WORLD_SIZE=" + std::to_string(env.worldSize) +
                         " needs MASTER_ADDR and MASTER_PORT (the host and port of rank 0)");
      }
      env.masterAddr = get("MASTER_ADDR");
      env.masterPort = parseInt("MASTER_PORT", getenv("MASTER_PORT"), 1, 65535);
      if (get("TORCHELASTIC_USE_AGENT_STORE") == "True") {
        env.agentStore = true;
        const std::string attempt = has("TORCHELASTIC_RESTART_COUNT") ? get("TORCHELASTIC_RESTART_COUNT") : "0";
        env.storePrefix = "/worker/attempt_" + attempt;
      }
    }
    return env;
  }
  if (has("SLURM_STEP_ID") && has("SLURM_PROCID") && has("SLURM_NTASKS")) {
    env.source = "slurm";
    env.worldSize = parseInt("SLURM_NTASKS", getenv("SLURM_NTASKS"), 1, kMaxRanks);
    env.rank = parseInt("SLURM_PROCID", getenv("SLURM_PROCID"), 0, env.worldSize - 1);
    env.localRank = has("SLURM_LOCALID") ? parseInt("SLURM_LOCALID", getenv("SLURM_LOCALID"), 0, kMaxRanks) : 0;
    if (env.worldSize > 1) {
      if (has("MASTER_ADDR")) {
        env.masterAddr = get("MASTER_ADDR");
      } else {
        // srun's default block distribution puts task 0 on the first node of the step.
        const char* listVar = has("SLURM_STEP_NODELIST") ? "SLURM_STEP_NODELIST" : "SLURM_JOB_NODELIST";
        if (!has(listVar)) {
          throw InputError("environment: Slurm step without SLURM_STEP_NODELIST or SLURM_JOB_NODELIST; set MASTER_ADDR");
        }
        env.masterAddr = expandSlurmHostList(get(listVar)).front();
      }
      if (has("MASTER_PORT")) {
        env.masterPort = parseInt("MASTER_PORT", getenv("MASTER_PORT"), 1, 65535);
      } else if (has("SLURM_JOB_ID")) {
        env.masterPort = slurmDefaultPort(get("SLURM_JOB_ID"));
      } else {
        throw InputError("environment: Slurm step without SLURM_JOB_ID; set MASTER_PORT");
      }
    }
    return env;
  }
  return env;
}

LaunchEnv launchEnvFromEnvironment() {
  return launchEnvFromEnvironment([](const char* name) { return std::getenv(name); });
}

}  // namespace seg::dist
