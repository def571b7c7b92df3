// docs/operators.md is generated from the operator registry; this fails when it is stale.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace {

TEST(OperatorsDoc, MatchesTheRegistry) {
  const std::string command = std::string(EDGERUN_CLI_PATH) + " operators";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  ASSERT_NE(pipe, nullptr);
  std::string generated;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) generated.append(buffer, n);

  std::ifstream in(std::string(EDGERUN_SOURCE_DIR) + "/docs/operators.md");
  std::stringstream committed;
  committed << in.rdbuf();
  EXPECT_TRUE(generated == committed.str())
      << "docs/operators.md is stale; regenerate it with: build/edgerun operators > "
         "docs/operators.md";
}

}  // namespace
