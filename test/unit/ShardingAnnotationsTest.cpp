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

TEST(ShardingAnnotations, PrioritiesAndAttentionFormsReadBack) {
  ShardingSpecs specs;
  specs.tensors.push_back({"embed.out", {DimSpec{}, DimSpec{{"model"}, false}, DimSpec{}}});
  specs.priorities["embed.out"] = 1;
  specs.attentionForm = "ring";
  std::string error;
  auto back = parseShardings(formatShardings(specs), "formatted", error);
  ASSERT_TRUE(succeeded(back)) << error;
  EXPECT_EQ(back->priorities, specs.priorities);
  EXPECT_EQ(back->attentionForm, specs.attentionForm);
  EXPECT_TRUE(back->attentionForms.empty());

  specs.attentionForms["layers.0.attn.context"] = "ulysses";
  back = parseShardings(formatShardings(specs), "formatted", error);
  ASSERT_TRUE(succeeded(back)) << error;
  EXPECT_EQ(back->attentionForms, specs.attentionForms);
}

TEST(ShardingAnnotations, ExpertAxesReadBack) {
  ShardingSpecs specs;
  specs.expertAxis = "expert";
  std::string error;
  auto back = parseShardings(formatShardings(specs), "formatted", error);
  ASSERT_TRUE(succeeded(back)) << error;
  EXPECT_EQ(back->expertAxis, specs.expertAxis);
  EXPECT_FALSE(back->expertFfnAxis.has_value());
  specs.expertFfnAxis = "model";
  back = parseShardings(formatShardings(specs), "formatted", error);
  ASSERT_TRUE(succeeded(back)) << error;
  EXPECT_EQ(back->expertAxis, specs.expertAxis);
  EXPECT_EQ(back->expertFfnAxis, specs.expertFfnAxis);
}

TEST(ShardingAnnotations, BadPrioritiesAndFormsAreOneLine) {
  struct Case {
    const char *text, *message;
  };
  for (const Case &c : {
           Case{R"({"shardings": {"x": {"dims": [null], "priority": -1}}})",
                "f.json: sharding of \"x\": \"priority\" must be a non-negative integer"},
           Case{R"({"shardings": {"x": {"priority": 1}}})", "f.json: sharding of \"x\" needs \"dims\""},
           Case{R"({"shardings": {"x": {"dims": [null], "prio": 1}}})",
                "f.json: sharding of \"x\": unknown key \"prio\" (expected \"dims\", \"priority\")"},
           Case{R"({"attention": "flash"})",
                "f.json: \"attention\" must be \"auto\", \"gather\", \"ulysses\", \"ring\", "
                "\"zigzag\" or an object mapping attention outputs to one of them"},
           Case{R"({"attention": {"a": 1}})",
                "f.json: \"attention\" of \"a\" must be \"auto\", \"gather\", \"ulysses\", \"ring\" or "
                "\"zigzag\""},
           Case{R"({"experts": 2})", "f.json: \"experts\" must be a mesh axis name or "
                                     "{\"axis\": AXIS, \"ffn\": AXIS}"},
           Case{R"({"experts": {"ffn": "model"}})",
                "f.json: \"experts\" must be a mesh axis name or {\"axis\": AXIS, \"ffn\": AXIS}"},
           Case{R"({"experts": {"axis": "expert", "tp": "model"}})",
                "f.json: \"experts\" must be a mesh axis name or {\"axis\": AXIS, \"ffn\": AXIS}"},
       }) {
    std::string error;
    EXPECT_TRUE(failed(parseShardings(c.text, "f.json", error))) << c.text;
    EXPECT_EQ(error, c.message);
  }
}

} // namespace
