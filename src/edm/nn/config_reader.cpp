#include "edm/nn/config_reader.h"

#include <cmath>

#include "edm/core/error.h"

namespace edm::networks {

ConfigReader::ConfigReader(const nlohmann::json& object, std::string where)
    : object_(object), where_(std::move(where)) {
  if (!object_.is_object()) throw Error(where_ + " is not a JSON object");
}

const nlohmann::json* ConfigReader::find(const std::string& key) {
  used_.insert(key);
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

void ConfigReader::fail(const std::string& key, const std::string& what) const {
  throw Error(where_ + ": \"" + key + "\" " + what);
}

int64_t ConfigReader::integer(const std::string& key, int64_t fallback) {
  auto v = find(key);
  if (!v) return fallback;
  if (v->is_number_integer()) return v->get<int64_t>();
  // A whole float (8.0) is an integer; one beyond int64 is not (its cast is undefined).
  if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() && std::fabs(v->get<double>()) < 9e18)
    return int64_t(v->get<double>());
  fail(key, "must be an integer");
}

double ConfigReader::number(const std::string& key, double fallback) {
  auto v = find(key);
  if (!v) return fallback;
  if (v->is_number()) return v->get<double>();
  // JSON has no infinity; accept the spellings Python's json module writes.
  if (v->is_string() && (*v == "inf" || *v == "Infinity")) return INFINITY;
  fail(key, "must be a number");
}

bool ConfigReader::boolean(const std::string& key, bool fallback) {
  auto v = find(key);
  if (!v) return fallback;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number_integer()) return v->get<int64_t>() != 0;
  fail(key, "must be true or false");
}

std::string ConfigReader::string(const std::string& key, const std::string& fallback,
                                 const std::vector<std::string>& choices) {
  auto v = find(key);
  if (!v) return fallback;
  if (!v->is_string()) fail(key, "must be a string");
  auto s = v->get<std::string>();
  if (choices.empty()) return s;
  std::string list;
  for (const auto& c : choices) {
    if (c == s) return s;
    list += (list.empty() ? "" : ", ") + c;
  }
  fail(key, "is \"" + s + "\", expected one of " + list);
}

std::vector<int64_t> ConfigReader::integers(const std::string& key, const std::vector<int64_t>& fallback) {
  auto v = find(key);
  if (!v) return fallback;
  if (!v->is_array()) fail(key, "must be a list of integers");
  std::vector<int64_t> out;
  for (const auto& e : *v) {
    if (!e.is_number_integer()) fail(key, "must be a list of integers");
    out.push_back(e.get<int64_t>());
  }
  return out;
}

std::vector<double> ConfigReader::numbers(const std::string& key, const std::vector<double>& fallback) {
  auto v = find(key);
  if (!v) return fallback;
  if (!v->is_array()) fail(key, "must be a list of numbers");
  std::vector<double> out;
  for (const auto& e : *v) {
    if (!e.is_number()) fail(key, "must be a list of numbers");
    out.push_back(e.get<double>());
  }
  return out;
}

void ConfigReader::finish() const {
  for (auto it = object_.begin(); it != object_.end(); ++it)
    if (!used_.count(it.key())) throw Error(where_ + ": unknown key \"" + it.key() + "\"");
}

}  // namespace edm::networks
