// The Stanford aclImdb layout: aclImdb/{train,test}/{neg,pos}/<id>_<rating>.txt, as a directory
// or inside aclImdb_v1.tar.gz.
//
// The archive is read as a stream (gunzip + tar, no temporary files). Tar in brief: the archive is
// a sequence of 512-byte blocks; each member is one header block followed by its data rounded up
// to whole blocks; two zero blocks end it. Header fields used here (offsets in bytes):
//   name[100] @0, size[12] @124 (octal text, or base-256 binary when its first byte has the high
//   bit set), checksum[8] @148 (sum of the header bytes with this field read as spaces),
//   type @156 ('0'/'\0' file, '5' directory, 'L' GNU long name, 'x'/'g' pax headers),
//   magic[6] @257 ("ustar\0" for POSIX, whose prefix[155] @345 is prepended to the name).
// Long names: GNU 'L' members hold the next member's name as data; pax 'x' members hold
// "<length> path=<name>\n" records.
#include <algorithm>
#include <array>
#include <functional>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "dataset_internal.hpp"
#include "sf/core/error.hpp"

namespace sf {
namespace {

namespace fs = std::filesystem;
using detail::AclImdbFile;

constexpr std::array<const char*, 2> class_folders = {"neg", "pos"};  // label = index

void check_split(const std::string& split, const std::string& path) {
  if (split != "train" && split != "test")
    fail("{}: the aclImdb layout has the splits train and test, not \"{}\"", path, split);
}

// The label of an archive member aclImdb/<split>/<neg|pos>/<name>.txt (any leading folders
// allowed), or -1 when the member is something else.
int member_label(const std::string& member, const std::string& split, std::string& file_name) {
  std::vector<std::string_view> parts;
  std::string_view rest = member;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (!part.empty() && part != ".") parts.push_back(part);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  const std::size_t count = parts.size();
  if (count < 4 || parts[count - 4] != "aclImdb" || parts[count - 3] != split || !parts[count - 1].ends_with(".txt"))
    return -1;
  for (std::size_t label = 0; label < class_folders.size(); ++label) {
    if (parts[count - 2] == class_folders[label]) {
      file_name = std::string(parts[count - 1]);
      return static_cast<int>(label);
    }
  }
  return -1;
}

std::uint64_t parse_tar_number(const char* field, std::size_t width, const std::string& where) {
  const auto first = static_cast<unsigned char>(field[0]);
  if (first & 0x80) {  // GNU base-256 for values that do not fit in octal
    std::uint64_t value = first & 0x7F;
    for (std::size_t index = 1; index < width; ++index) value = (value << 8) | static_cast<unsigned char>(field[index]);
    return value;
  }
  std::uint64_t value = 0;
  std::size_t index = 0;
  while (index < width && (field[index] == ' ' || field[index] == '\0')) ++index;
  for (; index < width && field[index] >= '0' && field[index] <= '7'; ++index) value = value * 8 + static_cast<std::uint64_t>(field[index] - '0');
  if (index < width && field[index] != ' ' && field[index] != '\0') fail("{}: corrupt tar header (bad number field)", where);
  return value;
}

std::string c_string(const char* field, std::size_t width) { return std::string(field, strnlen(field, width)); }

// The "path" value of a pax extended header ("<length> <key>=<value>\n" records), or empty.
std::string pax_path(const std::string& records, const std::string& where) {
  std::string path;
  std::size_t position = 0;
  while (position < records.size()) {
    const std::size_t space = records.find(' ', position);
    if (space == std::string::npos) break;
    const std::size_t length = std::strtoull(records.c_str() + position, nullptr, 10);
    if (length == 0 || position + length > records.size()) fail("{}: corrupt pax header", where);
    const std::string record = records.substr(space + 1, position + length - space - 2);  // without "\n"
    if (record.starts_with("path=")) path = record.substr(5);
    position += length;
  }
  return path;
}

}  // namespace

namespace detail {

void read_tar(const std::string& path, const std::function<bool(const std::string& name)>& wanted,
              const std::function<void(const std::string& name, std::string data)>& take) {
  InputFile input(path);
  std::string long_name;
  std::array<char, 512> header{};
  std::uint64_t offset = 0;  // of the current header, in the uncompressed archive
  std::string data;
  for (;; offset += 512) {
    const std::size_t count = input.read(header.data(), header.size());
    if (count == 0) break;  // some writers omit the two zero blocks at the end
    const std::string where = fmt::format("{}: tar offset {}", path, offset);
    if (count < header.size()) fail("{}: truncated tar archive (a header block ends early)", where);
    if (std::all_of(header.begin(), header.end(), [](char byte) { return byte == 0; })) break;
    std::uint64_t checksum = 0;
    for (std::size_t index = 0; index < header.size(); ++index)
      checksum += (index >= 148 && index < 156) ? ' ' : static_cast<unsigned char>(header[index]);
    if (checksum != parse_tar_number(&header[148], 8, where))
      fail("{}: not a tar archive, or a corrupt header (checksum mismatch)", where);
    const std::uint64_t size = parse_tar_number(&header[124], 12, where);
    const std::uint64_t padded = (size + 511) / 512 * 512;
    const char type = header[156];
    std::string name = c_string(&header[0], 100);
    if (std::memcmp(&header[257], "ustar\0", 6) == 0 && header[345] != '\0') name = c_string(&header[345], 155) + "/" + name;
    if (!long_name.empty()) name = std::exchange(long_name, {});

    const bool metadata = type == 'L' || type == 'x';
    const bool file = (type == '0' || type == '\0' || type == '7') && wanted(name);
    if (metadata || file) {
      if (size > (1ull << 32)) fail("{}: member {} is implausibly large ({} bytes)", where, name, size);
      data.resize(static_cast<std::size_t>(padded));
      input.read_exactly(data.data(), data.size(), "the data of member " + name);
      data.resize(static_cast<std::size_t>(size));
      if (type == 'L') long_name = c_string(data.data(), data.size());
      else if (type == 'x') long_name = pax_path(data, where);
      else take(name, std::move(data));
    } else {
      // Skip the member's data; gzip cannot seek, so read it into a scratch block.
      std::array<char, 512> scratch{};
      for (std::uint64_t left = padded; left > 0; left -= 512) input.read_exactly(scratch.data(), 512, "the data of member " + name);
    }
    offset += padded;
  }
}

}  // namespace detail

TextDataset load_aclimdb_archive(const std::string& path, const std::string& split) {
  check_split(split, path);
  std::vector<AclImdbFile> files;
  std::string file_name;
  int label = -1;
  detail::read_tar(
      path,
      [&](const std::string& name) {
        label = member_label(name, split, file_name);
        return label >= 0;
      },
      [&](const std::string& name, std::string data) { files.push_back({label, file_name, path + ": " + name, std::move(data)}); });
  for (std::size_t label_index = 0; label_index < class_folders.size(); ++label_index)
    if (std::none_of(files.begin(), files.end(), [&](const AclImdbFile& file) { return file.label == static_cast<int>(label_index); }))
      fail("{}: the archive has no aclImdb/{}/{}/*.txt files (expected Stanford's aclImdb_v1.tar.gz layout)", path, split,
           class_folders[label_index]);
  return detail::aclimdb_dataset(std::move(files), path);
}

TextDataset load_aclimdb_directory(const std::string& path, const std::string& split) {
  check_split(split, path);
  if (!fs::is_directory(path)) fail("{}: missing folder (expected the aclImdb directory)", path);
  // The root is `path` itself or its aclImdb/ child, whichever holds train/ or test/.
  fs::path root;
  for (const fs::path& candidate : {fs::path(path), fs::path(path) / "aclImdb"}) {
    if (fs::is_directory(candidate / "train") || fs::is_directory(candidate / "test")) {
      root = candidate;
      break;
    }
  }
  if (root.empty())
    fail("{}: not an aclImdb directory (expected train/ and test/ in it or in its aclImdb/ folder)", path);
  std::vector<AclImdbFile> files;
  for (std::size_t label = 0; label < class_folders.size(); ++label) {
    const fs::path folder = root / split / class_folders[label];
    if (!fs::is_directory(folder))
      fail("{}: missing folder (the aclImdb layout is aclImdb/{{train,test}}/{{neg,pos}}/<id>_<rating>.txt)", folder.string());
    std::size_t found = 0;
    for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".txt") continue;
      std::ifstream stream(entry.path(), std::ios::binary);
      if (!stream) fail("{}: cannot open", entry.path().string());
      std::ostringstream content;
      content << stream.rdbuf();
      files.push_back({static_cast<std::int32_t>(label), entry.path().filename().string(), entry.path().string(), content.str()});
      ++found;
    }
    if (found == 0) fail("{}: the folder holds no .txt reviews", folder.string());
  }
  return detail::aclimdb_dataset(std::move(files), root.string());
}

}  // namespace sf
