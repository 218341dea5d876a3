// orbitflow probe: the measurement sections. Each writes `"name": {...}` into the open object.
#pragma once

#include "common.cuh"

namespace probe {

struct RunOptions {
  int device = 0;
  bool quick = false;
  ModelShape model;
  // Validation scenarios, "LABEL=CTX:DIST[xCOUNT],CTX:DIST[xCOUNT],…" (distance −1: all on GPU).
  std::vector<std::string> scenarios;
  int steps = 0;  // timed steps per scenario; 0 picks a default
};

// Selects the device (the first CUDA calls: they fail first when there is no driver or device)
// and writes "device" and "host".
void infoSection(Json& j, int device);
// Writes "selfcheck"; returns whether every check passed.
bool selfcheckSection(Json& j);
void bandwidthSection(Json& j, const RunOptions& o);
void kvSection(Json& j, const RunOptions& o);
void decodeSection(Json& j, const RunOptions& o);
void validateSection(Json& j, const RunOptions& o);

}  // namespace probe
