// cairn snapshot save|restore|inspect FILE: Consul's `consul snapshot`
// commands over /v1/snapshot. The file is Cairn's checkpoint archive
// (server/snapshot_archive.h), which is why this command includes server/
// (as keygen includes the gossip keyring): the format belongs there.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/client.h"
#include "cli/command.h"
#include "cli/commands/http_call.h"
#include "server/snapshot_archive.h"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(errc::io_error, "open " + path + ": no such file or directory");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Error(errc::io_error, "reading " + path);
  return bytes;
}

// Writes `bytes` to `path` atomically: a temporary file beside it, fsynced,
// then renamed over it, so a crash never leaves half a snapshot behind.
Status write_atomically(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Error(errc::io_error, "creating " + tmp);
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0 &&
            ::fsync(::fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  std::error_code ec;
  if (ok) fs::rename(tmp, path, ec);
  if (!ok || ec) {
    fs::remove(tmp, ec);
    return Error(errc::io_error, "writing " + path);
  }
  return {};
}

int fail(const char* what, const Error& e) {
  std::cerr << what << e.message() << "\n";
  return kExitError;
}

int save(const ClientFlags& f, const std::string& file, bool stale) {
  auto res = http_call(f, "GET", stale ? "/v1/snapshot?stale" : "/v1/snapshot");
  if (!res.ok()) return fail("Error saving snapshot: ", res.error());
  // Verify before keeping it, as Consul does.
  auto index = server::packed_applied_index(res->body);
  if (!index.ok()) return fail("Error verifying snapshot file: ", index.error());
  if (auto st = write_atomically(file, res->body); !st.ok()) return fail("Error writing snapshot file: ", st.error());
  std::cout << "Saved and verified snapshot to index " << *index << "\n";
  return kExitOk;
}

int restore(const ClientFlags& f, const std::string& file) {
  auto bytes = read_file(file);
  if (!bytes.ok()) return fail("Error opening snapshot file: ", bytes.error());
  auto res = http_call(f, "PUT", "/v1/snapshot", *bytes);
  if (!res.ok()) return fail("Error restoring snapshot: ", res.error());
  std::cout << "Restored snapshot\n";
  return kExitOk;
}

int inspect(const std::string& file) {
  auto bytes = read_file(file);
  if (!bytes.ok()) return fail("Error opening snapshot file: ", bytes.error());
  std::string scratch = (fs::temp_directory_path() / ("cairn-inspect-" + std::to_string(::getpid()))).string();
  auto summary = server::summarize_archive(*bytes, scratch);
  if (!summary.ok()) return fail("Error verifying snapshot: ", summary.error());
  std::vector<std::vector<std::string>> rows{{"Index", std::to_string(summary->index)},
                                             {"Size", std::to_string(summary->bytes)},
                                             {"Files", std::to_string(summary->files)}};
  print_table(std::cout, rows, 6);
  std::cout << "\n";
  std::vector<std::vector<std::string>> tables{{"Table", "Rows"}};
  for (const auto& [name, count] : summary->rows) tables.push_back({name, std::to_string(count)});
  print_table(std::cout, tables, 6);
  return kExitOk;
}

}  // namespace

void add_snapshot_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("snapshot", "Saves, restores and inspects snapshots of the server state");
  cmd->require_subcommand(1);

  auto* save_cmd = cmd->add_subcommand("save", "Saves a snapshot of the state to FILE (written atomically)");
  auto save_flags = add_client_flags(save_cmd);
  auto save_file = std::make_shared<std::string>();
  auto stale = std::make_shared<bool>(false);
  save_cmd->add_flag("--stale", *stale, "Let any server answer (default: the leader)");
  save_cmd->add_option("FILE", *save_file, "Where to write the snapshot")->required();
  save_cmd->callback([=] { *exit_code = save(*save_flags, *save_file, *stale); });

  auto* restore_cmd = cmd->add_subcommand("restore", "Replaces the whole state on every server by FILE's");
  auto restore_flags = add_client_flags(restore_cmd);
  auto restore_file = std::make_shared<std::string>();
  restore_cmd->add_option("FILE", *restore_file, "A snapshot written by `snapshot save`")->required();
  restore_cmd->callback([=] { *exit_code = restore(*restore_flags, *restore_file); });

  auto* inspect_cmd = cmd->add_subcommand("inspect", "Prints a snapshot file's index, size and rows per table");
  auto inspect_file = std::make_shared<std::string>();
  inspect_cmd->add_option("FILE", *inspect_file, "A snapshot written by `snapshot save`")->required();
  inspect_cmd->callback([=] { *exit_code = inspect(*inspect_file); });
}

}  // namespace cairn::cli
