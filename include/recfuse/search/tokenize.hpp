// recfuse: text to tokens for the search family (BM25), UTF-8 aware.
//
//   auto tokens = recfuse::search::tokenize("Amélie (Fabuleux destin d'Amélie Poulain, Le)
//   (2001)");
//   // {"amélie", "fabuleux", "destin", "amélie", "poulain", "le", "2001"}: "d" is one letter
//   auto utf8 = recfuse::search::latin1_to_utf8(title);   // MovieLens u.item is Latin-1
//
// Model: the input is decoded as UTF-8 into code points. A token is a maximal run of word
// characters; every other code point separates tokens. Word characters are
// - ASCII letters and digits (A-Z, a-z, 0-9);
// - the letters of Latin-1 Supplement (U+00AA, U+00B5, U+00BA, U+00C0-U+00FF except U+00D7 and
//   U+00F7) and all of Latin Extended-A (U+0100-U+017F);
// - every code point from U+0180 up, except the punctuation and symbol blocks U+2000-U+2BFF
//   (general punctuation, currency, arrows, maths, box drawing, ...), U+3000-U+303F (CJK
//   punctuation), U+FE30-U+FE4F, U+FF00-U+FF0F, U+FF1A-U+FF20, U+FF3B-U+FF40, U+FF5B-U+FF65
//   and U+FFF0-U+FFFF. Letters of other scripts therefore stay inside tokens (not lower-cased).
// With options.lowercase (the default), ASCII, Latin-1 Supplement and Latin Extended-A capitals
// are mapped to their small letters (U+0130 "İ" to "i", U+0178 "Ÿ" to "ÿ"); other code points are
// kept as they are. Tokens shorter than options.min_length code points and tokens listed in
// options.stop_words (compared after lower-casing) are dropped. Tokens keep input order and
// repeat when the text repeats them (BM25 counts them). Output tokens are UTF-8.
//
// Defaults match bm25s.tokenize (bm25s 0.3): lower-case, token pattern (?u)\b\w\w+\b, i.e.
// tokens of at least 2 characters, no stop words. (Python's \w also counts "_" and the digits and
// letters of every script; the bm25s agreement check feeds bm25s recfuse's tokens, so the two
// never tokenise differently there.)
//
// Errors (value_error, messages start with the function's name): invalid UTF-8 (a stray
// continuation byte, a truncated sequence, an overlong encoding, a surrogate U+D800-U+DFFF or a
// code point past U+10FFFF), naming the byte offset and the byte; options.min_length < 1.
//
// Complexity: O(bytes) time; tokens are allocated as std::string. Stop words are looked up in a
// sorted copy (O(log s) per token).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "recfuse/core/errors.hpp"
#include "recfuse/core/views.hpp"

