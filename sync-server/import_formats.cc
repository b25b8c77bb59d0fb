#include "import_formats.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "cli.h"
#include "engine/tokenizer.h"
#include "utf8.h"

namespace loopwise {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kMaxIdBytes = 200;
// Articles need three levels; the bound keeps hostile input from building deep trees.
constexpr size_t kMaxJsonDepth = 64;
constexpr size_t kNone = static_cast<size_t>(-1);

const std::vector<std::string> kArticleExtensions = {"md", "markdown", "json", "jsonl", "csv"};
const std::vector<std::string> kHistoryExtensions = {"jsonl", "csv"};

// ---------------------------------------------------------------------------------------------
// Text

std::string At(const std::string& name, size_t line) {
  return name + ":" + std::to_string(line) + ": ";
}

std::string Quoted(std::string_view key) {
  return "\"" + std::string(key) + "\"";
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// 1-based line of the byte at `offset`.
size_t LineAt(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

// A line quoted in a message, cut short on a character boundary.
std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 40;
  return s.size() <= kMax ? std::string(s) : Utf8Prefix(s, kMax) + "...";
}

struct Line {
  std::string_view text;  // without its "\n" or "\r\n"
  size_t number;
  size_t next;  // offset of the following line
};

std::vector<Line> SplitLines(std::string_view text) {
  std::vector<Line> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t newline = text.find('\n', start);
    const size_t stop = newline == std::string_view::npos ? text.size() : newline;
    std::string_view line = text.substr(start, stop - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t next = newline == std::string_view::npos ? text.size() : newline + 1;
    lines.push_back({line, lines.size() + 1, next});
    start = next;
  }
  return lines;
}

std::string WithoutCarriageReturns(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out.push_back(s[i]);
  }
  return out;
}

// Offset of the first byte that does not start a well-formed UTF-8 sequence (no overlong forms,
// surrogates or code points past U+10FFFF), or kNone.
size_t FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c == 0xE0) {
      length = 3, low = 0xA0;
    } else if (c == 0xED) {
      length = 3, high = 0x9F;
    } else if (c >= 0xE1 && c <= 0xEF) {
      length = 3;
    } else if (c == 0xF0) {
      length = 4, low = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      length = 4;
    } else if (c == 0xF4) {
      length = 4, high = 0x8F;
    } else {
      return i;
    }
    if (s.size() - i < length) return i;
    const unsigned char second = static_cast<unsigned char>(s[i + 1]);
    if (second < low || second > high) return i;
    for (size_t k = 2; k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(s[i + k]);
      if (next < 0x80 || next > 0xBF) return i;
    }
    i += length;
  }
  return kNone;
}

// The text of a file: UTF-8 checked, byte-order mark removed.
Result<std::string_view> Utf8Text(const std::string& name, std::string_view bytes) {
  if (bytes.size() >= 2 &&
      ((bytes[0] == '\xFF' && bytes[1] == '\xFE') || (bytes[0] == '\xFE' && bytes[1] == '\xFF'))) {
    return Status::Error(At(name, 1) + "the file is UTF-16; save it as UTF-8");
  }
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  const size_t bad = FindInvalidUtf8(bytes);
  if (bad != kNone) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(bytes[bad]));
    return Status::Error(At(name, LineAt(bytes, bad)) + "not valid UTF-8 (byte " + hex +
                         "); save the file as UTF-8");
  }
  return bytes;
}

std::string Extension(const std::string& name) {
  const size_t slash = name.find_last_of("/\\");
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  return Lower(std::string_view(name).substr(dot + 1));
}

std::string UnsupportedExtension(const std::string& name, const char* what, const char* supported) {
  const std::string ext = Extension(name);
  return name + ": cannot read " + what + " from " +
         (ext.empty() ? std::string("a file without an extension") : "a \"." + ext + "\" file") +
         " (use " + supported + ")";
}

// ---------------------------------------------------------------------------------------------
// Checks shared by every format

// An id must be usable as a key, in URLs and in logs. `field` is "id", or "article" for a ticket.
Status CheckId(std::string_view id, std::string_view field, const std::string& at) {
  if (id.find_first_not_of(" \t") == std::string_view::npos) {
    return Status::Error(at + Quoted(field) + " is empty");
  }
  if (id.size() > kMaxIdBytes) {
    return Status::Error(at + Quoted(field) + " is " + std::to_string(id.size()) +
                         " bytes long (at most " + std::to_string(kMaxIdBytes) + ")");
  }
  for (size_t i = 0; i < id.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(id[i]);
    unsigned code = 0x100;
    if (c < 0x20 || c == 0x7F) code = c;
    // C1 controls, U+0080..U+009F, are C2 80..C2 9F in UTF-8.
    if (c == 0xC2 && i + 1 < id.size()) {
      const unsigned char next = static_cast<unsigned char>(id[i + 1]);
      if (next >= 0x80 && next <= 0x9F) code = next;
    }
    if (code != 0x100) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "U+%04X", code);
      return Status::Error(at + Quoted(field) + " contains a control character (" + hex + ")");
    }
  }
  return Status::Ok();
}

