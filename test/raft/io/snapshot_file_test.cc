// raft/io/snapshot_file.h: references, the writer's all-or-nothing file, pruning.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

TEST(SnapshotFile, AWriterResumesAPartFileThatSumsToWhatItWasSaidToHold) {
  test::TempDir dir;
  std::string path = dir.file("snapshot-9-2.snap"), part = dir.file("in.part");
  Fnv1a64 first;
  {
    auto w = SnapshotWriter::create(path, part);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->write("hello ").ok());
    first = Fnv1a64(w->checksum());
    ASSERT_TRUE(w->write("garbage past the record").ok());  // written after the record: cut off
    w->detach();
  }
  ASSERT_TRUE(fs::exists(part)) << "detach keeps the part file";
  EXPECT_FALSE(SnapshotWriter::resume(path, part, 6, first.value() + 1).ok()) << "wrong checksum";
  EXPECT_FALSE(SnapshotWriter::resume(path, part, 600, first.value()).ok()) << "file shorter than said";
  auto w = SnapshotWriter::resume(path, part, 6, first.value());
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_EQ(w->size(), 6u);
  ASSERT_TRUE(w->write("world").ok());
  auto ref = w->finish();
  ASSERT_TRUE(ref.ok());
  Fnv1a64 whole;
  whole.update("hello world");
  EXPECT_EQ(ref->checksum, whole.value());
  auto data = read_snapshot_data(encode_snapshot_ref(*ref));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "hello world");
}

TEST(SnapshotFile, APartialSnapshotRecordRoundTripsAndRefusesGarbage) {
  test::TempDir dir;
  PartialSnapshotMeta m{40, 3, 5000, 0xabc, 3000, 0xdef};
  ASSERT_TRUE(write_partial_meta(dir.file("r.meta"), m).ok());
  m.held = 4000;  // rewritten in place after the next chunk
  ASSERT_TRUE(write_partial_meta(dir.file("r.meta"), m).ok());
  auto back = read_partial_meta(dir.file("r.meta"));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->index, 40u);
  EXPECT_EQ(back->term, 3u);
  EXPECT_EQ(back->total, 5000u);
  EXPECT_EQ(back->checksum, 0xabcu);
  EXPECT_EQ(back->held, 4000u);
  EXPECT_EQ(back->held_checksum, 0xdefu);
  EXPECT_FALSE(read_partial_meta(dir.file("missing.meta")).has_value());
  std::ofstream(dir.file("bad.meta"), std::ios::binary) << std::string(56, 'x');
  EXPECT_FALSE(read_partial_meta(dir.file("bad.meta")).has_value());
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
