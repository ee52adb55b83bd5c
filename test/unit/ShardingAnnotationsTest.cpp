//===- ShardingAnnotationsTest.cpp - --shardings files ---------------------===//

#include "partita/Sharding/Annotations.h"

#include <gtest/gtest.h>

using namespace partita;

namespace {

TEST(ShardingAnnotations, FormatReadsBack) {
  ShardingSpecs specs;
  specs.mesh = MeshSpec{{{"data", 2}, {"model", 4}}};
  specs.tensors.push_back({"x", {DimSpec{{"data"}, false}, DimSpec{{}, false}}});
  specs.tensors.push_back({"w", {DimSpec{{"data", "model"}, false}, DimSpec{{}, true}}});
  specs.tensors.push_back({"layers.0.b", {DimSpec{{"model"}, true}}});
  std::string text = formatShardings(specs);
  std::string error;
  auto back = parseShardings(text, "formatted", error);
  ASSERT_TRUE(succeeded(back)) << error;
  ASSERT_TRUE(back->mesh.has_value());
  EXPECT_EQ(back->mesh->axes, specs.mesh->axes);
  ASSERT_EQ(back->tensors.size(), specs.tensors.size());
  for (size_t i = 0; i < specs.tensors.size(); ++i) {
    EXPECT_EQ(back->tensors[i].first, specs.tensors[i].first);
    ASSERT_EQ(back->tensors[i].second.size(), specs.tensors[i].second.size());
    for (size_t d = 0; d < specs.tensors[i].second.size(); ++d) {
      EXPECT_EQ(back->tensors[i].second[d].axes, specs.tensors[i].second[d].axes);
      EXPECT_EQ(back->tensors[i].second[d].open, specs.tensors[i].second[d].open);
    }
  }
  // The plain forms a user writes by hand.
  EXPECT_NE(text.find("\"x\":[\"data\",null]"), std::string::npos) << text;
}

} // namespace