// One file's articles with the line each starts on.
class ArticleList {
 public:
  explicit ArticleList(const std::string& name) : name_(name) {}

  // `id_at` and `title_at` prefix messages about those fields ("name:line: ").
  Status Add(Article article, size_t line, const std::string& id_at, const std::string& title_at) {
    Status s = CheckId(article.id, "id", id_at);
    if (!s.ok()) return s;
    if (Trim(article.title).empty()) return Status::Error(title_at + "\"title\" is empty");
    auto [it, inserted] = first_line_.emplace(article.id, line);
    if (!inserted) {
      return Status::Error(At(name_, line) + "article id \"" + article.id +
                           "\" appears twice in this file (first on line " +
                           std::to_string(it->second) + ")");
    }
    articles_.push_back(std::move(article));
    return Status::Ok();
  }

  Result<std::vector<Article>> Finish() {
    if (articles_.empty()) return Status::Error(name_ + ": no articles in this file");
    return std::move(articles_);
  }

 private:
  const std::string& name_;
  std::vector<Article> articles_;
  std::unordered_map<std::string, size_t> first_line_;
};

// ---------------------------------------------------------------------------------------------
// JSON

// Finds where JSON text goes wrong: nlohmann's DOM parser only says that it did.
class JsonErrorFinder {
 public:
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const std::string&) { return true; }
  bool string(std::string&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(size_t) { return true; }
  bool key(std::string&) { return true; }
  bool end_object() { return true; }
  bool start_array(size_t) { return true; }
  bool end_array() { return true; }
  bool parse_error(size_t position, const std::string&, const json::exception& e) {
    position_ = position;
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..." ->
    // "syntax error ..."; the line and column are relative to what we handed over, so drop them.
    reason_ = e.what();
    const size_t column = reason_.find("column ");
    const size_t colon = reason_.find(": ", column == std::string::npos ? 0 : column);
    if (colon != std::string::npos) reason_ = reason_.substr(colon + 2);
    return false;
  }

  size_t position() const { return position_; }
  const std::string& reason() const { return reason_; }

 private:
  size_t position_ = 0;
  std::string reason_;
};

// Lines of the objects an importer reads from valid JSON (the top-level value, or each element of
// a top-level array) and of their keys, so a message can point at the field to fix.
struct JsonObjectLines {
  size_t line = 1;
  std::unordered_map<std::string, size_t> keys;
};

struct JsonLayout {
  std::vector<JsonObjectLines> elements;
  size_t too_deep_line = 0;  // first bracket nested deeper than kMaxJsonDepth; 0 if none
};

// Scans valid JSON text starting on `first_line`.
JsonLayout ScanJson(std::string_view text, size_t first_line) {
  JsonLayout layout;
  size_t line = first_line;
  std::string open;              // the brackets enclosing the current position
  size_t element_depth = kNone;  // 0: the top-level value is the element; 1: array elements
  bool expect_element = false;
  bool expect_key = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') continue;
    if (element_depth == kNone) {
      element_depth = c == '[' ? 1 : 0;
      expect_element = element_depth == 0;
    }
    if (expect_element && open.size() == element_depth && c != ']') {
      layout.elements.push_back({line, {}});
      expect_element = false;
    }
    if (c == '"') {
      const size_t start = ++i;
      while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
      const bool is_key = expect_key && open.size() == element_depth + 1 && open.back() == '{';
      if (is_key && !layout.elements.empty()) {
        layout.elements.back().keys.emplace(std::string(text.substr(start, i - start)), line);
      }
      expect_key = false;
    } else if (c == '[' || c == '{') {
      open.push_back(c);
      if (open.size() > kMaxJsonDepth && layout.too_deep_line == 0) layout.too_deep_line = line;
      if (open.size() == 1 && element_depth == 1) expect_element = true;
      if (c == '{' && open.size() == element_depth + 1) expect_key = true;
    } else if (c == ']' || c == '}') {
      if (!open.empty()) open.pop_back();
    } else if (c == ',') {
      if (element_depth == 1 && open.size() == 1) expect_element = true;
      if (open.size() == element_depth + 1 && open.back() == '{') expect_key = true;
    }
  }
  return layout;
}

// Parses `text`, which starts on `first_line` of file `name`.
Status ParseJson(const std::string& name, std::string_view text, size_t first_line, json* value,
                 JsonLayout* layout) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  JsonErrorFinder finder;
  if (!json::sax_parse(begin, end, &finder)) {
    // position counts the bytes read, the offending one included; at the end of the input, point
    // at the last thing written rather than at an empty last line.
    size_t offset = finder.position() > 0 ? finder.position() - 1 : 0;
    if (offset >= text.size()) {
      offset = text.size();
      while (offset > 0 && IsSpace(text[offset - 1])) --offset;
      if (offset > 0) --offset;
    }
    return Status::Error(At(name, first_line + LineAt(text, offset) - 1) + "not valid JSON (" +
                         finder.reason() + ")");
  }
  *layout = ScanJson(text, first_line);
  if (layout->too_deep_line != 0) {
    return Status::Error(At(name, layout->too_deep_line) + "JSON nested deeper than " +
                         std::to_string(kMaxJsonDepth) + " levels");
  }
  *value = json::parse(begin, end, nullptr, false);
  if (value->is_discarded()) return Status::Error(At(name, first_line) + "not valid JSON");
  return Status::Ok();
}

