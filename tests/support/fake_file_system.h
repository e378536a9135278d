// FakeFileSystem: the FileSystem port (common/os/file_system.h) over an
// in-memory tree.  Paths are absolute; adding a file creates its parent
// directories.  Writes replace the file's content and are recorded, in
// order; a failure can be set per path.  Thread-safe, like the port (Executor
// workers read it).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/logging.h"
#include "common/os/file_system.h"

namespace nfsrec {

class FakeFileSystem final : public FileSystem {
 public:
  struct Write {
    std::string path;
    std::string data;
    bool operator==(const Write&) const = default;
  };

  FakeFileSystem() { nodes_["/"] = Node{FileType::kDirectory, ""}; }

  // Creates or replaces a regular file.
  void SetFile(const std::string& path, std::string content) {
    Add(path, FileType::kRegular, std::move(content));
  }
  void MakeDir(const std::string& path) { Add(path, FileType::kDirectory, ""); }
  // An entry of another type (kSymlink, kOther): listed, never read.
  void MakeSpecial(const std::string& path, FileType type) { Add(path, type, ""); }
  // Removes path and everything under it.
  void Remove(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      it = IsUnder(it->first, path) ? nodes_.erase(it) : std::next(it);
    }
  }
  // The next writes to path fail with `status` (Ok() clears it).
  void FailWrites(const std::string& path, Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    write_errors_[path] = std::move(status);
  }

  // The file's content, or "" if there is none.
  std::string Content(const std::string& path) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = nodes_.find(path);
    return it == nodes_.end() ? "" : it->second.content;
  }
  std::vector<Write> writes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_;
  }
  int reads() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reads_;
  }

  Result<std::string> ReadSmallFile(const std::string& path,
                                    const ReadFileOptions& options) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++reads_;
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return Status::NotFound("open " + path + ": no such file");
    switch (it->second.type) {
      case FileType::kRegular:
        break;
      case FileType::kDirectory:
        return Status::IOError("read " + path + ": Is a directory");
      case FileType::kSymlink:
        if (options.no_follow) return Status::IOError("open " + path + ": a symbolic link");
        return Status::NotFound("open " + path + ": dangling symbolic link");
      case FileType::kOther:
        return std::string();  // a FIFO reads as empty
    }
    const std::string& text = it->second.content;
    if (text.size() > options.max_bytes) {
      if (options.truncate) return text.substr(0, options.max_bytes);
      return Status::InvalidArgument(StrCat(path, ": larger than ", options.max_bytes, " bytes"));
    }
    return text;
  }

  Status WriteExistingFile(const std::string& path, std::string_view data) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto err = write_errors_.find(path);
    if (err != write_errors_.end() && !err->second.ok()) return err->second;
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return Status::NotFound("open " + path + ": no such file");
    if (it->second.type != FileType::kRegular) {
      return Status::IOError("open " + path + ": not a file");
    }
    it->second.content = std::string(data);
    writes_.push_back(Write{path, std::string(data)});
    return Status::Ok();
  }

  Result<std::vector<DirEntry>> ListDirectory(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = nodes_.find(path);
    if (it == nodes_.end() || it->second.type != FileType::kDirectory) {
      return Status::NotFound("opendir " + path + ": no such directory");
    }
    const std::string prefix = path == "/" ? "/" : path + "/";
    std::vector<DirEntry> out;  // the map's order is byte order
    for (auto c = nodes_.upper_bound(prefix); c != nodes_.end(); ++c) {
      if (c->first.compare(0, prefix.size(), prefix) != 0) break;
      std::string_view rest = std::string_view(c->first).substr(prefix.size());
      if (rest.empty() || rest.find('/') != std::string_view::npos) continue;
      out.push_back(DirEntry{std::string(rest), c->second.type});
    }
    return out;
  }

 private:
  struct Node {
    FileType type;
    std::string content;
  };
  static bool IsUnder(const std::string& p, const std::string& dir) {
    return p == dir ||
           (p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0 && p[dir.size()] == '/');
  }
  void Add(const std::string& path, FileType type, std::string content) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      nodes_.try_emplace(path.substr(0, slash), Node{FileType::kDirectory, ""});
    }
    nodes_[path] = Node{type, std::move(content)};
  }

  mutable std::mutex mu_;
  std::map<std::string, Node> nodes_;  // absolute path -> node
  std::map<std::string, Status> write_errors_;
  std::vector<Write> writes_;
  int reads_ = 0;
};

}  // namespace nfsrec
