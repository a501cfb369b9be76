// Reads constructor arguments out of an edm.config object: typed values with
// the reference defaults, and an error naming any key nobody asked for (a
// typo must not silently fall back to a default).
#pragma once
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace edm::networks {

class ConfigReader {
 public:
  // `where` prefixes error messages, e.g. "edm.config model".
  ConfigReader(const nlohmann::json& object, std::string where);

  int64_t integer(const std::string& key, int64_t fallback);
  double number(const std::string& key, double fallback);
  bool boolean(const std::string& key, bool fallback);
  std::string string(const std::string& key, const std::string& fallback, const std::vector<std::string>& choices);
  std::vector<int64_t> integers(const std::string& key, const std::vector<int64_t>& fallback);
  std::vector<double> numbers(const std::string& key, const std::vector<double>& fallback);
  void ignore(const std::string& key) { used_.insert(key); }

  // Throws edm::Error naming the first key that was never read.
  void finish() const;

 private:
  const nlohmann::json* find(const std::string& key);
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  const nlohmann::json& object_;
  std::string where_;
  std::set<std::string> used_;
};

}  // namespace edm::networks