// Typed access to one object's fields; messages name the line of the field (or of the object
// when the field is absent).
class JsonFields {
 public:
  JsonFields(const std::string& name, const json& object, const JsonObjectLines& lines)
      : name_(name), object_(object), lines_(lines) {}

  std::string At(const char* key) const {
    auto it = lines_.keys.find(key);
    return loopwise::At(name_, it == lines_.keys.end() ? lines_.line : it->second);
  }

  // A null field counts as absent.
  Status String(const char* key, bool required, std::string* out) const {
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) {
      return required ? Status::Error(At(key) + Quoted(key) + " is missing") : Status::Ok();
    }
    if (!it->is_string()) {
      return Status::Error(At(key) + Quoted(key) + " must be a string (got " + it->type_name() +
                           ")");
    }
    *out = it->get_ref<const std::string&>();
    return Status::Ok();
  }

  Status Strings(const char* key, std::vector<std::string>* out) const {
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return Status::Ok();
    if (!it->is_array()) {
      return Status::Error(At(key) + Quoted(key) + " must be a list of strings (got " +
                           it->type_name() + ")");
    }
    for (const json& v : *it) {
      if (!v.is_string()) {
        return Status::Error(At(key) + Quoted(key) + " must hold only strings (got " +
                             v.type_name() + ")");
      }
      out->push_back(v.get_ref<const std::string&>());
    }
    return Status::Ok();
  }

 private:
  const std::string& name_;
  const json& object_;
  const JsonObjectLines& lines_;
};

const JsonObjectLines& ElementLines(const JsonLayout& layout, size_t i) {
  static const JsonObjectLines kFirstLine;
  return i < layout.elements.size() ? layout.elements[i] : kFirstLine;
}

Status AddJsonArticle(const std::string& name, const json& object, const JsonObjectLines& lines,
                      ArticleList* list) {
  if (!object.is_object()) {
    return Status::Error(At(name, lines.line) + "expected an article object (got " +
                         object.type_name() + ")");
  }
  const JsonFields fields(name, object, lines);
  Article a;
  Status s = fields.String("id", true, &a.id);
  if (s.ok()) s = fields.String("title", true, &a.title);
  if (s.ok()) s = fields.String("body", false, &a.body);
  if (s.ok()) s = fields.Strings("tags", &a.tags);
  if (s.ok()) s = fields.Strings("pages", &a.pages);
  if (!s.ok()) return s;
  return list->Add(std::move(a), lines.line, fields.At("id"), fields.At("title"));
}

Status ParseJsonArticles(const std::string& name, std::string_view text, ArticleList* list) {
  if (Trim(text).empty()) return Status::Ok();  // Finish() says there are no articles
  json value;
  JsonLayout layout;
  Status s = ParseJson(name, text, 1, &value, &layout);
  if (!s.ok()) return s;
  if (value.is_object()) return AddJsonArticle(name, value, ElementLines(layout, 0), list);
  if (!value.is_array()) {
    return Status::Error(At(name, ElementLines(layout, 0).line) +
                         "expected an article object or a list of them (got " + value.type_name() +
                         ")");
  }
  for (size_t i = 0; i < value.size(); ++i) {
    s = AddJsonArticle(name, value[i], ElementLines(layout, i), list);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// Calls on_object(object, lines) for each non-blank line of JSON Lines text.
template <typename OnObject>
Status ForEachJsonLine(const std::string& name, std::string_view text, OnObject on_object) {
  for (const Line& line : SplitLines(text)) {
    if (Trim(line.text).empty()) continue;
    json value;
    JsonLayout layout;
    Status s = ParseJson(name, line.text, line.number, &value, &layout);
    if (!s.ok()) return s;
    if (!value.is_object()) {
      return Status::Error(At(name, line.number) + "expected a JSON object (got " +
                           value.type_name() + ")");
    }
    s = on_object(value, ElementLines(layout, 0));
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// CSV

struct CsvRecord {
  std::vector<std::string> fields;
  size_t line = 0;
};

bool AtRecordEnd(std::string_view text, size_t i) {
  return i >= text.size() || text[i] == '\n' ||
         (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] == '\n'));
}

// RFC 4180 records; blank lines are skipped. Inside quotes, CRLF becomes LF.
Status ParseCsv(const std::string& name, std::string_view text, std::vector<CsvRecord>* records) {
  size_t i = 0;
  size_t line = 1;
  while (i < text.size()) {
    CsvRecord record;
    record.line = line;
    while (true) {
      std::string field;
      if (text[i] == '"') {
        const size_t open_line = line;
        ++i;
        while (true) {
          if (i >= text.size()) {
            return Status::Error(At(name, open_line) +
                                 "quoted field is not closed (a closing '\"' is missing)");
          }
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            ++i;
            continue;
          }
          if (c == '\n') ++line;
          field.push_back(c);
          ++i;
        }
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
        if (!AtRecordEnd(text, i) && text[i] != ',') {
          return Status::Error(At(name, line) +
                               "unexpected text after a closing quote (inside a quoted field, "
                               "write a quote as \"\")");
        }
      } else {
        const size_t start = i;
        while (!AtRecordEnd(text, i) && text[i] != ',') ++i;
        field.assign(text.substr(start, i - start));
      }
      record.fields.push_back(std::move(field));
      if (i < text.size() && text[i] == ',') {
        ++i;
        if (i == text.size()) record.fields.emplace_back();  // "a,b," ends with an empty field
        if (i < text.size()) continue;
      }
      if (i < text.size() && text[i] == '\r') ++i;
      if (i < text.size() && text[i] == '\n') ++i;
      ++line;
      break;
    }
    if (record.fields.size() == 1 && Trim(record.fields[0]).empty()) continue;
    records->push_back(std::move(record));
  }
  return Status::Ok();
}

// Column positions of the named columns in a CSV header (kNone for absent ones).
Status ReadCsvHeader(const std::string& name, const CsvRecord& header,
                     const std::vector<std::string>& columns, size_t required,
                     std::vector<size_t>* index) {
  index->assign(columns.size(), kNone);
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const std::string column = Lower(Trim(header.fields[i]));
    auto it = std::find(columns.begin(), columns.end(), column);
    if (it == columns.end()) continue;
    size_t& slot = (*index)[static_cast<size_t>(it - columns.begin())];
    if (slot != kNone) {
      return Status::Error(At(name, header.line) + "the header names the " + Quoted(column) +
                           " column twice");
    }
    slot = i;
  }
  for (size_t c = 0; c < required; ++c) {
    if ((*index)[c] == kNone) {
      std::string expected;
      for (size_t k = 0; k < columns.size(); ++k) expected += (k ? "," : "") + columns[k];
      return Status::Error(At(name, header.line) + "the header has no " + Quoted(columns[c]) +
                           " column (the first row names the columns: " + expected + ")");
    }
  }
  return Status::Ok();
}

