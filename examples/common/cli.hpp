// What every example program shares about its command line and its JSON line (CLI11 and
// nlohmann-json), so that each parses and reports the same way:
//
//   CLI::App app{"recfuse-x: what it does", "recfuse-x"};
//   app.add_option("--threads", threads, "threads")->check(examples::integer_in(1, 1024));
//   examples::parse_or_exit(app, argc, argv);       // --help: exit 0; bad command line: exit 2
//   json["rmse"] = examples::figure(rmse);            // 6 decimals as printf rounds; NaN: null
//
// - integer_in(lo, hi): a decimal integer in [lo, hi], checked on the text. CLI11 2.1 (Debian 12)
//   reads integers with strtoull in base 0, so on its own it takes "-1" for 2^64 - 1, "010" for 8,
//   "0x10" for 16 and a number past the type's range for its maximum. Message: "needs an integer
//   >= lo and <= hi, got 'text'" (CLI11 prefixes the option's name).
// - finite_number(min): a finite decimal number, >= min when given (CLI::Range lets NaN through).
// - parse_or_exit: --help prints the usage and exits 0; an unknown option prints
//   "NAME: unknown option --x", any other malformed command line CLI11's message after "NAME: ",
//   both followed by "Run with --help for the options." on stderr, and exits 2 (CLI11's own exit
//   codes are not stable across its versions).
// - figure(v, decimals): a number for the JSON line, rounded as printf("%.*f") rounds; JSON null
//   when v is not finite (JSON has no NaN; nlohmann would print null for it anyway, and an
//   explicit null says so).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

namespace examples {

template <class N>
CLI::Validator integer_in(N lo, N hi) {
  const std::string bound = ">= " + std::to_string(lo) + " and <= " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, bound](std::string& text) -> std::string {
        N value{};
        const char* end = text.data() + text.size();
        const auto [stop, ec] = std::from_chars(text.data(), end, value);
        if (ec == std::errc() && stop == end && value >= lo && value <= hi) return {};
        return "needs an integer " + bound + ", got '" + text + "'";
      },
      "INT " + bound);
}

inline CLI::Validator finite_number(std::optional<double> min = std::nullopt) {
  char text[48] = "";
  if (min) std::snprintf(text, sizeof text, " >= %g", *min);
  const std::string bound = text;
  return CLI::Validator(
      [min, bound](std::string& s) -> std::string {
        double value = 0;
        const char* end = s.data() + s.size();
        const auto [stop, ec] = std::from_chars(s.data(), end, value);
        if (ec == std::errc() && stop == end && std::isfinite(value) && (!min || value >= *min))
          return {};
        return "needs a finite number" + bound + ", got '" + s + "'";
      },
      "NUMBER" + bound);
}

[[noreturn]] inline void fail_command_line(const CLI::App& app, const std::string& message) {
  std::fprintf(stderr, "%s: %s\nRun with --help for the options.\n", app.get_name().c_str(),
               message.c_str());
  std::exit(2);
}

inline void parse_or_exit(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::CallForAllHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::ExtrasError&) {
    const auto words = app.remaining();
    const auto flag = std::find_if(words.begin(), words.end(),
                                   [](const std::string& w) { return w.rfind('-', 0) == 0; });
    std::string extra;
    for (const auto& word : words) extra += (extra.empty() ? "" : " ") + word;
    fail_command_line(
        app, flag != words.end() ? "unknown option " + *flag : "unexpected argument(s): " + extra);
  } catch (const CLI::ParseError& e) {
    fail_command_line(app, e.what());
  }
}

inline nlohmann::ordered_json figure(double v, int decimals = 6) {
  if (!std::isfinite(v)) return nullptr;
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return std::strtod(text, nullptr);
}

}  // namespace examples
