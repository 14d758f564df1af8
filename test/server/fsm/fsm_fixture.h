// A fresh RocksDB store and an Fsm over it, for the FSM tests: apply() feeds
// one encoded command at the next index and expects it to be applied.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server/fsm/command.h"
#include "server/fsm/fsm.h"
#include "test/server/temp_dir.h"

namespace cairn::server::fsm {

class FsmFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = state::Store::open(dir_.sub("db"));
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    fsm_ = std::make_unique<Fsm>(*store_);
  }

  Applied apply(const std::string& bytes) {
    auto r = fsm_->apply(++index_, bytes);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? std::move(*r) : Applied{};
  }
  template <typename Command>
    requires(!std::is_convertible_v<Command, std::string>)
  Applied apply(const Command& c) {
    return apply(encode(c));
  }

  test::TempDir dir_;
  std::unique_ptr<state::Store> store_;
  std::unique_ptr<Fsm> fsm_;
  uint64_t index_ = 0;
};

}  // namespace cairn::server::fsm
