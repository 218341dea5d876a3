// orbitflow probe: shared helpers (CUDA error checks, JSON output, timing, arguments, model shape).
//
// Contract with `orbitflow profile` (src/profile/run-probe.ts):
//   stdout  one JSON document: the result, or {"error": {...}} on any failure;
//   stderr  progress lines {"progress": {...}}, one per measured item, plus free-form notes;
//   exit    0 ok, 2 usage, 3 environment (no driver / device / kernel image), 4 other CUDA error,
//           5 a correctness check failed.
#pragma once

#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace probe {

constexpr const char* kProbeVersion = "1";
constexpr const char* kSchema = "orbitflow.probe/v1";
constexpr int kBlockTokens = 16;

enum ExitStatus { kExitOk = 0, kExitUsage = 2, kExitEnvironment = 3, kExitCuda = 4, kExitCheck = 5 };

// ---------------------------------------------------------------------------------------------
// JSON writer: a flat buffer with a stack of "first element" flags. Non-finite numbers become
// null so the output always parses.
// ---------------------------------------------------------------------------------------------
inline std::string jsonEscape(const std::string& s) {
  std::string o;
  o.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char b[8];
          snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o;
}

class Json {
 public:
  Json& beginObject() { open('{'); return *this; }
  Json& endObject() { close('}'); return *this; }
  Json& beginArray() { open('['); return *this; }
  Json& endArray() { close(']'); return *this; }
  Json& key(const std::string& k) {
    sep();
    out_ += '"' + jsonEscape(k) + "\":";
    afterKey_ = true;
    return *this;
  }
  Json& str(const std::string& v) { sep(); out_ += '"' + jsonEscape(v) + '"'; return *this; }
  Json& num(double v) {
    sep();
    if (!std::isfinite(v)) { out_ += "null"; return *this; }
    char b[40];
    snprintf(b, sizeof b, "%.9g", v);
    out_ += b;
    return *this;
  }
  Json& integer(long long v) { sep(); out_ += std::to_string(v); return *this; }
  Json& boolean(bool v) { sep(); out_ += v ? "true" : "false"; return *this; }
  Json& null() { sep(); out_ += "null"; return *this; }
  // Shorthands for "key": value.
  Json& kv(const std::string& k, const std::string& v) { return key(k).str(v); }
  Json& kv(const std::string& k, const char* v) { return key(k).str(v); }
  Json& kvNum(const std::string& k, double v) { return key(k).num(v); }
  Json& kvInt(const std::string& k, long long v) { return key(k).integer(v); }
  Json& kvBool(const std::string& k, bool v) { return key(k).boolean(v); }
  const std::string& text() const { return out_; }

 private:
  std::string out_;
  std::vector<bool> first_;
  bool afterKey_ = false;
  void sep() {
    if (afterKey_) { afterKey_ = false; return; }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  void open(char c) { sep(); out_ += c; first_.push_back(true); }
  void close(char c) { out_ += c; first_.pop_back(); }
};

// ---------------------------------------------------------------------------------------------
// Errors. Every CUDA call goes through CK(...), every kernel launch is followed by CK_LAUNCH().
// On failure the probe prints one JSON error object on stdout (nothing else was printed there:
// results are buffered until the end) and exits.
// ---------------------------------------------------------------------------------------------
inline const char* cudaHint(cudaError_t e) {
  switch (e) {
    case cudaErrorInsufficientDriver:
    case cudaErrorCallRequiresNewerDriver:
      return "the NVIDIA driver is missing or older than this probe's CUDA runtime (CUDA 13 needs driver R580 or newer): "
             "update the driver, or build the probe with an older CUDA toolkit (--nvcc PATH)";
    case cudaErrorNoDevice:
      return "no CUDA device is visible: check nvidia-smi and CUDA_VISIBLE_DEVICES";
    case cudaErrorInvalidDevice:
      return "no CUDA device with that index: check --device and CUDA_VISIBLE_DEVICES";
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
      return "the probe was not built for this GPU's architecture: rerun with --rebuild";
    case cudaErrorMemoryAllocation:
      return "out of GPU or pinned host memory: free the GPU, or use --quick";
    case cudaErrorDevicesUnavailable:
      return "the GPU is busy or in exclusive-process mode: stop the process that holds it";
    case cudaErrorSystemDriverMismatch:
      return "the CUDA driver library and the kernel module differ in version: reboot or reinstall the driver";
    default:
      return "";
  }
}

inline bool isEnvironmentError(cudaError_t e) {
  switch (e) {
    case cudaErrorInsufficientDriver:
    case cudaErrorCallRequiresNewerDriver:
    case cudaErrorNoDevice:
    case cudaErrorInvalidDevice:
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
    case cudaErrorDevicesUnavailable:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
      return true;
    default:
      return false;
  }
}

[[noreturn]] inline void failWith(const std::string& code, const std::string& message, const std::string& call,
                                  const std::string& hint, int exitCode, const std::string& extraJson = "") {
  Json j;
  j.beginObject().key("error").beginObject();
  j.kv("code", code).kv("message", message).kv("call", call).kv("hint", hint);
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);  // both work without a driver; driver reads 0 when none is installed
  cudaDriverGetVersion(&driver);
  j.kvInt("runtime_version", runtime).kvInt("driver_version", driver);
  j.endObject();
  std::string text = j.text();
  if (!extraJson.empty()) text.insert(text.size(), "," + extraJson);
  text += "}";
  fprintf(stdout, "%s\n", text.c_str());
  fflush(stdout);
  exit(exitCode);
}

