// cairn: one binary for server, agent and CLI.
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "cli/command.h"

namespace cairn::cli {

namespace {
std::vector<std::string> g_command_line;
std::vector<std::string> g_raw_args;
}

const std::vector<std::string>& command_line() { return g_command_line; }

std::vector<std::string> raw_tail(size_t n) {
  n = std::min(n, g_raw_args.size());
  return {g_raw_args.end() - static_cast<std::ptrdiff_t>(n), g_raw_args.end()};
}

std::vector<std::string> normalize_flags(int argc, char** argv) {
  std::vector<std::string> out;
  g_raw_args.assign(argv + 1, argv + argc);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 2 && a[0] == '-' && a[1] != '-') a.insert(a.begin(), '-');
    out.push_back(std::move(a));
  }
  g_command_line = out;
  std::reverse(out.begin(), out.end());  // CLI11's parse(vector) wants reverse order
  return out;
}

// Code pages out of the RSS once start-up is over (docs/benchmarks.md, DNS
// section, "Memory: code pages after start-up"). The kernel maps file pages
// 64 KB around every page fault (fault-around), so start-up, which runs code
// from every part of the binary and its libraries, leaves most of their code
// mapped (an idle agent's .text was 85 % resident) though an idle agent runs
// little of it again.
// MADV_DONTNEED on a clean, read-only, private mapping of a program or library
// (a file with an executable mapping: its code, rodata, symbol tables) only
// drops the page-table entries: the pages stay in the page cache and fault
// back in from there when run. A mapping holding any anonymous (written) page
// is never touched, so relocated data and a debugger's breakpoints are kept.
// Long-running commands only (agent, connect proxy), 10 s after start and
// then every minute, so the RSS follows the code that runs (a busy proxy
// faults its hot path back in at once: about a hundred minor faults).
// CAIRN_KEEP_CODE_MAPPED=1 turns it off.
void release_code_pages() {
  struct Mapping {
    unsigned long start, end;
    bool read_only_private;
    std::string path;
    unsigned long anon_kb = 1;
  };
  std::vector<Mapping> maps;
  std::vector<std::string> images;  // files with an executable mapping
  std::FILE* f = std::fopen("/proc/self/smaps", "re");
  if (!f) return;
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    char perms[8] = {0}, path[256] = {0};
    unsigned long s = 0, e = 0, anon = 0;
    if (std::sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &s, &e, perms, path) >= 3 && std::strlen(perms) == 4) {
      maps.push_back({s, e, perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p', path});
      if (perms[2] == 'x' && path[0] == '/') images.emplace_back(path);
    } else if (!maps.empty() && std::sscanf(line, "Anonymous: %lu kB", &anon) == 1) {
      maps.back().anon_kb = anon;
    }
  }
  std::fclose(f);
  for (const auto& m : maps)
    if (m.read_only_private && m.anon_kb == 0 && std::find(images.begin(), images.end(), m.path) != images.end())
      ::madvise(reinterpret_cast<void*>(m.start), m.end - m.start, MADV_DONTNEED);
}

void release_code_pages_after_start(int argc, char** argv) {
  if (argc < 2) return;
  std::string_view command = argv[1];
  if (command != "agent" && command != "connect") return;
  if (const char* keep = std::getenv("CAIRN_KEEP_CODE_MAPPED"); keep && std::string_view(keep) == "1") return;
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(10));
    for (;;) {
      release_code_pages();
      std::this_thread::sleep_for(std::chrono::minutes(1));
    }
  }).detach();
}

}  // namespace cairn::cli

int main(int argc, char** argv) {
  using namespace cairn::cli;
  CLI::App app{"Cairn: a service mesh for VMs and bare metal", "cairn"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  int exit_code = kExitOk;
  add_agent_command(app, &exit_code);
  add_catalog_command(app, &exit_code);
  add_config_command(app, &exit_code);
  add_connect_command(app, &exit_code);
  add_event_command(app, &exit_code);
  add_force_leave_command(app, &exit_code);
  add_intention_command(app, &exit_code);
  add_join_command(app, &exit_code);
  add_keygen_command(app, &exit_code);
  add_keyring_command(app, &exit_code);
  add_kv_command(app, &exit_code);
  add_lock_command(app, &exit_code);
  add_leave_command(app, &exit_code);
  add_members_command(app, &exit_code);
  add_monitor_command(app, &exit_code);
  add_operator_command(app, &exit_code);
  add_reload_command(app, &exit_code);
  add_services_command(app, &exit_code);
  add_snapshot_command(app, &exit_code);
  add_validate_command(app, &exit_code);
  add_version_command(app, &exit_code);
  add_watch_command(app, &exit_code);
  auto args = normalize_flags(argc, argv);
  release_code_pages_after_start(argc, argv);
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return exit_code;
}
