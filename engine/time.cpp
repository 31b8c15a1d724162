#include <spikenn/time.hpp>

#include <charconv>
#include <stdexcept>

namespace spikenn {

namespace {

struct Unit {
    std::string_view suffix;
    int exponent; // ticks per unit = 10^exponent
};

// Longest suffixes first so that "ms" is not read as "s".
constexpr Unit units[] = {{"ms", 6}, {"us", 3}, {"ns", 0}, {"s", 9}};

// Splits "12.5e3ms" into its number and its unit; the unit may be empty.
std::pair<std::string_view, std::string_view> split_unit(std::string_view text) {
    std::size_t end = text.size();
    while (end > 0 && ((text[end - 1] >= 'a' && text[end - 1] <= 'z') || (text[end - 1] >= 'A' && text[end - 1] <= 'Z'))) {
        --end;
    }
    return {text.substr(0, end), text.substr(end)};
}

// An exact decimal: value = sign * digits * 10^exponent.
struct Decimal {
    bool negative = false;
    std::string digits; // no leading zeros, may be empty for zero
    int exponent = 0;
};

Decimal parse_decimal(std::string_view s, std::string_view whole) {
    auto fail = [&](const char* what) {
        throw std::invalid_argument(fmt::format("'{}' is not a valid time: {}", whole, what));
    };
    Decimal d;
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        d.negative = s[i] == '-';
        ++i;
    }
    bool any_digit = false;
    bool seen_point = false;
    int frac_digits = 0;
    for (; i < s.size(); ++i) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            any_digit = true;
            if (!(d.digits.empty() && c == '0')) d.digits.push_back(c);
            if (seen_point) ++frac_digits;
        }
        else if (c == '.' && !seen_point) {
            seen_point = true;
        }
        else {
            break;
        }
    }
    if (!any_digit) fail("expected a number");
    int exp10 = 0;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        auto rest = s.substr(i);
        auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), exp10);
        if (ec != std::errc() || ptr == rest.data()) fail("bad exponent");
        i += static_cast<std::size_t>(ptr - rest.data());
    }
    if (i != s.size()) fail("unexpected characters");
    if (exp10 > 100 || exp10 < -100) fail("exponent out of range");
    d.exponent = exp10 - frac_digits;
    return d;
}

} // namespace

Time parse_time(std::string_view text) {
    auto [number, unit_text] = split_unit(text);
    // split_unit takes the letters at the end, so "1e3s" splits as "1e3" + "s".
    int unit_exponent = 9;
    if (unit_text.empty()) {
        // Only zero may omit its unit.
        Decimal d = parse_decimal(number, text);
        if (!d.digits.empty()) {
            throw std::invalid_argument(fmt::format("'{}' is not a valid time: a unit is required (s, ms, us or ns)", text));
        }
        return Time::zero();
    }
    bool found = false;
    for (const auto& u: units) {
        if (unit_text == u.suffix) {
            unit_exponent = u.exponent;
            found = true;
            break;
        }
    }
    if (!found) {
        throw std::invalid_argument(
            fmt::format("'{}' is not a valid time: unknown unit '{}' (expected s, ms, us or ns)", text, unit_text));
    }
    Decimal d = parse_decimal(number, text);
    int exponent = d.exponent + unit_exponent;
    std::string digits = d.digits;
    // Drop trailing zeros into the exponent so "1.50ns" is as exact as "1.5ns".
    while (!digits.empty() && digits.back() == '0' && exponent < 0) {
        digits.pop_back();
        ++exponent;
    }
    if (digits.empty()) return Time::zero();
    if (exponent < 0) {
        throw std::invalid_argument(
            fmt::format("'{}' is not a whole number of ticks (the resolution is 1ns)", text));
    }
    // Checked arithmetic: value * 10 + digit must stay within int64.
    constexpr std::int64_t limit = std::numeric_limits<std::int64_t>::max();
    std::int64_t value = 0;
    auto push_digit = [&](int digit) {
        if (value > (limit - digit) / 10) {
            throw std::invalid_argument(fmt::format("'{}' is out of range (at most about 292 years)", text));
        }
        value = value * 10 + digit;
    };
    for (char c: digits) push_digit(c - '0');
    for (int k = 0; k < exponent; ++k) push_digit(0);
    const std::int64_t ticks = value;
    return Time::from_ticks(d.negative ? -ticks : ticks);
}

double parse_rate(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        throw std::invalid_argument(fmt::format("'{}' is not a valid rate: expected a number per unit of time, such as 0.02/s", text));
    }
    auto number = text.substr(0, slash);
    auto unit = text.substr(slash + 1);
    double per_unit = 0;
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), per_unit);
    if (ec != std::errc() || ptr != number.data() + number.size()) {
        throw std::invalid_argument(fmt::format("'{}' is not a valid rate: '{}' is not a number", text, number));
    }
    double unit_seconds = 0;
    if (unit == "s") unit_seconds = 1;
    else if (unit == "ms") unit_seconds = 1e-3;
    else if (unit == "us") unit_seconds = 1e-6;
    else if (unit == "ns") unit_seconds = 1e-9;
    else {
        throw std::invalid_argument(fmt::format("'{}' is not a valid rate: unknown unit '{}' (expected s, ms, us or ns)", text, unit));
    }
    return per_unit / unit_seconds;
}

std::string format_time(Time t) {
    std::int64_t ticks = t.ticks();
    if (ticks == 0) return "0s";
    const bool negative = ticks < 0;
    // Work in unsigned to format INT64_MIN too.
    std::uint64_t mag = negative ? std::uint64_t(0) - static_cast<std::uint64_t>(ticks) : static_cast<std::uint64_t>(ticks);
    struct U { const char* name; std::uint64_t scale; int decimals; };
    constexpr U us[] = {{"s", 1'000'000'000, 9}, {"ms", 1'000'000, 6}, {"us", 1'000, 3}, {"ns", 1, 0}};
    for (const auto& u: us) {
        if (mag >= u.scale || u.scale == 1) {
            std::uint64_t whole = mag / u.scale;
            std::uint64_t frac = mag % u.scale;
            std::string out = negative ? "-" : "";
            out += std::to_string(whole);
            if (frac != 0) {
                std::string f = fmt::format("{:0{}}", frac, u.decimals);
                while (!f.empty() && f.back() == '0') f.pop_back();
                out += '.';
                out += f;
            }
            out += u.name;
            return out;
        }
    }
    return "0s"; // unreachable
}

} // namespace spikenn
