// The pieces of JSON and CSV text the outputs and exports are written with.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace spikenn {

// A string as JSON text: quoted, with quotes, backslashes and control characters escaped.
std::string json_string(std::string_view s);
// The shortest text that reads back as the same double; "null" for NaN and infinity, which
// JSON lacks.
std::string number_text(double v);
// number_text of a value, or null for none.
std::string json_number(const std::optional<double>& v);
// A CSV field: as it is, or quoted (quotes doubled) when it holds a comma, a quote or a
// line break.
std::string csv_field(const std::string& s);

} // namespace spikenn