// A row must have the header's fields; extra empty ones (spreadsheet padding) are tolerated.
Status CheckCsvRow(const std::string& name, const CsvRecord& row, size_t header_size) {
  size_t size = row.fields.size();
  while (size > header_size && Trim(row.fields[size - 1]).empty()) --size;
  if (size == header_size) return Status::Ok();
  return Status::Error(At(name, row.line) + "the row has " + std::to_string(size) +
                       " fields but the header has " + std::to_string(header_size) +
                       (size > header_size ? " (quote fields that contain commas)" : ""));
}

std::string CsvField(const CsvRecord& row, size_t column) {
  return column == kNone ? std::string() : std::string(Trim(row.fields[column]));
}

std::vector<std::string> SplitCsvList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t stop = s.find_first_of("|;", start);
    if (stop == std::string_view::npos) stop = s.size();
    const std::string_view item = Trim(s.substr(start, stop - start));
    if (!item.empty()) out.emplace_back(item);
    start = stop + 1;
  }
  return out;
}

Status ParseCsvArticles(const std::string& name, std::string_view text, ArticleList* list) {
  std::vector<CsvRecord> records;
  Status s = ParseCsv(name, text, &records);
  if (!s.ok() || records.empty()) return s;
  enum { kId, kTitle, kBody, kTags, kPages };
  std::vector<size_t> column;
  s = ReadCsvHeader(name, records[0], {"id", "title", "body", "tags", "pages"}, 2, &column);
  if (!s.ok()) return s;
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& row = records[r];
    s = CheckCsvRow(name, row, records[0].fields.size());
    if (!s.ok()) return s;
    Article a;
    a.id = CsvField(row, column[kId]);
    a.title = CsvField(row, column[kTitle]);
    a.body = CsvField(row, column[kBody]);
    a.tags = SplitCsvList(CsvField(row, column[kTags]));
    a.pages = SplitCsvList(CsvField(row, column[kPages]));
    s = list->Add(std::move(a), row.line, At(name, row.line), At(name, row.line));
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Markdown with front matter: the small part of YAML that front matter uses

struct FrontMatterLine {
  std::string_view text;
  size_t number;
};

struct FrontMatterEntry {
  std::string key;
  std::string_view value;  // after "key:", trimmed, without a comment
  size_t line;
  std::vector<FrontMatterLine> below;  // indented lines and "- " items under the key
};

bool IsListItem(std::string_view trimmed) {
  return trimmed == "-" ||
         (trimmed.size() >= 2 && trimmed[0] == '-' && (trimmed[1] == ' ' || trimmed[1] == '\t'));
}

// Splits "key: value"; a value that is only a comment is empty.
bool SplitKey(std::string_view line, std::string_view* key, std::string_view* value) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != ':') continue;
    if (i + 1 < line.size() && line[i + 1] != ' ' && line[i + 1] != '\t') continue;
    *key = Trim(line.substr(0, i));
    if (key->size() >= 2 && (key->front() == '"' || key->front() == '\'') &&
        key->back() == key->front()) {
      *key = key->substr(1, key->size() - 2);
    }
    *value = Trim(line.substr(i + 1));
    if (!value->empty() && value->front() == '#') *value = {};
    return !key->empty();
  }
  return false;
}

