#include "tools/line_diff.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace spikenn {

namespace {

enum class Op { same, removed, added };

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const auto end = text.find('\n');
        if (end == std::string_view::npos) {
            lines.push_back(text);
            break;
        }
        lines.push_back(text.substr(0, end));
        text.remove_prefix(end + 1);
    }
    return lines;
}

// A shortest edit script of a into b (Myers), or none when it takes more than max_edits.
// trace[d] holds, for each diagonal k = x - y in [-d, d], the furthest x reached with d - 1
// edits: what step d started from, and what the walk back from the end needs.
std::optional<std::vector<Op>> shortest_script(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b,
    std::size_t max_edits) {
    const std::int64_t n = static_cast<std::int64_t>(a.size()), m = static_cast<std::int64_t>(b.size());
    const std::int64_t most = std::min<std::int64_t>(n + m, static_cast<std::int64_t>(max_edits));
    std::vector<std::int32_t> v(static_cast<std::size_t>(2 * most + 3), 0);
    auto at = [&](std::int64_t k) -> std::int32_t& { return v[static_cast<std::size_t>(k + most + 1)]; };
    std::vector<std::vector<std::int32_t>> trace;
    std::int64_t edits = -1;
    for (std::int64_t d = 0; d <= most && edits < 0; ++d) {
        trace.emplace_back(v.begin() + (most + 1 - d), v.begin() + (most + 2 + d));
        for (std::int64_t k = -d; k <= d; k += 2) {
            std::int64_t x = (k == -d || (k != d && at(k - 1) < at(k + 1))) ? at(k + 1) : at(k - 1) + 1;
            std::int64_t y = x - k;
            while (x < n && y < m && a[static_cast<std::size_t>(x)] == b[static_cast<std::size_t>(y)]) ++x, ++y;
            at(k) = static_cast<std::int32_t>(x);
            if (x >= n && y >= m) {
                edits = d;
                break;
            }
        }
    }
    if (edits < 0) return std::nullopt;
    // Walk back from the end: each step is a snake (equal lines) after one edit.
    std::vector<Op> ops;
    std::int64_t x = n, y = m;
    for (std::int64_t d = edits; d > 0; --d) {
        const auto& before = trace[static_cast<std::size_t>(d)];
        auto prev = [&](std::int64_t k) { return static_cast<std::int64_t>(before[static_cast<std::size_t>(k + d)]); };
        const std::int64_t k = x - y;
        const bool down = k == -d || (k != d && prev(k - 1) < prev(k + 1)); // a line of b added
        const std::int64_t prev_k = down ? k + 1 : k - 1;
        const std::int64_t prev_x = prev(prev_k), prev_y = prev_x - prev_k;
        const std::int64_t snake_x = down ? prev_x : prev_x + 1;
        for (; x > snake_x; --x, --y) ops.push_back(Op::same);
        ops.push_back(down ? Op::added : Op::removed);
        x = prev_x;
        y = prev_y;
    }
    for (; x > 0; --x) ops.push_back(Op::same);
    std::reverse(ops.begin(), ops.end());
    return ops;
}

// The script of a into b: the common start and end as they are, the middle by Myers.
std::vector<Op> edit_script(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b, std::size_t max_edits) {
    std::size_t start = 0;
    while (start < a.size() && start < b.size() && a[start] == b[start]) ++start;
    std::size_t end = 0;
    while (end < a.size() - start && end < b.size() - start && a[a.size() - 1 - end] == b[b.size() - 1 - end]) ++end;
    const std::vector<std::string_view> mid_a(a.begin() + static_cast<std::ptrdiff_t>(start), a.end() - static_cast<std::ptrdiff_t>(end));
    const std::vector<std::string_view> mid_b(b.begin() + static_cast<std::ptrdiff_t>(start), b.end() - static_cast<std::ptrdiff_t>(end));
    std::vector<Op> ops(start, Op::same);
    if (auto mid = shortest_script(mid_a, mid_b, max_edits)) {
        ops.insert(ops.end(), mid->begin(), mid->end());
    }
    else {
        ops.insert(ops.end(), mid_a.size(), Op::removed);
        ops.insert(ops.end(), mid_b.size(), Op::added);
    }
    ops.insert(ops.end(), end, Op::same);
    return ops;
}

// A hunk's range: "start,count", start counted from 1, or the line before when count is 0.
std::string range(std::size_t first, std::size_t count) { return fmt::format("{},{}", count ? first + 1 : first, count); }

} // namespace

std::string unified_diff(std::string_view a, std::string_view b, std::string_view a_label, std::string_view b_label,
    const LineDiffOptions& options) {
    if (a == b) return {};
    const auto la = lines_of(a), lb = lines_of(b);
    const std::vector<Op> ops = edit_script(la, lb, options.max_edits);
    std::string out = fmt::format("--- {}\n+++ {}\n", a_label, b_label);
    std::vector<std::size_t> changes;
    for (std::size_t i = 0; i < ops.size(); ++i)
        if (ops[i] != Op::same) changes.push_back(i);
    if (changes.empty()) return out + "(the texts differ only in the newline at the end of the last line)\n";

    // Where each op stands in a and in b.
    std::vector<std::size_t> pos_a(ops.size() + 1), pos_b(ops.size() + 1);
    for (std::size_t i = 0; i < ops.size(); ++i) {
        pos_a[i + 1] = pos_a[i] + (ops[i] != Op::added);
        pos_b[i + 1] = pos_b[i] + (ops[i] != Op::removed);
    }
    std::size_t shown = 0, hidden = 0;
    auto emit = [&](const std::string& line, bool change) {
        if (shown < options.max_lines) {
            out += line;
            out += '\n';
            ++shown;
        }
        else if (change) {
            ++hidden;
        }
    };
    const std::size_t c = options.context;
    for (std::size_t h = 0; h < changes.size();) {
        // A hunk: changes whose gaps of equal lines are at most twice the context.
        std::size_t last = h;
        while (last + 1 < changes.size() && changes[last + 1] - changes[last] - 1 <= 2 * c) ++last;
        const std::size_t from = changes[h] > c ? changes[h] - c : 0;
        const std::size_t to = std::min(ops.size(), changes[last] + 1 + c);
        emit(fmt::format("@@ -{} +{} @@", range(pos_a[from], pos_a[to] - pos_a[from]), range(pos_b[from], pos_b[to] - pos_b[from])), false);
        for (std::size_t i = from; i < to; ++i) {
            switch (ops[i]) {
            case Op::same: emit(fmt::format(" {}", la[pos_a[i]]), false); break;
            case Op::removed: emit(fmt::format("-{}", la[pos_a[i]]), true); break;
            case Op::added: emit(fmt::format("+{}", lb[pos_b[i]]), true); break;
            }
        }
        h = last + 1;
    }
    if (hidden) out += fmt::format("... {} more {}\n", hidden, hidden == 1 ? "line differs" : "lines differ");
    return out;
}

} // namespace spikenn
