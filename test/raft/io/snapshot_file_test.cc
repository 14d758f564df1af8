// raft/io/snapshot_file.h: references, the writer's all-or-nothing file, pruning.
#include <gtest/gtest.h>

#include <filesystem>

#include "raft/io/snapshot_file.h"
#include "test/support/process.h"

namespace cairn::raft {
namespace {

namespace fs = std::filesystem;

TEST(SnapshotFile, AReferenceRoundTripsAndAnImageIsNotMistakenForOne) {
  SnapshotFileRef ref{"/data/raft-snapshots/snapshot-7-2.snap", 123456, 0xfeedface};
  std::string data = encode_snapshot_ref(ref);
  auto back = decode_snapshot_ref(data);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->path, ref.path);
  EXPECT_EQ(back->size, ref.size);
  EXPECT_EQ(back->checksum, ref.checksum);
  EXPECT_FALSE(decode_snapshot_ref("CAIRNSNAP\x01...").has_value());
  EXPECT_FALSE(decode_snapshot_ref("").has_value());
  EXPECT_FALSE(decode_snapshot_ref(data.substr(0, data.size() - 1)).has_value()) << "truncated";
  auto inline_image = read_snapshot_data("just bytes");
  ASSERT_TRUE(inline_image.ok());
  EXPECT_EQ(*inline_image, "just bytes");
}

TEST(SnapshotFile, AWriterPublishesOnlyAFinishedFile) {
  test::TempDir dir;
  std::string path = snapshot_file_path(dir.path(), 9, 1);
  {
    auto w = SnapshotWriter::create(path, dir.file("x.part"));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->write("half").ok());
    EXPECT_TRUE(fs::exists(dir.file("x.part")));
  }  // dropped unfinished (a failed transfer): nothing is left
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(dir.file("x.part")));

  auto w = SnapshotWriter::create(path, dir.file("x.part"));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->write("hello ").ok());
  ASSERT_TRUE(w->write("world").ok());
  EXPECT_FALSE(fs::exists(path)) << "not visible before finish()";
  auto ref = w->finish();
  ASSERT_TRUE(ref.ok()) << ref.error().message();
  EXPECT_EQ(ref->size, 11u);
  Fnv1a64 sum;
  sum.update("hello world");
  EXPECT_EQ(ref->checksum, sum.value());
  auto data = read_snapshot_data(encode_snapshot_ref(*ref));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "hello world");
  // A reference whose file changed is refused.
  SnapshotFileRef wrong = *ref;
  wrong.checksum ^= 1;
  EXPECT_FALSE(read_snapshot_data(encode_snapshot_ref(wrong)).ok());
}

TEST(SnapshotFile, PruneKeepsTheNewestByIndexAndTerm) {
  test::TempDir dir;
  for (auto [i, t] : std::vector<std::pair<Index, Term>>{{10, 1}, {30, 0}, {30, 2}, {20, 5}}) {
    auto w = SnapshotWriter::create(snapshot_file_path(dir.path(), i, t), dir.file("p.part"));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->finish().ok());
  }
  std::ofstream(dir.file("receiving-from-3.part")) << "partial";
  prune_snapshot_files(dir.path(), 2);
  EXPECT_TRUE(fs::exists(snapshot_file_path(dir.path(), 30, 2)));
  EXPECT_TRUE(fs::exists(snapshot_file_path(dir.path(), 30, 0)));
  EXPECT_FALSE(fs::exists(snapshot_file_path(dir.path(), 20, 5)));
  EXPECT_FALSE(fs::exists(snapshot_file_path(dir.path(), 10, 1)));
  EXPECT_TRUE(fs::exists(dir.file("receiving-from-3.part"))) << "a transfer in progress is not touched";
}

}  // namespace
}  // namespace cairn::raft
