#include <spikenn/json.hpp>

#include <cmath>

#include <fmt/format.h>

namespace spikenn {

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c: s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        }
        else if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        }
        else {
            out += c;
        }
    }
    return out + "\"";
}

std::string number_text(double v) {
    if (!std::isfinite(v)) return "null";
    return fmt::format("{}", v);
}

std::string json_number(const std::optional<double>& v) { return v ? number_text(*v) : "null"; }

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string o = "\"";
    for (char c: s) {
        if (c == '"') o += '"';
        o += c;
    }
    return o + "\"";
}

} // namespace spikenn
