// Noise levels as a text file (`--steps-file`): numbers separated by white
// space, largest first, '#' starts a comment; a final 0 may be written (it is
// implied). Written by `edm steps`; easy to write by hand.
#pragma once
#include <string>
#include <vector>

namespace edm {

// The levels t_0 > ... > t_{N-1} > 0; throws edm::Error naming the file and
// what is wrong (unreadable, not a number, not decreasing, none).
std::vector<double> read_steps_file(const std::string& path);
// Writes `levels` (and the final 0) atomically, one per line, after `comment`.
void write_steps_file(const std::string& path, const std::vector<double>& levels, const std::string& comment);

}  // namespace edm
