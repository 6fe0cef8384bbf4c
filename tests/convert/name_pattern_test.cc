#include "convert/name_pattern.h"

#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace halfcast::convert {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

bool Full(const std::string& pattern, const std::string& name) {
  absl::StatusOr<NamePattern> p = NamePattern::Compile(pattern);
  EXPECT_TRUE(p.ok()) << pattern << ": " << p.status();
  return p.ok() && p->Matches(name);
}

std::string CompileError(const std::string& pattern) {
  absl::StatusOr<NamePattern> p = NamePattern::Compile(pattern);
  EXPECT_FALSE(p.ok()) << pattern << " compiled";
  return p.ok() ? "" : std::string(p.status().message());
}

TEST(NamePatternTest, MatchesTheWholeName) {
  EXPECT_TRUE(Full("conv2d_.*", "conv2d_"));
  EXPECT_TRUE(Full("conv2d_.*", "conv2d_12/BiasAdd"));
  EXPECT_FALSE(Full("conv2d_.*", "model/conv2d_1"));
  EXPECT_FALSE(Full("conv", "conv1"));
  EXPECT_TRUE(Full(".*conv.*", "model/conv2d_1"));
  EXPECT_TRUE(Full("^/layer[0-9]+/MatMul$", "/layer12/MatMul"));
  EXPECT_FALSE(Full("^/layer[0-9]+/MatMul$", "/layer/MatMul"));
}

TEST(NamePatternTest, Operators) {
  EXPECT_TRUE(Full("MatMul|Gemm", "Gemm"));
  EXPECT_FALSE(Full("MatMul|Gemm", "MatMulGemm"));
  EXPECT_TRUE(Full("(?:Mat)?Mul", "Mul"));
  EXPECT_TRUE(Full("(Mat)?Mul", "MatMul"));
  EXPECT_TRUE(Full("a+b*c?", "aaab"));
  EXPECT_FALSE(Full("a+b*c?", "bc"));
  EXPECT_TRUE(Full("x{3}", "xxx"));
  EXPECT_FALSE(Full("x{3}", "xx"));
  EXPECT_TRUE(Full("x{2,}", "xxxxx"));
  EXPECT_FALSE(Full("x{2,}", "x"));
  EXPECT_TRUE(Full("x{1,2}y", "xxy"));
  EXPECT_FALSE(Full("x{1,2}y", "xxxy"));
  EXPECT_TRUE(Full("a.*?b", "aXXb"));   // lazy: the same names as greedy
  EXPECT_TRUE(Full("(a*)*b", "aaab"));  // an empty loop ends
  EXPECT_TRUE(Full("(|x)y", "y"));
}

TEST(NamePatternTest, ClassesAndEscapes) {
  EXPECT_TRUE(Full("[a-c_]+", "ab_c"));
  EXPECT_FALSE(Full("[a-c_]+", "abd"));
  EXPECT_TRUE(Full("[^/]+", "Conv_3"));
  EXPECT_FALSE(Full("[^/]+", "a/b"));
  EXPECT_TRUE(Full("[]a]", "]"));
  EXPECT_TRUE(Full("[a-]", "-"));
  EXPECT_TRUE(Full("\\d+\\.\\w\\s", "12.x "));
  EXPECT_TRUE(Full("\\D\\W\\S", "a.b"));
  EXPECT_FALSE(Full("\\D", "7"));
  EXPECT_TRUE(Full("[\\d.]+", "1.5"));
  EXPECT_TRUE(Full("a\\(1\\)", "a(1)"));
  EXPECT_FALSE(Full("a(1)", "a(1)"));  // a group, not the characters
  EXPECT_TRUE(Full("\\^\\$\\{", "^${"));
}

TEST(NamePatternTest, NonAsciiCharactersAreOneCharacterForDotAndNegatedClasses) {
  EXPECT_TRUE(Full("a.b",
                   "a\xC3\xA9"
                   "b"));  // é: two bytes
  EXPECT_TRUE(Full("a[^x]b",
                   "a\xE2\x82\xAC"
                   "b"));  // €: three bytes
  EXPECT_FALSE(Full("a..b",
                    "a\xC3\xA9"
                    "b"));
  EXPECT_TRUE(Full("caf\xC3\xA9", "caf\xC3\xA9"));  // literal non-ASCII
}

