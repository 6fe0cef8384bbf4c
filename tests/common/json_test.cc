#include "common/json.h"

#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace halfcast {
namespace {

TEST(JsonTest, StringsEscapeQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString("a\"b\\c\nd\te\x01"), R"("a\"b\\c\nd\te\u0001")");
  EXPECT_EQ(JsonString("h\xc3\xa9"), "\"h\xc3\xa9\"");  // UTF-8 passes through
}

TEST(JsonTest, NonFiniteNumbersAreNull) {
  EXPECT_EQ(JsonNumber(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(JsonNumber(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(JsonNumber(0.1), "0.10000000000000001");
}

TEST(JsonObjectWriterTest, PlacesBracesCommasAndEscapedKeys) {
  std::string out;
  { JsonObjectWriter json(&out); }
  EXPECT_EQ(out, "{}");

  out.clear();
  {
    JsonObjectWriter json(&out);
    json.String("na\"me", "x").Int("count", -3);
    JsonObjectWriter(json.Member("nested")).Int("a", 1).String("b", "");
    AppendJsonArray(json.Member("items"), std::vector<int>{1, 2},
                    [](std::string* o, int i) { JsonObjectWriter(o).Int("i", i); });
    AppendJsonArray(json.Member("empty"), std::vector<int>{}, [](std::string*, int) {});
  }
  EXPECT_EQ(out, R"({"na\"me":"x","count":-3,"nested":{"a":1,"b":""},"items":[{"i":1},{"i":2}],)"
                 R"("empty":[]})");
}

}  // namespace
}  // namespace halfcast
