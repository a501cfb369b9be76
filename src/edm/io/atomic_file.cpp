#include "edm/io/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "edm/core/error.h"

namespace edm {

namespace fs = std::filesystem;

namespace {

// The file to replace: a symbolic link is followed, so the link stays and its
// target gets the new contents; anything but a regular file is refused, since
// renaming over it would replace a device, a FIFO or a directory.
std::string resolve_target(const std::string& path) {
  std::error_code ec;
  fs::path p = path;
  if (fs::is_symlink(fs::symlink_status(p, ec))) p = fs::weakly_canonical(p, ec);
  auto st = fs::status(p, ec);
  if (fs::exists(st) && !fs::is_regular_file(st))
    throw Error("cannot write '" + path + "': it exists and is not a regular file");
  return p.string();
}

// Temporaries left by a writer that was killed: "<name>.tmp.<pid>" whose
// process is gone.
void remove_stale_temporaries(const fs::path& target) {
  std::error_code ec;
  const std::string prefix = target.filename().string() + ".tmp.";
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid = name.substr(prefix.size());
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
    if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH) fs::remove(it->path(), ec);
  }
}

}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  const std::string target = resolve_target(path);
  remove_stale_temporaries(target);
  target_ = target;
  tmp_ = target + ".tmp." + std::to_string(::getpid());
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) throw Error("cannot write '" + path + "': " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t size) {
  if (size && std::fwrite(data, 1, size, f_) != size)
    throw Error("cannot write '" + path_ + "': " + std::strerror(errno));
}

void AtomicFile::commit() {
  bool ok = std::fflush(f_) == 0 && ::fsync(fileno(f_)) == 0;
  ok = (std::fclose(f_) == 0) && ok;
  f_ = nullptr;
  if (!ok || std::rename(tmp_.c_str(), target_.c_str()) != 0) {
    int err = errno;
    std::remove(tmp_.c_str());
    throw Error("cannot write '" + path_ + "': " + std::strerror(err));
  }
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  AtomicFile f(path);
  f.write(contents);
  f.commit();
}

std::string read_file(const std::string& path) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void require_regular_file(const std::string& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (!fs::exists(st)) throw Error("cannot read '" + path + "': no such file");
  if (!fs::is_regular_file(st)) throw Error("cannot read '" + path + "': not a regular file");
}

}  // namespace edm