// Whether a line could belong to front matter. A heading cannot: front matter left open usually
// runs into the body's first heading, and that is the line to point at.
bool CouldBeFrontMatter(std::string_view line) {
  const std::string_view t = Trim(line);
  if (t.empty() || line[0] == ' ' || line[0] == '\t' || IsListItem(t)) return true;
  std::string_view key, value;
  return t[0] != '#' && SplitKey(line, &key, &value);
}

// Appends a code point as UTF-8; false for surrogates and values past U+10FFFF.
bool AppendCodePoint(uint32_t cp, std::string* out) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
  AppendUtf8(static_cast<char32_t>(cp), out);
  return true;
}

// Reads a 'single' or "double" quoted scalar starting at s[*i]; leaves *i past the closing quote.
bool ReadQuoted(std::string_view s, size_t* i, std::string* out, std::string* error) {
  const char quote = s[*i];
  size_t p = *i + 1;
  while (p < s.size()) {
    const char c = s[p];
    if (c == quote) {
      if (quote == '\'' && p + 1 < s.size() && s[p + 1] == '\'') {
        out->push_back('\'');
        p += 2;
        continue;
      }
      *i = p + 1;
      return true;
    }
    if (c != '\\' || quote == '\'') {
      out->push_back(c);
      ++p;
      continue;
    }
    if (p + 1 >= s.size()) break;
    const char e = s[p + 1];
    p += 2;
    static constexpr char kEscaped[] = {'"', '\\', '/', ' ', '0', 'b', 'f', 'n', 'r', 't'};
    static constexpr char kMeaning[] = {'"', '\\', '/', ' ', '\0', '\b', '\f', '\n', '\r', '\t'};
    const char* simple = std::find(std::begin(kEscaped), std::end(kEscaped), e);
    if (simple != std::end(kEscaped)) {
      out->push_back(kMeaning[simple - kEscaped]);
      continue;
    }
    const size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (digits == 0) {
      *error = e > ' ' && e < 0x7F
                   ? std::string("unknown escape \"\\") + e + "\" in a quoted string"
                   : std::string("unknown escape in a quoted string");
      return false;
    }
    uint32_t cp = 0;
    bool valid = p + digits <= s.size();
    for (size_t k = 0; valid && k < digits; ++k) {
      const char h = s[p + k];
      const int v = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
      if (v < 0 || cp > 0x10FFFF) valid = false;
      cp = cp * 16 + static_cast<uint32_t>(v < 0 ? 0 : v);
    }
    if (!valid || !AppendCodePoint(cp, out)) {
      *error = std::string("invalid \"\\") + e + "\" escape in a quoted string";
      return false;
    }
    p += digits;
  }
  *error = "quoted string is not closed";
  return false;
}

// A quoted or plain scalar; a plain one ends at a " #" comment.
bool ParseScalar(std::string_view s, std::string* out, std::string* error) {
  s = Trim(s);
  out->clear();
  if (s.empty()) return true;
  if (s[0] == '"' || s[0] == '\'') {
    size_t i = 0;
    if (!ReadQuoted(s, &i, out, error)) return false;
    const std::string_view rest = Trim(s.substr(i));
    if (!rest.empty() && rest[0] != '#') {
      *error = "unexpected text after the closing quote";
      return false;
    }
    return true;
  }
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '#' && (s[i - 1] == ' ' || s[i - 1] == '\t')) {
      s = Trim(s.substr(0, i));
      break;
    }
  }
  out->assign(s);
  return true;
}

// The YAML type a value would have, for messages; empty for a scalar.
const char* CollectionType(std::string_view value) {
  if (!value.empty() && value[0] == '[') return "a list";
  if (!value.empty() && value[0] == '{') return "a mapping";
  return "";
}

Status FrontMatterString(const std::string& name, const FrontMatterEntry& e, std::string* out) {
  const std::string at = At(name, e.line) + Quoted(e.key);
  const char* type = CollectionType(e.value);
  if (e.value.empty() && !e.below.empty()) {
    std::string_view key, value;
    const std::string_view first = Trim(e.below[0].text);
    if (IsListItem(first)) type = "a list";
    if (SplitKey(first, &key, &value)) type = "a mapping";
  }
  if (*type) return Status::Error(at + " must be a string (got " + type + ")");
  std::string error;
  const std::string_view v = e.value;
  if (v == "|" || v == "|-" || v == "|+" || v == ">" || v == ">-" || v == ">+") {
    // Block scalar: literal (|) keeps line breaks, folded (>) joins lines with spaces.
    out->clear();
    for (const FrontMatterLine& l : e.below) {
      if (!out->empty()) out->push_back(v[0] == '|' ? '\n' : ' ');
      out->append(Trim(l.text));
    }
    return Status::Ok();
  }
  // A plain or quoted scalar may continue on indented lines; YAML folds them with spaces.
  std::string text(v);
  for (const FrontMatterLine& l : e.below) text.append(" ").append(Trim(l.text));
  if (!ParseScalar(text, out, &error)) return Status::Error(at + ": " + error);
  return Status::Ok();
}

