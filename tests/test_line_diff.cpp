#include <doctest/doctest.h>

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tools/line_diff.hpp"

using spikenn::LineDiffOptions;
using spikenn::unified_diff;

namespace {

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}

std::string join(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l: lines) s += l + "\n";
    return s;
}

// Applies a unified diff to `a`, checking each context and removed line against it: what
// patch(1) would make of it. Throws on a hunk that does not fit.
std::string apply(const std::string& a, const std::string& diff) {
    const auto from = split(a);
    const auto d = split(diff);
    std::vector<std::string> out;
    std::size_t at = 0; // next line of `from` not yet copied
    for (std::size_t i = 2; i < d.size();) {
        int start = 0, count = 0, bstart = 0, bcount = 0;
        REQUIRE(std::sscanf(d[i].c_str(), "@@ -%d,%d +%d,%d @@", &start, &count, &bstart, &bcount) == 4);
        const std::size_t first = count ? static_cast<std::size_t>(start - 1) : static_cast<std::size_t>(start);
        REQUIRE(first >= at);
        while (at < first) out.push_back(from[at++]);
        int seen_a = 0, seen_b = 0;
        for (++i; i < d.size() && d[i].rfind("@@", 0) != 0; ++i) {
            const char op = d[i][0];
            const std::string line = d[i].substr(1);
            if (op == ' ' || op == '-') {
                REQUIRE(at < from.size());
                REQUIRE(from[at] == line);
                ++at;
                ++seen_a;
            }
            if (op == ' ' || op == '+') {
                out.push_back(line);
                ++seen_b;
            }
        }
        CHECK(seen_a == count);
        CHECK(seen_b == bcount);
    }
    while (at < from.size()) out.push_back(from[at++]);
    return join(out);
}

// The number of lines a shortest diff removes and adds: the lines outside a longest common
// subsequence, by the textbook table.
std::size_t edits_needed(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    std::vector<std::vector<std::size_t>> t(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = a.size(); i-- > 0;)
        for (std::size_t j = b.size(); j-- > 0;) t[i][j] = a[i] == b[j] ? t[i + 1][j + 1] + 1 : std::max(t[i + 1][j], t[i][j + 1]);
    return a.size() + b.size() - 2 * t[0][0];
}

std::size_t changed_lines(const std::string& diff) {
    std::size_t n = 0;
    const auto d = split(diff);
    for (std::size_t i = 2; i < d.size(); ++i) n += d[i][0] == '-' || d[i][0] == '+';
    return n;
}

} // namespace

// Identical texts have no diff at all, empty ones included.
TEST_CASE("line diff of identical texts is empty") {
    CHECK(unified_diff("", "", "a", "b").empty());
    CHECK(unified_diff("x\ny\n", "x\ny\n", "a", "b").empty());
}

// A line added in the middle: the headers, one hunk with three lines of context each side.
TEST_CASE("line diff of an insertion") {
    const std::string a = "1\n2\n3\n4\n5\n6\n7\n8\n";
    const std::string b = "1\n2\n3\n4\nnew\n5\n6\n7\n8\n";
    CHECK(unified_diff(a, b, "old.yaml", "new.yaml") ==
          "--- old.yaml\n+++ new.yaml\n"
          "@@ -2,6 +2,7 @@\n 2\n 3\n 4\n+new\n 5\n 6\n 7\n");
}

// A deleted line, and changes at the very start and the very end (context cut by the edges).
TEST_CASE("line diff of deletions and of changes at the start and the end") {
    CHECK(unified_diff("a\nb\nc\n", "a\nc\n", "x", "y") == "--- x\n+++ y\n@@ -1,3 +1,2 @@\n a\n-b\n c\n");
    CHECK(unified_diff("first\nb\nc\nd\ne\n", "FIRST\nb\nc\nd\ne\n", "x", "y") == "--- x\n+++ y\n@@ -1,4 +1,4 @@\n-first\n+FIRST\n b\n c\n d\n");
    CHECK(unified_diff("a\nb\nc\nd\nlast\n", "a\nb\nc\nd\nLAST\n", "x", "y") == "--- x\n+++ y\n@@ -2,4 +2,4 @@\n b\n c\n d\n-last\n+LAST\n");
}

