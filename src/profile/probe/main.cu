// orbitflow probe: one binary, one subcommand per run, one JSON document on stdout.
//
//   probe info | selfcheck | bandwidth | kv | decode | validate | all   [options]
//
// `all` runs info, selfcheck (stopping if a kernel is wrong), bandwidth, kv, decode and, with
// --validate, validate: the document `orbitflow profile` reads (or --probe-output FILE later).
#include <ctime>

#include "sections.cuh"

namespace main_impl {

using namespace probe;

const char* kUsage =
    "usage: probe <subcommand> [options]\n"
    "subcommands:\n"
    "  info        device, driver/runtime, PCIe link, NUMA node\n"
    "  selfcheck   attention, GEMM and gather kernels against CPU references\n"
    "  bandwidth   H2D/D2H pinned and pageable over a size sweep, bidirectional, latency\n"
    "  kv          KV-shaped copies (per-block memcpy, gather kernel) and H2D under decode\n"
    "  decode      per-layer decode time over a batch x context grid, memory bandwidth\n"
    "  validate    decode steps with offloaded layers prefetched on a copy stream\n"
    "  all         info, selfcheck, bandwidth, kv, decode (+ validate with --validate)\n"
    "options:\n"
    "  --device N  --quick  --validate  --steps N  --scenario LABEL=CTX:DIST[xCOUNT],...\n"
    "  --model-id ID --layers N --q-heads N --kv-heads N --head-dim N --hidden N\n"
    "  --intermediate N --tp N --dtype bf16|fp16   (default: Llama-3.1-8B, bf16)\n";

std::string utcNow() {
  char buf[32];
  const time_t t = time(nullptr);
  struct tm tm {};
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace main_impl

int main(int argc, char** argv) {
  using namespace probe;
  using namespace main_impl;
  if (argc >= 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help")) {
    fputs(kUsage, stdout);
    return 0;
  }
  if (argc < 2) failUsage("no subcommand given (info, selfcheck, bandwidth, kv, decode, validate, all)");
  const std::string cmd = argv[1];
  const std::vector<std::string> known = {"info", "selfcheck", "bandwidth", "kv", "decode", "validate", "all"};
  if (std::find(known.begin(), known.end(), cmd) == known.end()) failUsage("unknown subcommand '" + cmd + "'");

  std::vector<std::string> options = modelOptionNames();
  options.insert(options.end(), {"device", "steps", "scenario"});
  const Args args(argc, argv, 2, {"quick", "validate"}, options);
  RunOptions o;
  o.device = (int)args.getInt("device", 0);
  o.quick = args.has("quick");
  o.model = parseModel(args);
  o.scenarios = args.all("scenario");
  o.steps = (int)args.getInt("steps", 0);

  Json j;
  j.beginObject();
  j.kv("schema", kSchema).kv("probe_version", kProbeVersion).kvBool("synthetic", false).kv("subcommand", cmd);
  j.kv("created", utcNow()).kvBool("quick", o.quick);
  j.key("argv").beginArray();
  for (const std::string& a : args.raw()) j.str(a);
  j.endArray();
  writeModel(j, o.model);

  std::vector<std::pair<std::string, double>> timings;
  auto timed = [&](const char* name, const std::function<void()>& f) {
    const double t0 = hostNowMs();
    f();
    timings.emplace_back(name, (hostNowMs() - t0) / 1000.0);
  };

  timed("info", [&] { infoSection(j, o.device); });
  bool checked = true;
  const bool needsCheck = cmd == "selfcheck" || cmd == "all" || cmd == "decode" || cmd == "validate" || cmd == "kv";
  if (needsCheck) timed("selfcheck", [&] { checked = selfcheckSection(j); });
  if (!checked && cmd != "selfcheck") {
    // The kernels disagree with the CPU reference: timing them would measure wrong code.
    j.endObject();
    failWith("selfcheck_failed", "a probe kernel disagrees with its CPU reference; nothing was timed", "selfcheck",
             "report this with the probe output (GPU, driver, nvcc version)", kExitCheck, j.text().substr(1, j.text().size() - 2));
  }
  if (cmd == "bandwidth" || cmd == "all") timed("bandwidth", [&] { bandwidthSection(j, o); });
  if (cmd == "kv" || cmd == "all") timed("kv", [&] { kvSection(j, o); });
  if (cmd == "decode" || cmd == "all") timed("decode", [&] { decodeSection(j, o); });
  if (cmd == "validate" || (cmd == "all" && args.has("validate"))) timed("validate", [&] { validateSection(j, o); });

  j.key("elapsed_s").beginObject();
  for (auto& t : timings) j.kvNum(t.first, t.second);
  j.endObject();
  j.endObject();
  fprintf(stdout, "%s\n", j.text().c_str());
  fflush(stdout);
  if (cmd == "selfcheck" && !checked) return kExitCheck;
  return kExitOk;
}
