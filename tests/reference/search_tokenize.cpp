// search::tokenize and latin1_to_utf8 on the reference path: ASCII and Latin-1 / Latin
// Extended-A lower-casing, splitting on non-word code points, the bm25s defaults (tokens of at
// least two characters, no stop words), stop words, and invalid UTF-8 named by byte offset.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "recfuse/search/tokenize.hpp"
#include "test_support.hpp"

using namespace recfuse;
using search::tokenize;
using strings = std::vector<std::string>;

TEST_CASE("search::tokenize: ASCII, punctuation, min length", "[search][tokenize]") {
  CHECK(tokenize("Toy Story (1995)") == strings{"toy", "story", "1995"});
  // "d" and "s" are one character: dropped by the default min_length 2 (bm25s's \w\w+).
  CHECK(tokenize("Schindler's List, d'Artagnan") == strings{"schindler", "list", "artagnan"});
  CHECK(tokenize("") == strings{});
  CHECK(tokenize("  ,,, -- ") == strings{});
  CHECK(tokenize("a b cc") == strings{"cc"});
  search::tokenize_options one;
  one.min_length = 1;
  CHECK(tokenize("a b cc", one) == strings{"a", "b", "cc"});
  // Repeats are kept (BM25 counts them); digits and letters mix in one token.
  CHECK(tokenize("R2D2 r2d2") == strings{"r2d2", "r2d2"});
  // "_" separates (bm25s's \w would keep it: the agreement check feeds bm25s our tokens).
  CHECK(tokenize("snake_case") == strings{"snake", "case"});
}

TEST_CASE("search::tokenize: UTF-8 letters and lower-casing", "[search][tokenize]") {
  // U+00C9 É -> é, U+00DF ß stays, U+0152 Œ -> œ, U+0178 Ÿ -> ÿ, U+0141 Ł -> ł (odd pair).
  CHECK(tokenize("\xC3\x89T\xC3\x89 \xC3\x9F"
                 "a") == strings{"\xC3\xA9t\xC3\xA9",
                                 "\xC3\x9F"
                                 "a"});
  CHECK(tokenize("\xC5\x92uvre \xC5\xB8x \xC5\x81\xC3\xB3"
                 "d\xC5\xBA") == strings{"\xC5\x93uvre", "\xC3\xBFx",
                                         "\xC5\x82\xC3\xB3"
                                         "d\xC5\xBA"});
  // U+00D7 × and U+00F7 ÷ separate; U+00A0 (no-break space) and U+00BF ¿ separate.
  CHECK(tokenize("ab\xC3\x97"
                 "cd\xC3\xB7"
                 "ef\xC2\xA0gh\xC2\xBFij") == strings{"ab", "cd", "ef", "gh", "ij"});
  // U+2013 en dash and U+201C/U+201D quotes separate; Greek letters stay in tokens as they are.
  CHECK(tokenize("ab\xE2\x80\x93"
                 "cd \xE2\x80\x9C\xCE\x91\xCE\xB2\xE2\x80\x9D") ==
        strings{"ab", "cd", "\xCE\x91\xCE\xB2"});
  search::tokenize_options keep;
  keep.lowercase = false;
  CHECK(tokenize("Toy \xC3\x89T\xC3\x89", keep) == strings{"Toy", "\xC3\x89T\xC3\x89"});
  // Length counts code points: "é" alone is one character.
  CHECK(tokenize("\xC3\xA9 \xC3\xA9\xC3\xA9") == strings{"\xC3\xA9\xC3\xA9"});
}

TEST_CASE("search::tokenize: stop words", "[search][tokenize]") {
  search::tokenize_options o;
  o.stop_words = {"the", "of", "\xC3\xA0"};
  o.min_length = 1;
  CHECK(tokenize("The Lord of the Rings \xC3\x80 bout", o) == strings{"lord", "rings", "bout"});
}

TEST_CASE("search::latin1_to_utf8", "[search][tokenize]") {
  CHECK(search::latin1_to_utf8("Cit\xE9 des enfants perdus, La") ==
        "Cit\xC3\xA9 des enfants perdus, La");
  CHECK(search::latin1_to_utf8("") == "");
  CHECK(search::latin1_to_utf8("\xFF\x80"
                               "a") ==
        "\xC3\xBF\xC2\x80"
        "a");
  CHECK(tokenize(search::latin1_to_utf8("Am\xC9LIE")) == strings{"am\xC3\xA9lie"});
  CHECK(search::is_valid_utf8(search::latin1_to_utf8("\xE9\xFF\xC0")));
}

TEST_CASE("search::tokenize: invalid UTF-8 names the byte offset", "[search][tokenize]") {
  using Catch::Contains;
#define TOKENIZE_THROWS(text, what)                 \
  CHECK_THROWS_MATCHES(tokenize(text), value_error, \
                       test::what_is(Contains("recfuse::search::tokenize") && Contains(what)))
  TOKENIZE_THROWS("ab\xE9 cd", "byte offset 2");         // a Latin-1 byte: truncated
  TOKENIZE_THROWS("abc\x80", "byte offset 3");           // stray continuation byte
  TOKENIZE_THROWS("x\xC3", "byte offset 1");             // truncated at the end
  TOKENIZE_THROWS("\xC0\xAF", "overlong");               // overlong "/"
  TOKENIZE_THROWS("ok \xED\xA0\x80", "surrogate");       // U+D800
  TOKENIZE_THROWS("\xF4\x90\x80\x80", "past U+10FFFF");  // U+110000
  TOKENIZE_THROWS("\xFF", "byte 0xff");                  // never a UTF-8 byte
#undef TOKENIZE_THROWS
  CHECK_FALSE(search::is_valid_utf8("ab\xE9"));
  CHECK(search::is_valid_utf8("\xF0\x9F\x98\x80 ok"));
  search::tokenize_options bad;
  bad.min_length = 0;
  CHECK_THROWS_MATCHES(tokenize("x", bad), value_error,
                       test::what_is(Catch::Contains("options.min_length is 0")));
}
