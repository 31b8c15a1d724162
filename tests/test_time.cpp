#include <doctest/doctest.h>

#include <stdexcept>

#include <spikenn/time.hpp>

using namespace spikenn;

namespace {
std::int64_t ticks(const char* s) { return parse_time(s).ticks(); }
} // namespace

// Units, decimals and exponents parse exactly into nanosecond ticks.
TEST_CASE("parse_time reads units exactly") {
    CHECK(ticks("1.5s") == 1'500'000'000);
    CHECK(ticks("250ms") == 250'000'000);
    CHECK(ticks("20us") == 20'000);
    CHECK(ticks("3ns") == 3);
    CHECK(ticks("0") == 0);
    CHECK(ticks("0s") == 0);
    CHECK(ticks("1e-3s") == 1'000'000);
    CHECK(ticks("2.5e2ms") == 250'000'000);
    CHECK(ticks("0.000000001s") == 1);
    CHECK(ticks("1.0ns") == 1); // a trailing zero after the point is still whole
}

// A value that is not a whole number of ticks is an error, never a rounding.
TEST_CASE("parse_time refuses what is not a whole tick or not a time") {
    CHECK_THROWS_AS(parse_time("0.5ns"), std::invalid_argument);
    CHECK_THROWS_AS(parse_time("1.0000000001s"), std::invalid_argument);
    CHECK_THROWS_AS(parse_time("10"), std::invalid_argument);   // no unit
    CHECK_THROWS_AS(parse_time("10min"), std::invalid_argument); // unknown unit
    CHECK_THROWS_AS(parse_time("s"), std::invalid_argument);
    CHECK_THROWS_AS(parse_time("1..2s"), std::invalid_argument);
    CHECK_THROWS_AS(parse_time("1000000000000s"), std::invalid_argument); // past int64
    try {
        parse_time("0.5ns");
    }
    catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("whole number of ticks") != std::string::npos);
    }
}

TEST_CASE("negative times parse, for the loader to refuse with context") {
    CHECK(ticks("-1ms") == -1'000'000);
}

// Formatting is exact and reads back to the same value.
TEST_CASE("format_time is exact and round-trips") {
    CHECK(format_time(parse_time("1.5s")) == "1.5s");
    CHECK(format_time(parse_time("250ms")) == "250ms");
    CHECK(format_time(Time::from_ticks(1'500'001)) == "1.500001ms");
    CHECK(format_time(Time::from_ticks(3)) == "3ns");
    CHECK(format_time(Time::zero()) == "0s");
    CHECK(format_time(Time::from_ticks(-20'000)) == "-20us");
    for (std::int64_t t: {1LL, 999LL, 1000LL, 123456789LL, 1'000'000'001LL, 86'400'000'000'000LL}) {
        CHECK(parse_time(format_time(Time::from_ticks(t))).ticks() == t);
    }
    CHECK(fmt::format("{}", parse_time("20us")) == "20us");
}

TEST_CASE("time arithmetic and order") {
    const Time a = parse_time("1s"), b = parse_time("250ms");
    CHECK((a + b).ticks() == 1'250'000'000);
    CHECK((a - b).ticks() == 750'000'000);
    CHECK(b < a);
    CHECK(a.seconds() == doctest::Approx(1.0));
}

TEST_CASE("parse_rate reads a rate per unit of time into a rate per second") {
    CHECK(parse_rate("0.02/s") == doctest::Approx(0.02));
    CHECK(parse_rate("5/ms") == doctest::Approx(5000.0));
    CHECK(parse_rate("0/s") == 0.0);
    CHECK_THROWS_AS(parse_rate("0.02"), std::invalid_argument);
    CHECK_THROWS_AS(parse_rate("0.02/min"), std::invalid_argument);
    CHECK_THROWS_AS(parse_rate("abc/s"), std::invalid_argument);
}
