// The partitioner: connected, cycle-free partitions per backend; tiny partitions refused; a
// reason for every node left to a later backend.
#include "runtime/partitioner.h"

#include <gtest/gtest.h>

#include <set>

#include "runtime/value_types.h"

namespace edgerun::runtime {
namespace {

// Claims the ops it is given; `heavy` ones pay for a partition on their own.
class FakeBackend final : public Backend {
 public:
  FakeBackend(std::string name, std::set<std::string> ops, std::set<std::string> heavy = {})
      : name_(std::move(name)), ops_(std::move(ops)), heavy_(std::move(heavy)) {}
  std::string_view name() const override { return name_; }
  bool supports(const ir::Node& node, const ir::Graph&, const ValueTypes&,
                std::string* why_not) const override {
    const bool ok = ops_.empty() || ops_.count(node.op_type) > 0;
    if (!ok && why_not != nullptr) *why_not = "fake cannot run " + node.op_type;
    return ok;
  }
  bool is_compute_heavy(const ir::Node& node) const override {
    return heavy_.count(node.op_type) > 0;
  }
  Result<std::unique_ptr<Executable>> compile(const Partition&) const override {
    return unsupported("not used");
  }

 private:
  std::string name_;
  std::set<std::string> ops_, heavy_;
};

ir::Node node(const std::string& name, const std::string& op, std::vector<std::string> inputs) {
  ir::Node n;
  n.name = name;
  n.op_type = op;
  n.op = ir::find_op("", op);
  n.opset = 17;
  n.inputs = std::move(inputs);
  n.outputs = {name};
  return n;
}

ir::Graph graph_of(std::vector<ir::Node> nodes) {
  ir::Graph g;
  ir::ValueInfo x;
  x.name = "x";
  x.type.kind = ir::TypeInfo::Kind::kTensor;
  x.type.dtype = DType::kFloat32;
  g.inputs.push_back(x);
  g.nodes = std::move(nodes);
  return g;
}

// Checks that the partitions cover every node once and that every node runs after the nodes
// whose outputs it reads.
void expect_valid_order(const ir::Graph& g, const PartitionPlan& plan) {
  std::set<std::string> produced = {"x"};
  size_t count = 0;
  for (const PlannedPartition& p : plan.partitions) {
    for (size_t i : p.nodes) {
      for (const std::string& in : g.nodes[i].inputs) {
        EXPECT_TRUE(produced.count(in)) << g.nodes[i].name << " runs before its input " << in;
      }
      produced.insert(g.nodes[i].outputs[0]);
      ++count;
    }
  }
  EXPECT_EQ(count, g.nodes.size());
}

const FakeBackend kReference("reference", {});

TEST(Partitioner, ConnectedClaimedNodesFormOnePartition) {
  FakeBackend accel("accel", {"Conv", "Relu"}, {"Conv"});
  ir::Graph g =
      graph_of({node("c1", "Conv", {"x"}), node("r1", "Relu", {"c1"}), node("c2", "Conv", {"r1"})});
  Result<PartitionPlan> plan = partition_graph(g, {&accel, &kReference}, infer_value_types(g, {}));
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->partitions.size(), 1u);
  EXPECT_EQ(plan->partitions[0].backend, &accel);
  EXPECT_EQ(plan->partitions[0].nodes, (std::vector<size_t>{0, 1, 2}));
  for (const std::string& r : plan->reasons) EXPECT_EQ(r, "");
}

TEST(Partitioner, MergeThatWouldMakeACycleIsRefused) {
  // c1 -> floor (not claimed) -> add, and c1 -> add directly. One partition {c1, add} would
  // need floor's output before it starts and produce floor's input: a cycle.
  FakeBackend accel("accel", {"Conv", "Add"}, {"Conv", "Add"});
  ir::Graph g = graph_of({node("c1", "Conv", {"x"}), node("floor", "Floor", {"c1"}),
                          node("add", "Add", {"c1", "floor"})});
  Result<PartitionPlan> plan = partition_graph(g, {&accel, &kReference}, infer_value_types(g, {}));
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->partitions.size(), 3u);
  EXPECT_EQ(plan->placement[0], &accel);
  EXPECT_EQ(plan->placement[1], &kReference);
  EXPECT_EQ(plan->placement[2], &accel);
  EXPECT_EQ(plan->reasons[1], "accel: fake cannot run Floor");
  expect_valid_order(g, *plan);
}

TEST(Partitioner, SideBranchDoesNotBlockTheMainChain) {
  // c1 -> r1 -> c2 with a side branch c1 -> floor that nothing on the chain reads: the chain
  // stays one partition.
  FakeBackend accel("accel", {"Conv", "Relu"}, {"Conv"});
  ir::Graph g = graph_of({node("c1", "Conv", {"x"}), node("floor", "Floor", {"c1"}),
                          node("r1", "Relu", {"c1"}), node("c2", "Conv", {"r1"})});
  Result<PartitionPlan> plan = partition_graph(g, {&accel, &kReference}, infer_value_types(g, {}));
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->partitions.size(), 2u);
  EXPECT_EQ(plan->partitions[0].nodes, (std::vector<size_t>{0, 2, 3}));
  EXPECT_EQ(plan->partitions[1].backend, &kReference);
  expect_valid_order(g, *plan);
}

