// Model inputs on the command line, shared by `run` and `parity`: --shape options, --input files
// and seeded random data for the inputs not given.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "edgerun/edgerun.hpp"

namespace edgerun::cli {

// NAME=1x3x224x224 (or NAME=scalar) for each entry, into options->input_shapes.
Status parse_shape_options(const std::vector<std::string>& shapes, PrepareOptions* options);

// Reads NAME=FILE inputs (kinds follow the model's declared inputs), fills the rest with seeded
// random data (unfixed dims become 1; an optional left out is empty) and says on `log` what it
// generated and read.
Result<ValueMap> make_feeds(const PreparedModel& model, const std::vector<std::string>& input_args,
                            uint64_t seed, std::ostream& log);

}  // namespace edgerun::cli