[[noreturn]] inline void failCuda(cudaError_t e, const char* call, const char* file, int line) {
  char where[256];
  snprintf(where, sizeof where, "%s (%s:%d)", call, file, line);
  failWith(cudaGetErrorName(e), cudaGetErrorString(e), where, cudaHint(e), isEnvironmentError(e) ? kExitEnvironment : kExitCuda);
}

[[noreturn]] inline void failUsage(const std::string& message) {
  failWith("usage", message, "", "run the probe with --help for its subcommands and options", kExitUsage);
}

#define CK(call)                                                  \
  do {                                                            \
    cudaError_t ck_err_ = (call);                                 \
    if (ck_err_ != cudaSuccess) ::probe::failCuda(ck_err_, #call, __FILE__, __LINE__); \
  } while (0)

// A launch error shows at once (bad configuration); an execution error at the next sync.
#define CK_LAUNCH()                                               \
  do {                                                            \
    cudaError_t ck_err_ = cudaGetLastError();                     \
    if (ck_err_ != cudaSuccess) ::probe::failCuda(ck_err_, "kernel launch", __FILE__, __LINE__); \
  } while (0)

// ---------------------------------------------------------------------------------------------
// Progress: one JSON line per item on stderr, read by the orbitflow command for its display.
// ---------------------------------------------------------------------------------------------
inline void progress(const char* stage, int step, int steps, const std::string& what) {
  Json j;
  j.beginObject().key("progress").beginObject();
  j.kv("stage", stage).kvInt("step", step).kvInt("steps", steps).kv("what", what);
  j.endObject().endObject();
  fprintf(stderr, "%s\n", j.text().c_str());
  fflush(stderr);
}

// ---------------------------------------------------------------------------------------------
// Timing.
// ---------------------------------------------------------------------------------------------
inline double hostNowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

struct Samples {
  std::vector<double> v;
  void add(double x) { v.push_back(x); }
  size_t size() const { return v.size(); }
  double median() const {
    if (v.empty()) return NAN;
    std::vector<double> s(v);
    std::sort(s.begin(), s.end());
    size_t n = s.size();
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  }
  double best() const { return v.empty() ? NAN : *std::min_element(v.begin(), v.end()); }
  double sum() const {
    double t = 0;
    for (double x : v) t += x;
    return t;
  }
};

// A pair of events around work enqueued on one stream.
class EventPair {
 public:
  EventPair() { CK(cudaEventCreate(&a_)); CK(cudaEventCreate(&b_)); }
  ~EventPair() { cudaEventDestroy(a_); cudaEventDestroy(b_); }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  void start(cudaStream_t s) { CK(cudaEventRecord(a_, s)); }
  void stop(cudaStream_t s) { CK(cudaEventRecord(b_, s)); }
  float ms() {
    CK(cudaEventSynchronize(b_));
    float t = 0;
    CK(cudaEventElapsedTime(&t, a_, b_));
    return t;
  }
  cudaEvent_t first() const { return a_; }
  cudaEvent_t second() const { return b_; }

 private:
  cudaEvent_t a_{}, b_{};
};

struct RepeatPlan {
  int warmup = 2;
  int minReps = 5;
  int maxReps = 200;
  double minTotalMs = 50;  // keep repeating until this much measured time has accumulated
};

// Times `body` (which enqueues work on `s`) with an event pair per repetition.
inline Samples timeEvents(cudaStream_t s, const RepeatPlan& plan, const std::function<void()>& body) {
  EventPair ev;
  for (int i = 0; i < plan.warmup; ++i) body();
  CK(cudaStreamSynchronize(s));
  Samples out;
  double total = 0;
  while ((int)out.size() < plan.maxReps && ((int)out.size() < plan.minReps || total < plan.minTotalMs)) {
    ev.start(s);
    body();
    ev.stop(s);
    double t = ev.ms();
    out.add(t);
    total += t;
  }
  return out;
}

// Times a synchronous `body` with the host clock (pageable copies, whose staging runs on the CPU).
inline Samples timeHost(const RepeatPlan& plan, const std::function<void()>& body) {
  for (int i = 0; i < plan.warmup; ++i) body();
  Samples out;
  double total = 0;
  while ((int)out.size() < plan.maxReps && ((int)out.size() < plan.minReps || total < plan.minTotalMs)) {
    double t0 = hostNowMs();
    body();
    double t = hostNowMs() - t0;
    out.add(t);
    total += t;
  }
  return out;
}

inline double gibPerS(double bytes, double ms) { return ms > 0 ? bytes / (ms / 1000.0) / (1024.0 * 1024.0 * 1024.0) : NAN; }

// ---------------------------------------------------------------------------------------------
// Deterministic pseudo-random numbers (xorshift64*); the seed goes into the output.
// ---------------------------------------------------------------------------------------------
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed ? seed : 0x9e3779b97f4a7c15ull) {}
  uint64_t next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545f4914f6cdd1dull;
  }
  double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
  // A random permutation of 0..n-1 (Fisher-Yates).
  std::vector<int> permutation(int n) {
    std::vector<int> p(n);
    for (int i = 0; i < n; ++i) p[i] = i;
    for (int i = n - 1; i > 0; --i) std::swap(p[i], p[(int)(next() % (uint64_t)(i + 1))]);
    return p;
  }

 private:
  uint64_t s_;
};

