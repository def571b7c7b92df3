// Profile: events recorded whole or from interned strings come back in recording order with
// their names, ops and nodes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string_view>

#include "edgerun/profile.hpp"

namespace edgerun {
namespace {

TEST(Profile, InternedAndWholeEventsComeBackInRecordingOrder) {
  Profile profile;
  const std::string_view chain[] = {"conv", "relu"};
  const std::string_view chain_ops[] = {"Conv", "Relu"};
  profile.record(ProfileEvent::Kind::kNode, chain, chain_ops, 1.0, 2.0);
  ProfileEvent whole;
  whole.kind = ProfileEvent::Kind::kNode;
  whole.name = "custom";
  whole.op = "Custom";
  whole.nodes = {"custom"};
  whole.start_us = 3.0;
  whole.duration_us = 0.5;
  profile.record(whole);
  const std::string_view step[] = {"step 0 (onednn)"};
  const std::string_view backend[] = {"onednn"};
  profile.record(ProfileEvent::Kind::kStep, step, backend, 0.5, 4.0);
  // The same strings again: stored once, read back the same.
  profile.record(ProfileEvent::Kind::kNode, chain, chain_ops, 5.0, 1.0);
  const std::string_view run[] = {"run"};
  profile.record(ProfileEvent::Kind::kRun, run, {}, 0.0, 7.0);

  const std::vector<ProfileEvent> events = profile.events();
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].name, "conv+relu");
  EXPECT_EQ(events[0].op, "Conv+Relu");
  EXPECT_EQ(events[0].nodes, (std::vector<std::string>{"conv", "relu"}));
  EXPECT_EQ(events[0].start_us, 1.0);
  EXPECT_EQ(events[0].duration_us, 2.0);
  EXPECT_EQ(events[1].name, "custom");
  EXPECT_EQ(events[1].op, "Custom");
  EXPECT_EQ(events[2].kind, ProfileEvent::Kind::kStep);
  EXPECT_EQ(events[2].name, "step 0 (onednn)");
  EXPECT_EQ(events[2].op, "onednn");
  EXPECT_TRUE(events[2].nodes.empty());
  EXPECT_EQ(events[3].name, "conv+relu");
  EXPECT_EQ(events[3].start_us, 5.0);
  EXPECT_EQ(events[4].kind, ProfileEvent::Kind::kRun);
  EXPECT_EQ(events[4].name, "run");
  EXPECT_EQ(events[4].op, "");
  for (const ProfileEvent& e : events) EXPECT_EQ(e.thread, 0);

  const nlohmann::json trace = nlohmann::json::parse(profile.chrome_trace_json());
  ASSERT_EQ(trace["traceEvents"].size(), 5u);
  EXPECT_EQ(trace["traceEvents"][0]["args"]["nodes"], nlohmann::json({"conv", "relu"}));
  EXPECT_EQ(trace["traceEvents"][2]["args"]["backend"], "onednn");
}

}  // namespace
}  // namespace edgerun
