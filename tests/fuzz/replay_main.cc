// Runs a fuzz target without libFuzzer: on each file given and on deterministic mutations of
// it (bit flips, truncations, overwritten, inserted and deleted runs), so the ordinary gcc build
// of the test suite exercises the same entry point. A crash or an escaping exception fails the
// process; anything the target returns is fine. On a crash the input is named on stderr and, with
// --crash-file, written there for `halfcast_fuzz_replay PATH` (or a debugger) to reproduce.
// Linked with each target (halfcast_fuzz_replay is load_convert's, halfcast_fuzz_replay_<target>
// the others').
//
//   halfcast_fuzz_replay[_TARGET] [--mutations N] [--seed S] [--crash-file PATH] FILE_OR_DIR...
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// What the crash handler reports; set before each run (the handler may only read them).
const std::string* g_input = nullptr;
char g_input_name[512] = "";
const char* g_crash_file = nullptr;
const char* g_program = "halfcast_fuzz_replay";

void WriteAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n <= 0) return;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void OnCrash(int signal) {
  // Only async-signal-safe calls here.
  const char prefix[] = ": crashed on ";
  WriteAll(2, g_program, std::strlen(g_program));
  WriteAll(2, prefix, sizeof(prefix) - 1);
  WriteAll(2, g_input_name, std::strlen(g_input_name));
  WriteAll(2, "\n", 1);
  if (g_crash_file != nullptr && g_input != nullptr) {
    const int fd = open(g_crash_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      WriteAll(fd, g_input->data(), g_input->size());
      close(fd);
    }
  }
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void Run(const std::string& bytes, const std::string& file, long mutation) {
  g_input = &bytes;
  std::snprintf(g_input_name, sizeof(g_input_name), "%s, mutation %ld", file.c_str(), mutation);
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// One to three random edits of `seed`.
std::string Mutate(const std::string& seed, std::mt19937_64& random) {
  std::string bytes = seed;
  const int edits = 1 + static_cast<int>(random() % 3);
  for (int e = 0; e < edits && !bytes.empty(); ++e) {
    const std::size_t at = random() % bytes.size();
    const std::size_t run = std::min<std::size_t>(1 + random() % 8, bytes.size() - at);
    switch (random() % 5) {
      case 0:  // flip one bit
        bytes[at] = static_cast<char>(bytes[at] ^ (1u << (random() % 8)));
        break;
      case 1:  // truncate
        bytes.resize(at);
        break;
      case 2: {  // overwrite a run with 0x00, 0xff or random bytes (lengths, tags, varints)
        const int fill = static_cast<int>(random() % 3);
        for (std::size_t i = at; i < at + run; ++i) {
          bytes[i] = static_cast<char>(fill == 0 ? 0 : fill == 1 ? 0xff : random());
        }
        break;
      }
      case 3:  // repeat a run in place
        bytes.insert(at, bytes.substr(at, run));
        break;
      default:  // delete a run
        bytes.erase(at, run);
    }
  }
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 0;
  unsigned long long seed = 1;
  std::vector<std::filesystem::path> files;
  g_program = argv[0];
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--mutations" && i + 1 < argc) {
      mutations = std::strtol(argv[++i], nullptr, 10);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--crash-file" && i + 1 < argc) {
      g_crash_file = argv[++i];
    } else if (std::filesystem::is_directory(arg)) {
      // Absolute: a target may change the working folder (args_fuzzer.cc does).
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file()) files.push_back(std::filesystem::absolute(entry.path()));
      }
    } else if (std::filesystem::is_regular_file(arg)) {
      files.push_back(std::filesystem::absolute(arg));
    } else {
      std::fprintf(stderr,
                   "usage: %s [--mutations N] [--seed S] [--crash-file PATH] FILE_OR_DIR...\n"
                   "'%s' is neither a file nor a folder\n",
                   argv[0], arg.c_str());
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "%s: no input files\n", argv[0]);
    return 2;
  }
  std::sort(files.begin(), files.end());  // the same runs whatever order the folder lists
  for (int signal : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) std::signal(signal, OnCrash);
  long runs = 0;
  for (const auto& file : files) {
    const std::string bytes = ReadFile(file);
    std::mt19937_64 random(seed);
    Run(bytes, file.string(), 0);
    for (long m = 1; m <= mutations; ++m) Run(Mutate(bytes, random), file.string(), m);
    runs += 1 + mutations;
  }
  std::printf("%ld inputs from %zu files ran without a crash\n", runs, files.size());
  return 0;
}
