// StringNormalizer: drops stopwords from a string tensor and changes the case of what is left.
//
// Case mapping does not depend on any installed C/C++ locale (the `locale` attribute is accepted
// but not consulted): strings are decoded from UTF-8 here and mapped with the simple one-to-one
// Unicode case mappings of ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic. Other code
// points keep their case.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "backends/reference/kernel.h"

namespace edgerun::reference {
namespace {

enum class CaseChange { kNone, kLower, kUpper };

// Appends the UTF-8 encoding of a code point (< 0x110000).
void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF);
// an error names the byte offset of the first bad sequence.
Result<std::u32string> decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    char32_t cp = 0;
    char32_t min_cp = 0;
    if (lead < 0x80) {
      len = 1;
      cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      len = 2;
      cp = lead & 0x1F;
      min_cp = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      len = 3;
      cp = lead & 0x0F;
      min_cp = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      len = 4;
      cp = lead & 0x07;
      min_cp = 0x10000;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cont = static_cast<unsigned char>(s[i + k]);
      ok = (cont & 0xC0) == 0x80;
      cp = (cp << 6) | (cont & 0x3F);
    }
    ok = ok && cp >= min_cp && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    if (!ok) {
      return invalid_argument("StringNormalizer expects UTF-8 strings, found an invalid byte "
                              "sequence at offset " + std::to_string(i) + " of \"" +
                              std::string(s) + "\"");
    }
    out += cp;
    i += len;
  }
  return out;
}

// In [first, last], does cp have the parity that marks the upper (or lower) case of a pair?
bool in_pairs(char32_t cp, char32_t first, char32_t last, bool even) {
  return cp >= first && cp <= last && ((cp % 2 == 0) == even);
}

// Block ranges where case pairs sit at consecutive code points: [first, last] and whether the
// upper-case member of each pair is the even code point.
struct PairRange {
  char32_t first;
  char32_t last;
  bool upper_is_even;
};
constexpr PairRange kPairRanges[] = {
    {0x0100, 0x012F, true},   // Latin Extended-A: Ā ā ... Į į
    {0x0132, 0x0137, true},   // Ĳ ĳ ... Ķ ķ
    {0x0139, 0x0148, false},  // Ĺ ĺ ... Ň ň
    {0x014A, 0x0177, true},   // Ŋ ŋ ... Ŷ ŷ
    {0x0179, 0x017E, false},  // Ź ź ... Ž ž
    {0x03D8, 0x03EF, true},   // archaic Greek and Coptic letters
    {0x0460, 0x0481, true},   // historic Cyrillic: Ѡ ѡ ... Ҁ ҁ
    {0x048A, 0x04BF, true},   // Cyrillic extensions: Ҋ ҋ ... Ҿ ҿ
    {0x04C1, 0x04CE, false},  // Ӂ ӂ ... Ӎ ӎ
    {0x04D0, 0x052F, true},   // Ӑ ӑ ... Ԯ ԯ
};

char32_t to_lower(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp < 0x80) return cp;
  if (cp >= 0x00C0 && cp <= 0x00DE && cp != 0x00D7) return cp + 0x20;  // À..Þ except ×
  if (cp == 0x0130) return 'i';                                        // İ
  if (cp == 0x0178) return 0x00FF;                                     // Ÿ
  for (const PairRange& r : kPairRanges) {
    if (in_pairs(cp, r.first, r.last, r.upper_is_even)) return cp + 1;
  }
  if (cp == 0x0386) return 0x03AC;                                     // Ά
  if (cp >= 0x0388 && cp <= 0x038A) return cp + 0x25;                  // Έ Ή Ί
  if (cp == 0x038C) return 0x03CC;                                     // Ό
  if (cp == 0x038E || cp == 0x038F) return cp + 0x3F;                  // Ύ Ώ
  if (cp >= 0x0391 && cp <= 0x03AB && cp != 0x03A2) return cp + 0x20;  // Α..Ϋ
  if (cp >= 0x0400 && cp <= 0x040F) return cp + 0x50;                  // Ѐ..Џ
  if (cp >= 0x0410 && cp <= 0x042F) return cp + 0x20;                  // А..Я
  if (cp == 0x04C0) return 0x04CF;                                     // Ӏ
  return cp;
}