TEST(Partitioner, TinyPartitionIsRefusedWithAReason) {
  FakeBackend accel("accel", {"Relu", "Conv"}, {"Conv"});
  ir::Graph g = graph_of({node("r", "Relu", {"x"}), node("floor", "Floor", {"r"}),
                          node("r2", "Relu", {"floor"}), node("r3", "Relu", {"r2"})});
  Result<PartitionPlan> plan = partition_graph(g, {&accel, &kReference}, infer_value_types(g, {}));
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_EQ(plan->placement[0], &kReference);
  EXPECT_NE(plan->reasons[0].find("accel: a partition of 1 node(s) (Relu)"), std::string::npos)
      << plan->reasons[0];
  EXPECT_NE(plan->reasons[0].find("too small"), std::string::npos);
  // Two connected elementwise nodes are enough.
  EXPECT_EQ(plan->placement[2], &accel);
  EXPECT_EQ(plan->placement[3], &accel);
  expect_valid_order(g, *plan);
}

TEST(Partitioner, LoneHeavyNodeIsKept) {
  FakeBackend accel("accel", {"Conv"}, {"Conv"});
  ir::Graph g = graph_of({node("c", "Conv", {"x"})});
  Result<PartitionPlan> plan = partition_graph(g, {&accel, &kReference}, infer_value_types(g, {}));
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(plan->placement[0], &accel);
}

TEST(Partitioner, TinyPartitionIsKeptWhenNoLaterBackendCanRunIt) {
  FakeBackend accel("accel", {"Relu"});
  ir::Graph g = graph_of({node("r", "Relu", {"x"})});
  Result<PartitionPlan> plan = partition_graph(g, {&accel}, infer_value_types(g, {}));
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_EQ(plan->placement[0], &accel);
}

TEST(Partitioner, IndependentChainsAreSeparatePartitions) {
  FakeBackend accel("accel", {"Conv"}, {"Conv"});
  ir::Graph g = graph_of(
      {node("a", "Conv", {"x"}), node("b", "Conv", {"x"}), node("sum", "Sum", {"a", "b"})});
  Result<PartitionPlan> plan = partition_graph(g, {&accel, &kReference}, infer_value_types(g, {}));
  ASSERT_TRUE(plan.is_ok());
  ASSERT_EQ(plan->partitions.size(), 3u);
  EXPECT_EQ(plan->partitions[2].backend, &kReference);
  expect_valid_order(g, *plan);
}

TEST(Partitioner, NodeNoBackendRunsIsAnErrorNamingIt) {
  FakeBackend accel("accel", {"Conv"}, {"Conv"});
  FakeBackend picky("picky", {"Relu"});
  ir::Graph g = graph_of({node("f", "Floor", {"x"})});
  Result<PartitionPlan> plan = partition_graph(g, {&accel, &picky}, infer_value_types(g, {}));
  ASSERT_FALSE(plan.is_ok());
  EXPECT_NE(plan.status().message().find("node 'f' (Floor)"), std::string::npos)
      << plan.status().message();
  EXPECT_NE(plan.status().message().find("picky: fake cannot run Floor"), std::string::npos);
}

TEST(ValueTypes, DtypesFollowThroughTheGraph) {
  ir::Graph g = graph_of({node("r", "Relu", {"x"}), node("s", "Shape", {"r"})});
  ir::Node cast = node("c", "Cast", {"s"});
  ir::Attribute to;
  to.name = "to";
  to.type = ir::AttrType::kInt;
  to.i = static_cast<int64_t>(DType::kFloat32);
  cast.attributes.push_back(to);
  g.nodes.push_back(cast);
  ValueTypes types = infer_value_types(g, {{2, 3}});
  EXPECT_EQ(types.dtype("r"), DType::kFloat32);
  EXPECT_EQ(types.dtype("s"), DType::kInt64);
  EXPECT_EQ(types.dtype("c"), DType::kFloat32);
  ASSERT_NE(types.shape("x"), nullptr);
  EXPECT_EQ(*types.shape("x"), (Shape{2, 3}));
  // Shape inference carries the shape on, and Shape's result is known as a value.
  ASSERT_NE(types.shape("r"), nullptr);
  EXPECT_EQ(*types.shape("r"), (Shape{2, 3}));
  ASSERT_NE(types.value("c"), nullptr);
  EXPECT_EQ(types.value("c")->to_vector<float>(), (std::vector<float>{2.0f, 3.0f}));
}

}  // namespace
}  // namespace edgerun::runtime
