// The Stanford aclImdb layout: aclImdb/{train,test}/{neg,pos}/<id>_<rating>.txt, as a directory
// or inside aclImdb_v1.tar.gz.
//
// The archive is read as a stream by libarchive (gzip or plain; ustar, GNU and pax tar, long
// names included), no temporary files: each wanted regular member's data is handed over whole.
#include <algorithm>
#include <array>
#include <functional>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include <archive.h>
#include <archive_entry.h>

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

}  // namespace

namespace detail {

void read_tar(const std::string& path, const std::function<bool(const std::string& name)>& wanted,
              const std::function<void(const std::string& name, std::string data)>& take) {
  struct Free {
    void operator()(archive* reader) const { archive_read_free(reader); }
  };
  const std::unique_ptr<archive, Free> reader(archive_read_new());
  if (!reader) fail("{}: cannot start an archive reader (out of memory)", path);
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_format_tar(reader.get());
  const auto problem = [&] {
    const char* text = archive_error_string(reader.get());
    return std::string(text ? text : "unknown error");
  };
  if (!fs::is_regular_file(path)) fail("{}: no such file", path);
  if (archive_read_open_filename(reader.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    fail("{}: cannot read the archive: {}", path, problem());
  archive_entry* entry = nullptr;
  std::int64_t members = 0;
  for (;; ++members) {
    const int status = archive_read_next_header(reader.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status < ARCHIVE_WARN)
      fail("{}: a damaged tar archive at member {}: {}", path, members + 1, problem());
    const char* pathname = archive_entry_pathname(entry);
    const std::string name = pathname ? pathname : "";
    if (archive_entry_filetype(entry) != AE_IFREG || !wanted(name)) continue;  // libarchive skips the data
    const la_int64_t size = archive_entry_size(entry);
    if (size < 0 || size > (la_int64_t{1} << 32)) fail("{}: member {} is implausibly large ({} bytes)", path, name, size);
    std::string data(static_cast<std::size_t>(size), '\0');
    std::size_t filled = 0;
    while (filled < data.size()) {
      const la_ssize_t got = archive_read_data(reader.get(), data.data() + filled, data.size() - filled);
      if (got < 0) fail("{}: the data of member {}: {}", path, name, problem());
      if (got == 0) fail("{}: truncated archive: the data of member {} ends after {} of {} bytes", path, name, filled, size);
      filled += static_cast<std::size_t>(got);
    }
    take(name, std::move(data));
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