char32_t to_upper(char32_t cp) {
  if (cp >= 'a' && cp <= 'z') return cp - 32;
  if (cp < 0x80) return cp;
  if (cp == 0x00B5) return 0x039C;                                     // µ -> Greek Μ
  if (cp >= 0x00E0 && cp <= 0x00FE && cp != 0x00F7) return cp - 0x20;  // à..þ except ÷
  if (cp == 0x00FF) return 0x0178;                                     // ÿ
  if (cp == 0x0131) return 'I';                                        // dotless ı
  if (cp == 0x017F) return 'S';                                        // long ſ
  for (const PairRange& r : kPairRanges) {
    if (in_pairs(cp, r.first, r.last, !r.upper_is_even)) return cp - 1;
  }
  if (cp == 0x03AC) return 0x0386;                                     // ά
  if (cp >= 0x03AD && cp <= 0x03AF) return cp - 0x25;                  // έ ή ί
  if (cp == 0x03C2) return 0x03A3;                                     // final ς -> Σ
  if (cp >= 0x03B1 && cp <= 0x03CB) return cp - 0x20;                  // α..ϋ
  if (cp == 0x03CC) return 0x038C;                                     // ό
  if (cp == 0x03CD || cp == 0x03CE) return cp - 0x3F;                  // ύ ώ
  if (cp >= 0x0430 && cp <= 0x044F) return cp - 0x20;                  // а..я
  if (cp >= 0x0450 && cp <= 0x045F) return cp - 0x50;                  // ѐ..џ
  if (cp == 0x04CF) return 0x04C0;                                     // ӏ
  return cp;
}

// The string with every code point mapped; plain bytes pass through untouched for kNone.
Result<std::string> change_case(const std::string& s, CaseChange change) {
  if (change == CaseChange::kNone) return s;
  ER_ASSIGN_OR_RETURN(std::u32string cps, decode_utf8(s));
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : cps) {
    append_utf8(change == CaseChange::kLower ? to_lower(cp) : to_upper(cp), out);
  }
  return out;
}

}  // namespace

Status kernel_StringNormalizer(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kString) {
    return invalid_argument("StringNormalizer expects a string tensor, got " +
                            std::string(dtype_name(x.dtype())));
  }
  if (!(x.rank() == 1 || (x.rank() == 2 && x.dim(0) == 1))) {
    return invalid_argument("StringNormalizer expects an input of shape [C] or [1, C], got " +
                            shape_to_string(x.shape()));
  }
  const std::string action = ctx.attr_string("case_change_action", "NONE");
  CaseChange change = CaseChange::kNone;
  if (action == "LOWER") {
    change = CaseChange::kLower;
  } else if (action == "UPPER") {
    change = CaseChange::kUpper;
  } else if (action != "NONE") {
    return invalid_argument("case_change_action must be LOWER, UPPER or NONE, got '" + action +
                            "'");
  }
  const bool case_sensitive = ctx.attr_int("is_case_sensitive", 0) != 0;

  // Case-insensitive matching compares lower-cased forms of both sides.
  const CaseChange match_fold = case_sensitive ? CaseChange::kNone : CaseChange::kLower;
  std::set<std::string> stopwords;
  for (const std::string& w : ctx.node().attr_strings("stopwords")) {
    ER_ASSIGN_OR_RETURN(std::string key, change_case(w, match_fold));
    stopwords.insert(std::move(key));
  }

  const std::string* in = x.data<std::string>();
  std::vector<std::string> kept;
  for (int64_t i = 0; i < x.size(); ++i) {
    if (!stopwords.empty()) {
      ER_ASSIGN_OR_RETURN(std::string key, change_case(in[i], match_fold));
      if (stopwords.count(key) != 0) continue;
    }
    ER_ASSIGN_OR_RETURN(std::string out, change_case(in[i], change));
    kept.push_back(std::move(out));
  }
  // An empty result is still one (empty) string, so that the output is never a 0-sized tensor.
  if (kept.empty()) kept.emplace_back();
  const auto count = static_cast<int64_t>(kept.size());
  Shape out_shape = x.rank() == 1 ? Shape{count} : Shape{1, count};
  ctx.set_output(0, Tensor::from_vector<std::string>(out_shape, kept));
  return Status::ok();
}

}  // namespace edgerun::reference