// From and to an empty text: every line added or removed, the empty side's range 0,0.
TEST_CASE("line diff against an empty text") {
    CHECK(unified_diff("", "a\nb\n", "x", "y") == "--- x\n+++ y\n@@ -0,0 +1,2 @@\n+a\n+b\n");
    CHECK(unified_diff("a\nb\n", "", "x", "y") == "--- x\n+++ y\n@@ -1,2 +0,0 @@\n-a\n-b\n");
}

// Changes far apart are separate hunks; changes closer than twice the context share one.
TEST_CASE("line diff splits hunks by distance") {
    std::vector<std::string> a;
    for (int i = 0; i < 30; ++i) a.push_back(std::to_string(i));
    auto b = a;
    b[2] = "two";
    b[25] = "twenty-five";
    const std::string far = unified_diff(join(a), join(b), "x", "y");
    CHECK(far.find("@@ -1,6 +1,6 @@") != std::string::npos);
    CHECK(far.find("@@ -23,7 +23,7 @@") != std::string::npos);
    b = a;
    b[2] = "two";
    b[8] = "eight"; // five equal lines between: within 2 * 3
    const std::string near = unified_diff(join(a), join(b), "x", "y");
    CHECK(near.find("@@ -1,12 +1,12 @@") != std::string::npos);
    CHECK(split(near).size() == 2 + 1 + 12 + 2);
}

// A last line without its newline counts as a line; a difference in that newline alone is named.
TEST_CASE("line diff of texts that differ only in the final newline") {
    CHECK(unified_diff("a\nb", "a\nc", "x", "y") == "--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n");
    CHECK(unified_diff("a\nb", "a\nb\n", "x", "y") == "--- x\n+++ y\n(the texts differ only in the newline at the end of the last line)\n");
}

// The output stops after max_lines lines and counts the changed lines it left out.
TEST_CASE("line diff output is capped") {
    std::string a, b;
    for (int i = 0; i < 100; ++i) {
        a += fmt::format("line {}\n", i);
        b += fmt::format("LINE {}\n", i);
    }
    LineDiffOptions o;
    o.max_lines = 40;
    const std::string d = unified_diff(a, b, "x", "y", o);
    const auto lines = split(d);
    REQUIRE(lines.size() == 2 + 40 + 1);
    // One hunk header, then 39 of the 200 changed lines shown.
    CHECK(lines.back() == "... 161 more lines differ");
}

// Random texts over a few distinct lines: the diff applies to a and gives b, and it is a
// shortest one (as many changed lines as a longest common subsequence leaves). Past
// max_edits the middle is replaced whole, which still applies.
TEST_CASE("line diff applies and is minimal on random texts") {
    std::mt19937 rng(12345);
    LineDiffOptions all;
    all.max_lines = 1'000'000;
    for (int round = 0; round < 300; ++round) {
        auto random_lines = [&] {
            std::vector<std::string> v(rng() % 25);
            for (auto& l: v) l = std::string(1, static_cast<char>('a' + rng() % 4));
            return v;
        };
        const auto la = random_lines(), lb = random_lines();
        const std::string a = join(la), b = join(lb);
        CAPTURE(a);
        CAPTURE(b);
        const std::string d = unified_diff(a, b, "x", "y", all);
        if (a == b) {
            CHECK(d.empty());
            continue;
        }
        CHECK(apply(a, d) == b);
        CHECK(changed_lines(d) == edits_needed(la, lb));
        LineDiffOptions few = all;
        few.max_edits = 1;
        const std::string rough = unified_diff(a, b, "x", "y", few);
        CHECK(apply(a, rough) == b);
    }
}
