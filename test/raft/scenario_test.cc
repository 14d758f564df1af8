// Runs the scenario scripts in test/testdata/raft/*.txt: each block is a
// command, a "----" line and the expected trace, ended by a blank line.
// `raft_scenario_test --rewrite` regenerates the expected traces in place;
// review them as a diff before committing.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test/raft/interaction_env.h"

namespace cairn::raft::testing {
namespace {

bool g_rewrite = false;

struct Block {
  std::vector<std::string> comments;  // lines before the command
  std::string command;
  int line = 0;
  std::string expected;
};

std::vector<Block> parse(const std::string& path, std::string* trailer) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::vector<Block> blocks;
  Block cur;
  size_t i = 0;
  while (i < lines.size()) {
    const std::string& l = lines[i];
    if (l.empty() || l[0] == '#') {
      cur.comments.push_back(l);
      ++i;
      continue;
    }
    cur.command = l;
    cur.line = static_cast<int>(i + 1);
    ++i;
    if (i >= lines.size() || lines[i] != "----") {
      ADD_FAILURE() << path << ":" << cur.line << ": expected ---- after the command";
      return blocks;
    }
    ++i;
    std::string expected;
    while (i < lines.size() && !lines[i].empty()) expected += lines[i++] + "\n";
    if (!expected.empty()) expected.pop_back();
    cur.expected = expected;
    blocks.push_back(std::move(cur));
    cur = Block{};
  }
  std::string t;
  for (const std::string& c : cur.comments) t += c + "\n";
  *trailer = t;
  return blocks;
}

std::vector<std::string> scripts() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(CAIRN_RAFT_TESTDATA)) {
    if (e.path().extension() == ".txt") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class Scenario : public ::testing::TestWithParam<std::string> {};

TEST_P(Scenario, TraceMatchesScript) {
  std::string path = std::string(CAIRN_RAFT_TESTDATA) + "/" + GetParam() + ".txt";
  std::string trailer;
  std::vector<Block> blocks = parse(path, &trailer);
  ASSERT_FALSE(blocks.empty()) << path << " has no commands";
  InteractionEnv env;
  std::ostringstream rewritten;
  for (const Block& b : blocks) {
    std::string actual = env.handle(b.command);
    while (!actual.empty() && actual.back() == '\n') actual.pop_back();
    if (g_rewrite) {
      for (const std::string& c : b.comments) rewritten << c << "\n";
      rewritten << b.command << "\n----\n" << actual << "\n";
    } else {
      EXPECT_EQ(b.expected, actual) << path << ":" << b.line << ": " << b.command;
    }
  }
  if (g_rewrite) {
    std::string text = rewritten.str();
    // Blocks are separated by one blank line; the trailer keeps final comments.
    if (!trailer.empty()) text += trailer;
    std::ofstream(path) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(Raft, Scenario, ::testing::ValuesIn(scripts()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace cairn::raft::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--rewrite") cairn::raft::testing::g_rewrite = true;
  }
  return RUN_ALL_TESTS();
}