// An inline list "[a, 'b', "c"]", possibly continued on the following lines.
bool ParseInlineList(std::string_view s, std::vector<std::string>* out, std::string* error) {
  size_t i = 1;  // past '['
  while (true) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i >= s.size()) break;
    if (s[i] == ']') {  // "[]" or a trailing comma
      ++i;
      const std::string_view rest = Trim(s.substr(i));
      if (!rest.empty() && rest[0] != '#') {
        *error = "unexpected text after \"]\"";
        return false;
      }
      return true;
    }
    std::string item;
    if (s[i] == '"' || s[i] == '\'') {
      if (!ReadQuoted(s, &i, &item, error)) return false;
    } else {
      const size_t start = i;
      while (i < s.size() && s[i] != ',' && s[i] != ']') {
        if (s[i] == '[' || s[i] == '{') {
          *error = "lists inside lists are not supported";
          return false;
        }
        ++i;
      }
      item.assign(Trim(s.substr(start, i - start)));
      if (item.empty()) {
        *error = "empty item in an inline list";
        return false;
      }
    }
    if (!item.empty()) out->push_back(std::move(item));
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == ']') continue;
    if (i < s.size()) {
      *error = "expected \",\" or \"]\" in an inline list";
      return false;
    }
  }
  *error = "inline list is not closed by \"]\"";
  return false;
}

Status FrontMatterList(const std::string& name, const FrontMatterEntry& e,
                       std::vector<std::string>* out) {
  const std::string key = Quoted(e.key);
  const char* kHint = " must be a list of strings, like [a, b] or \"- a\" lines below the key";
  std::string error;
  if (!e.value.empty() && e.value[0] == '[') {
    std::string text(e.value);
    for (const FrontMatterLine& l : e.below) text.append(" ").append(Trim(l.text));
    if (!ParseInlineList(text, out, &error)) {
      return Status::Error(At(name, e.line) + key + ": " + error);
    }
    return Status::Ok();
  }
  if (!e.value.empty()) {
    const char* type = CollectionType(e.value);
    return Status::Error(At(name, e.line) + key + kHint + " (got " + (*type ? type : "a string") +
                         ")");
  }
  for (const FrontMatterLine& l : e.below) {
    const std::string_view t = Trim(l.text);
    if (!IsListItem(t)) {
      std::string_view k, v;
      return Status::Error(At(name, l.number) + key + kHint + " (got " +
                           (SplitKey(t, &k, &v) ? "a mapping" : "a string") + ")");
    }
    const std::string_view item = Trim(t.substr(1));
    if (*CollectionType(item)) {
      return Status::Error(At(name, l.number) + key + " must hold only strings (got " +
                           CollectionType(item) + ")");
    }
    std::string value;
    if (!ParseScalar(item, &value, &error)) {
      return Status::Error(At(name, l.number) + key + ": " + error);
    }
    if (!value.empty()) out->push_back(std::move(value));
  }
  return Status::Ok();
}

bool IsArticleKey(std::string_view key) {
  return key == "id" || key == "title" || key == "tags" || key == "pages";
}

// Front matter lines [begin, end) as entries, one per top-level key.
Status ReadFrontMatter(const std::string& name, const std::vector<Line>& lines, size_t begin,
                       size_t end, std::vector<FrontMatterEntry>* entries) {
  for (size_t k = begin; k < end; ++k) {
    const std::string_view raw = lines[k].text;
    const std::string_view t = Trim(raw);
    if (t.empty() || t[0] == '#') continue;
    if (raw[0] == ' ' || raw[0] == '\t' || IsListItem(t)) {
      if (entries->empty()) {
        return Status::Error(At(name, lines[k].number) +
                             "expected \"key: value\" in the front matter (got \"" + Excerpt(t) +
                             "\" with no key above it)");
      }
      entries->back().below.push_back({raw, lines[k].number});
      continue;
    }
    std::string_view key, value;
    if (!SplitKey(raw, &key, &value)) {
      return Status::Error(At(name, lines[k].number) +
                           "expected \"key: value\" in the front matter (got \"" + Excerpt(t) +
                           "\")");
    }
    const std::string lower = Lower(key);
    if (IsArticleKey(lower)) {
      for (const FrontMatterEntry& e : *entries) {
        if (e.key == lower) {
          return Status::Error(At(name, lines[k].number) + Quoted(lower) +
                               " appears twice in the front matter (first on line " +
                               std::to_string(e.line) + ")");
        }
      }
    }
    entries->push_back({lower, value, lines[k].number, {}});
  }
  return Status::Ok();
}