constexpr uint64_t kSeed = 20260110;

// ---------------------------------------------------------------------------------------------
// Arguments: `--key value` pairs and `--flag`s after the subcommand.
// ---------------------------------------------------------------------------------------------
class Args {
 public:
  Args(int argc, char** argv, int first, const std::vector<std::string>& flags, const std::vector<std::string>& options);
  bool has(const std::string& flag) const;
  std::string get(const std::string& key, const std::string& def) const;
  long long getInt(const std::string& key, long long def) const;
  std::vector<std::string> all(const std::string& key) const;
  const std::vector<std::string>& raw() const { return raw_; }

 private:
  std::vector<std::pair<std::string, std::string>> kv_;
  std::vector<std::string> flags_;
  std::vector<std::string> raw_;
};

inline Args::Args(int argc, char** argv, int first, const std::vector<std::string>& flags, const std::vector<std::string>& options) {
  for (int i = 0; i < argc; ++i) raw_.push_back(argv[i]);
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) failUsage("unexpected argument '" + a + "'");
    std::string name = a.substr(2);
    if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
      flags_.push_back(name);
    } else if (std::find(options.begin(), options.end(), name) != options.end()) {
      if (i + 1 >= argc) failUsage("--" + name + " needs a value");
      kv_.emplace_back(name, argv[++i]);
    } else {
      failUsage("unknown option --" + name);
    }
  }
}
inline bool Args::has(const std::string& flag) const { return std::find(flags_.begin(), flags_.end(), flag) != flags_.end(); }
inline std::string Args::get(const std::string& key, const std::string& def) const {
  for (auto it = kv_.rbegin(); it != kv_.rend(); ++it)
    if (it->first == key) return it->second;
  return def;
}
inline long long Args::getInt(const std::string& key, long long def) const {
  std::string v = get(key, "");
  if (v.empty()) return def;
  char* end = nullptr;
  long long n = strtoll(v.c_str(), &end, 10);
  if (!end || *end != '\0') failUsage("--" + key + ": expected an integer, got '" + v + "'");
  return n;
}
inline std::vector<std::string> Args::all(const std::string& key) const {
  std::vector<std::string> out;
  for (auto& p : kv_)
    if (p.first == key) out.push_back(p.second);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Model shape (per tensor-parallel rank) and the KV block layout shared by every kernel:
//
//   block b of the pool, [2][kv_heads][16 tokens][head_dim] elements:
//   ┌──────────── K ────────────┬──────────── V ────────────┐
//   │ head0 t0..t15 │ head1 ... │ head0 t0..t15 │ head1 ... │   each row: head_dim elements
//   └───────────────────────────┴───────────────────────────┘
//   bytes = 2 · kv_heads · head_dim · 2 (16-bit dtype) · 16 — e.g. 64 KiB for Llama-3-8B.
// ---------------------------------------------------------------------------------------------
enum class DType { kBf16, kFp16 };

struct ModelShape {
  std::string id = "llama-3.1-8b";
  int layers = 32;
  int qHeads = 32;   // per rank
  int kvHeads = 8;   // per rank
  int headDim = 128;
  int hidden = 4096;
  int intermediate = 14336;  // per rank
  int tp = 1;
  DType dtype = DType::kBf16;
  int group() const { return qHeads / kvHeads; }
  size_t blockElems() const { return (size_t)2 * kvHeads * kBlockTokens * headDim; }
  size_t blockBytes() const { return blockElems() * 2; }
  size_t tokenLayerBytes() const { return (size_t)2 * kvHeads * headDim * 2; }
  const char* dtypeName() const { return dtype == DType::kBf16 ? "bf16" : "fp16"; }
};

inline const std::vector<std::string>& modelOptionNames() {
  static const std::vector<std::string> names = {"model-id", "layers", "q-heads", "kv-heads", "head-dim", "hidden", "intermediate", "tp", "dtype"};
  return names;
}

inline ModelShape parseModel(const Args& a) {
  ModelShape m;
  m.id = a.get("model-id", m.id);
  m.layers = (int)a.getInt("layers", m.layers);
  int qHeads = (int)a.getInt("q-heads", m.qHeads);
  int kvHeads = (int)a.getInt("kv-heads", m.kvHeads);
  m.headDim = (int)a.getInt("head-dim", m.headDim);
  m.hidden = (int)a.getInt("hidden", m.hidden);
  int inter = (int)a.getInt("intermediate", m.intermediate);
  m.tp = (int)a.getInt("tp", 1);
  std::string dt = a.get("dtype", "bf16");
  if (dt == "bf16" || dt == "bfloat16") m.dtype = DType::kBf16;
  else if (dt == "fp16" || dt == "float16") m.dtype = DType::kFp16;
  else failUsage("--dtype: expected bf16 or fp16, got '" + dt + "' (the probe measures 16-bit KV caches)");
  if (m.layers < 1 || qHeads < 1 || kvHeads < 1 || m.hidden < 1 || inter < 1 || m.tp < 1) failUsage("model shape: every size must be positive");
  if (kvHeads % m.tp || qHeads % m.tp || inter % m.tp) failUsage("--tp must divide the head counts and the intermediate size");
  m.qHeads = qHeads / m.tp;
  m.kvHeads = kvHeads / m.tp;
  m.intermediate = inter / m.tp;
  if (m.qHeads % m.kvHeads) failUsage("--q-heads must be a multiple of --kv-heads");
  if (m.group() > 8) failUsage("grouped-query attention with more than 8 query heads per KV head is not supported");
  if (m.headDim != 64 && m.headDim != 128 && m.headDim != 256) failUsage("--head-dim must be 64, 128 or 256");
  return m;
}

inline void writeModel(Json& j, const ModelShape& m) {
  j.key("model").beginObject();
  j.kv("id", m.id).kvInt("layers", m.layers).kvInt("q_heads", m.qHeads * m.tp).kvInt("kv_heads", m.kvHeads * m.tp);
  j.kvInt("head_dim", m.headDim).kvInt("hidden", m.hidden).kvInt("intermediate", (long long)m.intermediate * m.tp);
  j.kvInt("tp", m.tp).kv("dtype", m.dtypeName()).kvInt("dtype_bytes", 2).kvInt("block_bytes", (long long)m.blockBytes());
  j.endObject();
}

inline std::string fmtBytes(double b) {
  char s[32];
  if (b >= 1024.0 * 1024 * 1024) snprintf(s, sizeof s, "%.0f GiB", b / (1024.0 * 1024 * 1024));
  else if (b >= 1024.0 * 1024) snprintf(s, sizeof s, "%.0f MiB", b / (1024.0 * 1024));
  else if (b >= 1024.0) snprintf(s, sizeof s, "%.0f KiB", b / 1024.0);
  else snprintf(s, sizeof s, "%.0f B", b);
  return s;
}

// RAII device / host buffers.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) { alloc(n); }
  ~DeviceBuffer() { if (p_) cudaFree(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void alloc(size_t n) {
    if (p_) CK(cudaFree(p_));
    p_ = nullptr;
    n_ = n;
    if (n) CK(cudaMalloc(&p_, n * sizeof(T)));
  }
  T* get() const { return p_; }
  size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  PinnedBuffer(size_t bytes, unsigned flags) { alloc(bytes, flags); }
  ~PinnedBuffer() { if (p_) cudaFreeHost(p_); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  void alloc(size_t bytes, unsigned flags) {
    if (p_) CK(cudaFreeHost(p_));
    p_ = nullptr;
    bytes_ = bytes;
    if (bytes) CK(cudaHostAlloc(&p_, bytes, flags));
  }
  unsigned char* get() const { return static_cast<unsigned char*>(p_); }
  size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

class Stream {
 public:
  Stream() { CK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(s_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  operator cudaStream_t() const { return s_; }

 private:
  cudaStream_t s_{};
};

// Free device memory now, in bytes.
inline size_t freeDeviceBytes() {
  size_t f = 0, t = 0;
  CK(cudaMemGetInfo(&f, &t));
  return f;
}

}  // namespace probe
