// orbitflow probe: `info` — the device, its driver and runtime, its PCIe link and NUMA node.
#include <unistd.h>

#include <cctype>

#include "sections.cuh"

namespace probe {
namespace info_impl {

std::string trimmed(const char* s) {
  std::string line = s;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

std::string readFirstLine(const std::string& path) {
  FILE* f = fopen(path.c_str(), "r");
  if (!f) return "";
  char buf[512];
  const bool ok = fgets(buf, sizeof buf, f) != nullptr;
  fclose(f);
  return ok ? trimmed(buf) : "";
}

std::string findLine(const std::string& path, const std::string& prefix) {
  FILE* f = fopen(path.c_str(), "r");
  if (!f) return "";
  char buf[1024];
  std::string found;
  while (fgets(buf, sizeof buf, f))
    if (strncmp(buf, prefix.c_str(), prefix.size()) == 0) {
      found = trimmed(buf);
      break;
    }
  fclose(f);
  return found;
}

// "32.0 GT/s PCIe" → 5 (the generation whose per-lane rate that is).
int pcieGenFromSpeed(const std::string& s) {
  if (s.empty()) return -1;
  const double gts = atof(s.c_str());
  if (gts >= 60) return 6;
  if (gts >= 30) return 5;
  if (gts >= 15) return 4;
  if (gts >= 7.5) return 3;
  if (gts >= 4.5) return 2;
  if (gts >= 2) return 1;
  return -1;
}

void intOrNull(Json& j, const std::string& key, const std::string& text) {
  j.key(key);
  if (text.empty()) j.null();
  else j.integer(atoll(text.c_str()));
}

void strOrNull(Json& j, const std::string& key, const std::string& text) {
  j.key(key);
  if (text.empty()) j.null();
  else j.str(text);
}

std::string versionString(int v) {
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

}  // namespace info_impl

void infoSection(Json& j, int device) {
  using namespace info_impl;
  int count = 0;
  CK(cudaGetDeviceCount(&count));
  if (device < 0 || device >= count) failCuda(cudaErrorInvalidDevice, "cudaSetDevice(--device)", __FILE__, __LINE__);
  CK(cudaSetDevice(device));
  cudaDeviceProp p{};
  CK(cudaGetDeviceProperties(&p, device));
  char bus[64] = {0};
  CK(cudaDeviceGetPCIBusId(bus, sizeof bus, device));
  int memClockKHz = 0, busBits = 0;
  CK(cudaDeviceGetAttribute(&memClockKHz, cudaDevAttrMemoryClockRate, device));
  CK(cudaDeviceGetAttribute(&busBits, cudaDevAttrGlobalMemoryBusWidth, device));
  int driver = 0, runtime = 0;
  CK(cudaDriverGetVersion(&driver));
  CK(cudaRuntimeGetVersion(&runtime));
  size_t freeBytes = 0, totalBytes = 0;
  CK(cudaMemGetInfo(&freeBytes, &totalBytes));

  char uuid[64];
  const unsigned char* u = reinterpret_cast<const unsigned char*>(p.uuid.bytes);
  snprintf(uuid, sizeof uuid, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
           u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);

  j.key("device").beginObject();
  j.kvInt("index", device).kvInt("count", count).kv("name", p.name).kv("uuid", uuid);
  std::string busId = bus;
  for (auto& c : busId) c = static_cast<char>(tolower(c));
  j.kv("pci_bus_id", busId);
  j.kvInt("memory_bytes", (long long)p.totalGlobalMem).kvInt("memory_free_bytes", (long long)freeBytes);
  j.kvInt("sm_count", p.multiProcessorCount);
  j.kv("compute_capability", std::to_string(p.major) + "." + std::to_string(p.minor));
  j.kvInt("l2_bytes", p.l2CacheSize).kvInt("copy_engines", p.asyncEngineCount).kvBool("can_map_host_memory", p.canMapHostMemory != 0);
  j.kvInt("memory_clock_khz", memClockKHz).kvInt("memory_bus_bits", busBits);
  // DDR: two transfers per clock.
  j.kvNum("memory_peak_gib_per_s", 2.0 * memClockKHz * 1e3 * (busBits / 8.0) / (1024.0 * 1024 * 1024));
  j.kvInt("cuda_driver_version", driver).kv("cuda_driver", versionString(driver));
  j.kvInt("cuda_runtime_version", runtime).kv("cuda_runtime", versionString(runtime));
  j.endObject();

  // sysfs wants a 4-digit domain: "00000000:19:00.0" → "0000:19:00.0".
  std::string sysBus = busId;
  const size_t colon = sysBus.find(':');
  if (colon != std::string::npos && colon > 4) sysBus = sysBus.substr(colon - 4);
  const std::string dev = "/sys/bus/pci/devices/" + sysBus + "/";
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::string nvrm = findLine("/proc/driver/nvidia/version", "NVRM version:");
  std::string driverRelease;
  {
    // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 …" → "580.65.06"
    size_t i = 0;
    while (i < nvrm.size()) {
      while (i < nvrm.size() && nvrm[i] == ' ') ++i;
      size_t e = nvrm.find(' ', i);
      if (e == std::string::npos) e = nvrm.size();
      const std::string w = nvrm.substr(i, e - i);
      if (!w.empty() && isdigit(static_cast<unsigned char>(w[0])) && w.find('.') != std::string::npos) {
        driverRelease = w;
        break;
      }
      i = e;
    }
  }
  std::string cpu = findLine("/proc/cpuinfo", "model name");
  if (!cpu.empty()) cpu = cpu.substr(cpu.find(':') == std::string::npos ? 0 : cpu.find(':') + 2);
  std::string mem = findLine("/proc/meminfo", "MemTotal:");
  long long memKiB = mem.empty() ? -1 : atoll(mem.c_str() + 9);
  const std::string maxSpeed = readFirstLine(dev + "max_link_speed");
  const std::string curSpeed = readFirstLine(dev + "current_link_speed");

  j.key("host").beginObject();
  j.kv("hostname", host);
  strOrNull(j, "cpu", cpu);
  j.key("memory_bytes");
  if (memKiB < 0) j.null(); else j.integer(memKiB * 1024);
  strOrNull(j, "driver_release", driverRelease);
  intOrNull(j, "numa_node", readFirstLine(dev + "numa_node"));
  j.key("pcie_gen_max");
  if (pcieGenFromSpeed(maxSpeed) < 0) j.null(); else j.integer(pcieGenFromSpeed(maxSpeed));
  intOrNull(j, "pcie_width_max", readFirstLine(dev + "max_link_width"));
  j.key("pcie_gen_current");
  if (pcieGenFromSpeed(curSpeed) < 0) j.null(); else j.integer(pcieGenFromSpeed(curSpeed));
  intOrNull(j, "pcie_width_current", readFirstLine(dev + "current_link_width"));
  j.endObject();
}

}  // namespace probe