// The first "# " heading outside fenced code blocks, or empty.
std::string FirstHeading(std::string_view body) {
  char fence = 0;
  for (const Line& l : SplitLines(body)) {
    std::string_view t = l.text;
    size_t indent = 0;
    while (indent < t.size() && indent < 4 && t[indent] == ' ') ++indent;
    if (indent == 4) continue;  // indented code
    t.remove_prefix(indent);
    if (t.size() >= 3 && (t[0] == '`' || t[0] == '~') && t[1] == t[0] && t[2] == t[0]) {
      if (fence == 0) {
        fence = t[0];
      } else if (fence == t[0]) {
        fence = 0;
      }
      continue;
    }
    if (fence != 0 || t.size() < 2 || t[0] != '#' || (t[1] != ' ' && t[1] != '\t')) continue;
    std::string_view heading = Trim(t.substr(2));
    // An optional closing sequence: "# Title ##".
    size_t end = heading.size();
    while (end > 0 && heading[end - 1] == '#') --end;
    if (end == 0) {
      heading = {};
    } else if (end < heading.size() && (heading[end - 1] == ' ' || heading[end - 1] == '\t')) {
      heading = Trim(heading.substr(0, end));
    }
    if (!heading.empty()) return std::string(heading);
  }
  return "";
}

// The body without leading blank lines or trailing whitespace, with LF line ends.
std::string MarkdownBody(std::string_view text) {
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const std::string_view first = text.substr(0, newline);
    if (!Trim(first).empty()) break;
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
  }
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return WithoutCarriageReturns(text);
}

Status ParseMarkdownArticle(const std::string& name, std::string_view text, ArticleList* list) {
  const std::vector<Line> lines = SplitLines(text);
  std::vector<FrontMatterEntry> entries;
  size_t body_start = 0;
  if (!lines.empty() && Trim(lines[0].text) == "---") {
    size_t close = kNone;
    for (size_t k = 1; k < lines.size() && close == kNone; ++k) {
      if (Trim(lines[k].text) == "---") close = k;
    }
    if (close == kNone) {
      size_t at = lines.back().number;
      for (size_t k = 1; k < lines.size(); ++k) {
        if (!CouldBeFrontMatter(lines[k].text)) {
          at = lines[k].number;
          break;
        }
      }
      return Status::Error(At(name, at) + "front matter is not closed by a \"---\" line");
    }
    Status s = ReadFrontMatter(name, lines, 1, close, &entries);
    if (!s.ok()) return s;
    body_start = lines[close].next;
  }

  Article a;
  size_t id_line = 1, title_line = 1;
  for (const FrontMatterEntry& e : entries) {
    Status s;
    if (e.key == "id") {
      s = FrontMatterString(name, e, &a.id);
      id_line = e.line;
    } else if (e.key == "title") {
      s = FrontMatterString(name, e, &a.title);
      title_line = e.line;
    } else if (e.key == "tags") {
      s = FrontMatterList(name, e, &a.tags);
    } else if (e.key == "pages") {
      s = FrontMatterList(name, e, &a.pages);
    }
    if (!s.ok()) return s;
  }
  a.body = MarkdownBody(text.substr(body_start));
  if (a.id.empty()) {
    a.id = fs::path(name).stem().string();
    if (a.id == kRequestBody) {
      return Status::Error(name +
                           ": a Markdown article sent over HTTP needs \"id: ...\" in its "
                           "front matter");
    }
  }
  if (Trim(a.title).empty()) a.title = FirstHeading(a.body);
  if (a.title.empty()) {
    return Status::Error(At(name, title_line) +
                         "the article has no title (add \"title: ...\" to the front matter or "
                         "start the text with a \"# \" heading)");
  }
  return list->Add(std::move(a), 1, At(name, id_line), At(name, title_line));
}

// ---------------------------------------------------------------------------------------------
// History

