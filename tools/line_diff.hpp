// A line diff of two texts in the unified format (`--- a`, `+++ b`, `@@` hunks with context,
// `-` and `+` lines), for showing how two scenario texts differ (`replay --scenario`,
// `log diff`).
//
// The edit script is a shortest one (Myers' O((N+M)D) algorithm, D the number of lines
// added and removed), so a small change in a long scenario costs little. Its trace keeps one
// row per edit, O(D^2) integers: past `max_edits` edits the lines between the common start
// and end are shown as removed and added whole, which is still a correct diff, only not a
// shortest one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace spikenn {

struct LineDiffOptions {
    std::size_t context = 3;       // unchanged lines shown around each change
    std::size_t max_lines = 40;    // lines after the two headers; the rest are counted
    std::size_t max_edits = 2000;  // beyond this the middle is replaced whole (above)
};

// The diff of `a` into `b`, each line ending in '\n'; empty when the texts are equal. A
// text's last line need not end in a newline; when that is all that differs the diff says so.
std::string unified_diff(std::string_view a, std::string_view b, std::string_view a_label, std::string_view b_label,
    const LineDiffOptions& options = {});

} // namespace spikenn
