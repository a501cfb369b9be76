// The folders of src/edm form layers: no folder includes, directly or
// through others, a folder that includes it back.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "testing.h"

namespace {

namespace fs = std::filesystem;
using Graph = std::map<std::string, std::set<std::string>>;

// folder -> folders its files include ("edm/<folder>/...").
Graph include_graph(const fs::path& root) {
  Graph g;
  const std::regex include(R"(#include\s+"edm/([a-z_0-9]+)/)");
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const auto rel = fs::relative(e.path(), root);
    if (rel.begin() == rel.end() || std::next(rel.begin()) == rel.end()) continue;  // pch.h
    const std::string folder = rel.begin()->string();
    g[folder];
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (std::regex_search(line, m, include) && m[1] != folder) g[folder].insert(m[1]);
    }
  }
  return g;
}

// A cycle through `node` as "a -> b -> a", or "" (depth-first search).
std::string find_cycle(const Graph& g, const std::string& node, std::vector<std::string>& path,
                       std::set<std::string>& done) {
  for (size_t i = 0; i < path.size(); ++i)
    if (path[i] == node) {
      std::string s;
      for (size_t j = i; j < path.size(); ++j) s += path[j] + " -> ";
      return s + node;
    }
  if (done.count(node)) return "";
  path.push_back(node);
  for (const auto& next : g.at(node)) {
    auto c = find_cycle(g, next, path, done);
    if (!c.empty()) return c;
  }
  path.pop_back();
  done.insert(node);
  return "";
}

TEST(Layout, NoIncludeCycleBetweenFolders) {
  const auto g = include_graph(fs::path(edm::test::source_dir()) / "src" / "edm");
  ASSERT_GE(g.size(), 8u);
  EXPECT_TRUE(g.at("core").empty()) << "core/ is the bottom layer";
  std::set<std::string> done;
  for (const auto& [folder, _] : g) {
    std::vector<std::string> path;
    EXPECT_EQ(find_cycle(g, folder, path, done), "");
  }
}

}  // namespace