Status CheckTicket(const HistoryTicket& t, const std::string& text_at,
                   const std::string& article_at) {
  if (Trim(t.text).empty()) return Status::Error(text_at + "\"text\" is empty");
  return t.article ? CheckId(*t.article, "article", article_at) : Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Files and folders

bool HasExtension(const std::string& name, const std::vector<std::string>& extensions) {
  return std::find(extensions.begin(), extensions.end(), Extension(name)) != extensions.end();
}

// The files to import from `path`: the path itself, or the files below a folder with one of
// `extensions`, in sorted path order. Hidden entries (".git", ".DS_Store") are skipped.
Result<std::vector<std::string>> ImportFiles(const std::string& path,
                                             const std::vector<std::string>& extensions) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    return Status::Error(path + ": no such file or folder");
  }
  if (ec) return Status::Error(path + ": cannot read (" + ec.message() + ")");
  if (!fs::is_directory(status)) return std::vector<std::string>{path};

  std::vector<fs::path> files;
  const fs::recursive_directory_iterator end;
  for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != end; it.increment(ec)) {
    const std::string file_name = it->path().filename().string();
    std::error_code entry_ec;
    if (!file_name.empty() && file_name[0] == '.') {
      if (it->is_directory(entry_ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(entry_ec) && HasExtension(file_name, extensions)) {
      files.push_back(it->path());
    }
  }
  if (ec) return Status::Error(path + ": cannot read the folder (" + ec.message() + ")");
  if (files.empty()) {
    std::string list;
    for (size_t i = 0; i < extensions.size(); ++i) {
      list += (i == 0 ? "." : i + 1 == extensions.size() ? " or ." : ", .") + extensions[i];
    }
    return Status::Error(path + ": no " + list + " files in this folder");
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> names;
  for (const fs::path& f : files) names.push_back(f.string());
  return names;
}

}  // namespace

Result<std::vector<Article>> ParseArticles(const std::string& name, std::string_view bytes) {
  const std::string ext = Extension(name);
  if (!HasExtension(name, kArticleExtensions)) {
    return Status::Error(
        UnsupportedExtension(name, "articles", ".md, .markdown, .json, .jsonl or .csv"));
  }
  const ArticleFormat format = ext == "md" || ext == "markdown" ? ArticleFormat::kMarkdown
                               : ext == "json"                  ? ArticleFormat::kJson
                               : ext == "jsonl"                 ? ArticleFormat::kJsonLines
                                                                : ArticleFormat::kCsv;
  return ParseArticlesAs(name, bytes, format);
}

Result<std::vector<Article>> ParseArticlesAs(const std::string& name, std::string_view bytes,
                                             ArticleFormat format) {
  auto text = Utf8Text(name, bytes);
  if (!text.ok()) return text.status();
  ArticleList list(name);
  Status s;
  switch (format) {
    case ArticleFormat::kMarkdown:
      s = ParseMarkdownArticle(name, text.value(), &list);
      break;
    case ArticleFormat::kJson:
      s = ParseJsonArticles(name, text.value(), &list);
      break;
    case ArticleFormat::kJsonLines:
      s = ForEachJsonLine(name, text.value(),
                          [&](const json& object, const JsonObjectLines& lines) {
                            return AddJsonArticle(name, object, lines, &list);
                          });
      break;
    case ArticleFormat::kCsv:
      s = ParseCsvArticles(name, text.value(), &list);
      break;
  }
  if (!s.ok()) return s;
  return list.Finish();
}

Result<std::vector<HistoryTicket>> ParseHistory(const std::string& name, std::string_view bytes) {
  const std::string ext = Extension(name);
  if (!HasExtension(name, kHistoryExtensions)) {
    return Status::Error(UnsupportedExtension(name, "history", ".jsonl or .csv"));
  }
  auto text = Utf8Text(name, bytes);
  if (!text.ok()) return text.status();
  std::vector<HistoryTicket> tickets;
  Status s;
  if (ext == "jsonl") {
    s = ForEachJsonLine(name, text.value(), [&](const json& object, const JsonObjectLines& lines) {
      const JsonFields fields(name, object, lines);
      HistoryTicket t;
      t.line = lines.line;
      Status st = fields.String("text", true, &t.text);
      if (st.ok() && !object.contains("article")) {
        st = Status::Error(fields.At("article") +
                           "\"article\" is missing (null marks a ticket no article answered)");
      }
      if (st.ok() && !object["article"].is_null()) {
        t.article.emplace();
        st = fields.String("article", true, &*t.article);
      }
      if (st.ok()) st = CheckTicket(t, fields.At("text"), fields.At("article"));
      if (st.ok()) tickets.push_back(std::move(t));
      return st;
    });
  } else {
    std::vector<CsvRecord> records;
    s = ParseCsv(name, text.value(), &records);
    std::vector<size_t> column;
    if (s.ok() && !records.empty()) {
      s = ReadCsvHeader(name, records[0], {"text", "article"}, 2, &column);
    }
    for (size_t r = 1; s.ok() && r < records.size(); ++r) {
      const CsvRecord& row = records[r];
      s = CheckCsvRow(name, row, records[0].fields.size());
      if (!s.ok()) break;
      HistoryTicket t{CsvField(row, column[0]), CsvField(row, column[1]), row.line};
      s = CheckTicket(t, At(name, row.line), At(name, row.line));
      if (s.ok()) tickets.push_back(std::move(t));
    }
  }
  if (!s.ok()) return s;
  if (tickets.empty()) return Status::Error(name + ": no history tickets in this file");
  return tickets;
}

Result<std::vector<Article>> ReadArticlesPath(const std::string& path) {
  auto files = ImportFiles(path, kArticleExtensions);
  if (!files.ok()) return files.status();
  std::vector<Article> merged;
  std::unordered_map<std::string, size_t> position;
  for (const std::string& file : files.value()) {
    auto bytes = cli::ReadFile(file);
    if (!bytes.ok()) return bytes.status();
    auto articles = ParseArticles(file, bytes.value());
    if (!articles.ok()) return articles.status();
    for (Article& a : articles.value()) {
      auto [it, inserted] = position.emplace(a.id, merged.size());
      if (inserted) {
        merged.push_back(std::move(a));
      } else {
        merged[it->second] = std::move(a);
      }
    }
  }
  return merged;
}

Result<std::vector<HistoryTicket>> ReadHistoryPath(const std::string& path) {
  auto files = ImportFiles(path, kHistoryExtensions);
  if (!files.ok()) return files.status();
  std::vector<HistoryTicket> all;
  for (const std::string& file : files.value()) {
    auto bytes = cli::ReadFile(file);
    if (!bytes.ok()) return bytes.status();
    auto tickets = ParseHistory(file, bytes.value());
    if (!tickets.ok()) return tickets.status();
    for (HistoryTicket& t : tickets.value()) all.push_back(std::move(t));
  }
  return all;
}

}  // namespace loopwise