namespace recfuse::search {

struct tokenize_options {
  // Tokens with fewer code points are dropped (bm25s's default pattern needs 2).
  index_t min_length = 2;
  // Lower-case ASCII, Latin-1 Supplement and Latin Extended-A letters.
  bool lowercase = true;
  // Tokens to drop (after lower-casing); empty by default, as in bm25s.tokenize.
  std::vector<std::string> stop_words;
};

namespace detail {

// Decodes one UTF-8 sequence at text[at]; returns the code point and advances `at`.
// Throws value_error naming `fn`, the byte offset and the byte on invalid input.
inline char32_t decode_utf8(const char* fn, std::string_view text, std::size_t& at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const std::size_t start = at;
  const unsigned char b0 = byte(at);
  const auto fail = [&](const char* why) {
    recfuse::detail::throw_error<value_error>(fn, "invalid UTF-8 at byte offset ", start,
                                              " (byte 0x", "0123456789abcdef"[b0 >> 4],
                                              "0123456789abcdef"[b0 & 15], "): ", why);
  };
  if (b0 < 0x80) {
    ++at;
    return b0;
  }
  int extra = 0;
  char32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    extra = 1;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3;
    cp = b0 & 0x07;
  } else if ((b0 & 0xC0) == 0x80) {
    fail("a continuation byte where a character starts");
  } else {
    fail("not a UTF-8 lead byte");
  }
  if (start + static_cast<std::size_t>(extra) >= text.size()) {
    fail("the sequence is truncated by the end of the text");
  }
  for (int i = 1; i <= extra; ++i) {
    const unsigned char b = byte(start + static_cast<std::size_t>(i));
    if ((b & 0xC0) != 0x80) fail("the sequence is truncated (a continuation byte is missing)");
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr char32_t min_of[] = {0, 0x80, 0x800, 0x10000};
  if (cp < min_of[extra]) fail("an overlong encoding");
  if (cp >= 0xD800 && cp <= 0xDFFF) fail("a UTF-16 surrogate");
  if (cp > 0x10FFFF) fail("a code point past U+10FFFF");
  at = start + static_cast<std::size_t>(extra) + 1;
  return cp;
}

inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Word character: see the header comment.
constexpr bool is_word_char(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c < 0x100)
    return c == 0xAA || c == 0xB5 || c == 0xBA || (c >= 0xC0 && c != 0xD7 && c != 0xF7);
  if (c < 0x180) return true;
  if (c >= 0x2000 && c <= 0x2BFF) return false;
  if (c >= 0x3000 && c <= 0x303F) return false;
  if (c >= 0xFE30 && c <= 0xFE4F) return false;
  if (c >= 0xFF00 && c <= 0xFF0F) return false;
  if (c >= 0xFF1A && c <= 0xFF20) return false;
  if (c >= 0xFF3B && c <= 0xFF40) return false;
  if (c >= 0xFF5B && c <= 0xFF65) return false;
  if (c >= 0xFFF0 && c <= 0xFFFF) return false;
  return true;
}

// Lower case for ASCII, Latin-1 Supplement and Latin Extended-A; other code points unchanged.
constexpr char32_t to_lower(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c < 0x100 || c > 0x17F) return c;
  if (c == 0x130) return 'i';   // İ (dotted capital I)
  if (c == 0x178) return 0xFF;  // Ÿ
  // Pairs (capital even, small odd) in U+0100-U+0137 and U+014A-U+0177; (capital odd, small
  // even) in U+0139-U+0148 and U+0179-U+017E. U+0131, U+0138, U+0149, U+017F have no capital.
  if ((c <= 0x137 || (c >= 0x14A && c <= 0x177)) && c % 2 == 0) return c + 1;
  if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && c % 2 == 1) return c + 1;
  return c;
}

}  // namespace detail

// Converts Latin-1 (ISO-8859-1) bytes to UTF-8: every byte is the code point of the same value.
// Never fails. O(bytes).
inline std::string latin1_to_utf8(std::string_view latin1) {
  std::string out;
  out.reserve(latin1.size() + latin1.size() / 8);
  for (const char ch : latin1) detail::append_utf8(out, static_cast<unsigned char>(ch));
  return out;
}

// Whether `text` is valid UTF-8 (the check tokenize performs, without throwing).
inline bool is_valid_utf8(std::string_view text) {
  try {
    for (std::size_t at = 0; at < text.size();) detail::decode_utf8("", text, at);
  } catch (const value_error&) {
    return false;
  }
  return true;
}

// Splits UTF-8 `text` into tokens (see the model above).
inline std::vector<std::string> tokenize(std::string_view text,
                                         const tokenize_options& options = {}) {
  constexpr const char* fn = "recfuse::search::tokenize";
  if (options.min_length < 1) {
    recfuse::detail::throw_error<value_error>(fn, "options.min_length is ", options.min_length,
                                              " (need >= 1)");
  }
  std::vector<std::string> stop(options.stop_words);
  std::sort(stop.begin(), stop.end());
  std::vector<std::string> tokens;
  std::string current;
  index_t length = 0;
  const auto flush = [&] {
    if (length >= options.min_length && !std::binary_search(stop.begin(), stop.end(), current)) {
      tokens.push_back(current);
    }
    current.clear();
    length = 0;
  };
  for (std::size_t at = 0; at < text.size();) {
    char32_t cp = detail::decode_utf8(fn, text, at);
    if (!detail::is_word_char(cp)) {
      if (length > 0) flush();
      continue;
    }
    if (options.lowercase) cp = detail::to_lower(cp);
    detail::append_utf8(current, cp);
    ++length;
  }
  if (length > 0) flush();
  return tokens;
}

}  // namespace recfuse::search
