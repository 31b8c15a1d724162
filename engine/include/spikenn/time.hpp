// Simulated time: an integer count of ticks of one fixed resolution.
//
// One tick is one nanosecond, fixed at compile time: an int64 covers about 292 years,
// and no constructor has to consult a global resolution. The same type serves for
// instants and durations. Arithmetic is exact; conversion to seconds is for display
// and for the decay formulas only.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace spikenn {

class Time {
public:
    static constexpr std::int64_t ticks_per_second = 1'000'000'000;

    constexpr Time() = default;
    static constexpr Time from_ticks(std::int64_t t) { return Time(t); }
    static constexpr Time from_us(std::int64_t us) { return Time(us * 1000); }
    static constexpr Time from_ms(std::int64_t ms) { return Time(ms * 1'000'000); }
    static constexpr Time zero() { return Time(0); }
    static constexpr Time max() { return Time(std::numeric_limits<std::int64_t>::max()); }

    constexpr std::int64_t ticks() const { return ticks_; }
    constexpr double seconds() const { return static_cast<double>(ticks_) / static_cast<double>(ticks_per_second); }

    friend constexpr auto operator<=>(Time, Time) = default;
    friend constexpr Time operator+(Time a, Time b) { return Time(a.ticks_ + b.ticks_); }
    friend constexpr Time operator-(Time a, Time b) { return Time(a.ticks_ - b.ticks_); }
    constexpr Time& operator+=(Time b) { ticks_ += b.ticks_; return *this; }

private:
    constexpr explicit Time(std::int64_t t): ticks_(t) {}
    std::int64_t ticks_ = 0;
};

// Parses a duration or an instant such as "1.5s", "250ms", "20us", "3ns", "1e-3s" or "0".
// The value must be a whole number of ticks: "0.5ns" is an error, never a rounding.
// Throws std::invalid_argument with a message that says what was wrong.
Time parse_time(std::string_view text);

// Parses a rate per unit of time such as "0.02/s" or "5/ms" into a rate per second.
double parse_rate(std::string_view text);

// Exact text for a time: the largest unit in which it is at least 1, with as many
// decimals as needed ("1.5s", "250ms", "1.000001ms", "3ns", "0s").
std::string format_time(Time t);

} // namespace spikenn

template <>
struct fmt::formatter<spikenn::Time>: fmt::formatter<std::string_view> {
    template <typename Context>
    auto format(spikenn::Time t, Context& ctx) const {
        std::string s = spikenn::format_time(t);
        return fmt::formatter<std::string_view>::format(s, ctx);
    }
};
