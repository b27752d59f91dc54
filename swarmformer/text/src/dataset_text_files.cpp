// Users' own data: JSONL and CSV files (plain or gzipped), any number of classes.
#include <nlohmann/json.hpp>

#include "dataset_internal.hpp"
#include "sf/core/error.hpp"
#include "utf8.hpp"

namespace sf {
namespace {

std::string location(const std::string& path, std::int64_t line) { return fmt::format("{}:{}", path, line); }

bool is_blank_line(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// The class name in a project IMDB id "<split>/<class>/<n>", or empty.
std::string_view class_from_id(const nlohmann::json& object) {
  const auto found = object.find("id");
  if (found == object.end() || !found->is_string()) return {};
  const std::string& id = found->get_ref<const std::string&>();
  const std::size_t first = id.find('/');
  const std::size_t second = first == std::string::npos ? first : id.find('/', first + 1);
  if (second == std::string::npos || second == first + 1 || id.find('/', second + 1) != std::string::npos) return {};
  return std::string_view(id).substr(first + 1, second - first - 1);
}

// One CSV record at a time (RFC 4180): fields separated by commas, records by CRLF or LF;
// a field in double quotes may hold commas, line breaks and doubled quotes ("").
class CsvReader {
 public:
  CsvReader(const std::string& path, std::string_view content) : path_(path), content_(content) {
    if (content_.starts_with("\xEF\xBB\xBF")) content_.remove_prefix(3);  // a UTF-8 byte order mark
  }

  // Reads the next record into `fields`; false at the end. `record_line` gets its first line.
  bool next(std::vector<std::string>& fields, std::int64_t& record_line) {
    if (position_ >= content_.size()) return false;
    record_line = line_;
    fields.clear();
    for (;;) {
      fields.emplace_back();
      std::string& field = fields.back();
      if (position_ < content_.size() && content_[position_] == '"') {
        read_quoted(field);
      } else {
        const std::size_t end = content_.find_first_of(",\r\n\"", position_);
        const std::size_t stop = end == std::string_view::npos ? content_.size() : end;
        if (stop < content_.size() && content_[stop] == '"')
          fail("{}: a quote inside an unquoted field; quote the whole field and double the quote (\"\")",
               location(path_, line_));
        field.assign(content_.substr(position_, stop - position_));
        position_ = stop;
      }
      if (position_ >= content_.size()) return true;
      const char separator = content_[position_++];
      if (separator == ',') continue;
      if (separator == '\r' && position_ < content_.size() && content_[position_] == '\n') ++position_;
      ++line_;
      return true;
    }
  }

 private:
  void read_quoted(std::string& field) {
    const std::int64_t opened = line_;
    ++position_;
    for (;;) {
      const std::size_t quote = content_.find('"', position_);
      if (quote == std::string_view::npos)
        fail("{}: unterminated quoted field: the quote opened on this line is never closed", location(path_, opened));
      const std::string_view piece = content_.substr(position_, quote - position_);
      for (const char character : piece) line_ += character == '\n';
      field.append(piece);
      position_ = quote + 1;
      if (position_ < content_.size() && content_[position_] == '"') {  // "" is one quote
        field.push_back('"');
        ++position_;
        continue;
      }
      break;
    }
    if (position_ < content_.size() && content_[position_] != ',' && content_[position_] != '\r' && content_[position_] != '\n')
      fail("{}: unexpected character after a closing quote; a quote inside a quoted field must be doubled (\"\")",
           location(path_, line_));
  }

  const std::string& path_;
  std::string_view content_;
  std::size_t position_ = 0;
  std::int64_t line_ = 1;
};

std::string trimmed_lower(std::string_view text) {
  const std::size_t begin = text.find_first_not_of(" \t");
  const std::size_t end = text.find_last_not_of(" \t");
  return begin == std::string_view::npos ? std::string() : detail::lower_case_ascii(text.substr(begin, end - begin + 1));
}

}  // namespace

TextDataset load_jsonl(const std::string& path, const std::vector<std::string>& class_names) {
  const std::string content = detail::read_file(path);
  detail::RowCollector rows(path, class_names);
  std::size_t line_begin = 0;
  for (std::int64_t line_number = 1; line_begin < content.size(); ++line_number) {
    std::size_t line_end = content.find('\n', line_begin);
    if (line_end == std::string::npos) line_end = content.size();
    std::string_view line(content.data() + line_begin, line_end - line_begin);
    line_begin = line_end + 1;
    if (is_blank_line(line)) continue;
    if (const std::size_t bad = utf8::first_invalid(line); bad != utf8::npos)
      fail("{}: invalid UTF-8 at byte {} of the line (bytes {}); convert the file to UTF-8", location(path, line_number), bad,
           utf8::describe_bytes(line, bad));
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& error) {  // syntax, or a number too large for any type
      fail("{}: invalid JSON: {}", location(path, line_number), error.what());
    }
    if (!object.is_object())
      fail("{}: expected one JSON object per line ({{\"text\": ..., \"label\": ...}}), got {}", location(path, line_number),
           object.type_name());
    const auto text = object.find("text");
    if (text == object.end() || !text->is_string())
      fail("{}: the object has no \"text\" string", location(path, line_number));
    const auto label = object.find("label");
    if (label == object.end()) fail("{}: the object has no \"label\"", location(path, line_number));
    detail::RawLabel raw;
    if (label->is_number_integer()) {
      raw.number = label->get<std::int64_t>();
    } else if (label->is_string()) {
      raw.name = label->get<std::string>();
    } else {
      fail("{}: \"label\" must be an integer (class index) or a string (class name), got {} {}", location(path, line_number),
           label->type_name(), label->dump());
    }
    rows.add(std::move(text->get_ref<std::string&>()), raw, location(path, line_number), class_from_id(object));
  }
  return rows.finish();
}

TextDataset load_csv(const std::string& path, const std::vector<std::string>& class_names) {
  const std::string content = detail::read_file(path);
  CsvReader reader(path, content);
  std::vector<std::string> fields;
  std::int64_t line = 0;
  if (!reader.next(fields, line)) fail("{}: empty CSV file (expected a header row with text and label columns)", path);
  const std::size_t columns = fields.size();
  std::size_t text_column = columns, label_column = columns;
  for (std::size_t index = 0; index < columns; ++index) {
    const std::string name = trimmed_lower(fields[index]);
    if (name == "text") text_column = index;
    if (name == "label") label_column = index;
  }
  if (text_column == columns || label_column == columns) {
    std::string header;
    for (const std::string& field : fields) header += (header.empty() ? "" : ", ") + field;
    fail("{}: the header row needs a \"text\" and a \"label\" column; it has: {}", location(path, line), header);
  }
  detail::RowCollector rows(path, class_names);
  while (reader.next(fields, line)) {
    if (fields.size() == 1 && fields[0].empty()) continue;  // a blank line
    if (fields.size() != columns)
      fail("{}: {} fields, but the header has {} columns", location(path, line), fields.size(), columns);
    // CSV has no types: a label is always a class name ("1" included).
    detail::RawLabel raw;
    raw.name = fields[label_column];
    rows.add(std::move(fields[text_column]), raw, location(path, line));
  }
  return rows.finish();
}

}  // namespace sf