TEST(NamePatternTest, RefusesWhatItDoesNotSupportNamingWhere) {
  EXPECT_THAT(CompileError("conv("), HasSubstr("missing ')'"));
  EXPECT_THAT(CompileError("conv)"), HasSubstr("unmatched ')'"));
  EXPECT_THAT(CompileError("[abc"), HasSubstr("missing ']'"));
  EXPECT_THAT(CompileError("*a"), HasSubstr("nothing to repeat"));
  EXPECT_THAT(CompileError("a**"), HasSubstr("repetition of a repetition"));
  EXPECT_THAT(CompileError("a{2"), HasSubstr("count"));
  EXPECT_THAT(CompileError("a{3,1}"), HasSubstr("count"));
  EXPECT_THAT(CompileError("a{1001}"), HasSubstr("count"));
  EXPECT_THAT(CompileError("(?i)conv"), HasSubstr("not supported"));
  EXPECT_THAT(CompileError("(?=a)"), HasSubstr("not supported"));
  EXPECT_THAT(CompileError("\\1"), HasSubstr("'\\1' is not supported"));
  EXPECT_THAT(CompileError("\\bconv"), HasSubstr("not supported"));
  EXPECT_THAT(CompileError("a^b"), HasSubstr("leading '^'"));
  EXPECT_THAT(CompileError("a$b"), HasSubstr("trailing '$'"));
  EXPECT_THAT(CompileError("[z-a]"), HasSubstr("out of order"));
  EXPECT_THAT(CompileError("[\xC3\xA9]"), HasSubstr("non-ASCII"));
  EXPECT_THAT(CompileError("a\\"), HasSubstr("trailing"));
  EXPECT_THAT(CompileError("ab|c)"), HasSubstr("offset 4"));
  EXPECT_THAT(CompileError(std::string(1001, 'a')), HasSubstr("longer than 1000"));
  EXPECT_THAT(CompileError(std::string(200, '(') + std::string(200, ')')), HasSubstr("nested"));
  EXPECT_THAT(CompileError("((a{1000}){1000}){1000}"), HasSubstr("too large"));
}

// std::regex recurses per character and overflows a thread's stack on names this long; the NFA
// needs no stack, and its time is linear where backtracking would be exponential.
TEST(NamePatternTest, LongNamesNeedNoStackAndLinearTime) {
  const std::string name(200000, 'a');
  bool long_match = false;
  bool pathological = true;
  std::thread small_stack_free([&] {
    long_match = Full("(a|b)*", name);
    pathological = Full("(a*)*b", std::string(5000, 'a'));
  });
  small_stack_free.join();
  EXPECT_TRUE(long_match);
  EXPECT_FALSE(pathological);
}

TEST(NamePatternTest, Metacharacters) {
  EXPECT_FALSE(NamePattern::HasMetacharacters("/model/Conv_1:0"));
  EXPECT_TRUE(NamePattern::HasMetacharacters("layer.0"));
  EXPECT_TRUE(NamePattern::HasMetacharacters("a[1]"));
}

TEST(NameListTest, MatchesNamesAndPatternsAndTellsWhatMatchedNothing) {
  absl::StatusOr<NameList> list =
      NameList::Create({"Conv_1", "conv2d_.*", "MatMul|Gemm", "Typo"}, "node_block_list");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(list->Unmatched(), ElementsAre("Conv_1", "conv2d_.*", "MatMul|Gemm", "Typo"));
  EXPECT_TRUE(list->Match("Conv_1"));
  EXPECT_TRUE(list->Match("conv2d_7"));
  EXPECT_FALSE(list->Match("relu"));
  EXPECT_THAT(list->Unmatched(), ElementsAre("MatMul|Gemm", "Typo"));
  EXPECT_TRUE(list->Match("Gemm"));
  EXPECT_THAT(list->Unmatched(), ElementsAre("Typo"));
}

TEST(NameListTest, EveryEntryThatMatchesIsMarked) {
  absl::StatusOr<NameList> list = NameList::Create({"Conv", "Co.*", "C.*"}, "op_block_list");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->Match("Conv"));
  EXPECT_TRUE(list->Unmatched().empty());
}

// A name that happens to hold metacharacters still matches an entry equal to it, as the Python
// tool's exact names did.
TEST(NameListTest, AnEntryMatchesTheNameEqualToIt) {
  absl::StatusOr<NameList> list = NameList::Create({"block(1)", "layer.0"}, "node_block_list");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->Match("block(1)"));
  EXPECT_TRUE(list->Match("layer.0"));
  EXPECT_TRUE(list->Match("layerX0"));  // '.' is any character
  EXPECT_FALSE(list->Match("block1x"));
}

TEST(NameListTest, AnInvalidPatternNamesTheListAndTheEntry) {
  absl::StatusOr<NameList> list = NameList::Create({"ok", "conv2d_[0-9"}, "node_include_list");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(list.status().message(),
              HasSubstr("node_include_list: 'conv2d_[0-9' is not a valid pattern: missing ']'"));
}

}  // namespace
}  // namespace halfcast::convert
