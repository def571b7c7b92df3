// Tables of register-tile functions for edgerun's own kernels (attention_kernel.cpp,
// expand_depthwise_kernel.cpp): a kernel picks the tile for the rows and vectors left at run
// time, each one compiled with its loops fully unrolled so its accumulators stay in registers.
#pragma once

#include <array>

namespace edgerun::onednn {

inline constexpr int kTileTableRows = 6;
inline constexpr int kTileTableVectors = 4;

template <typename Fn>
using TileTable = std::array<std::array<Fn, kTileTableVectors>, kTileTableRows>;

namespace tile_table_detail {

template <template <int, int> class Tile, typename Fn, int V, int R>
constexpr std::array<Fn, kTileTableVectors> row() {
  std::array<Fn, kTileTableVectors> r{};
  if constexpr (V >= 1) r[0] = &Tile<R, 1>::run;
  if constexpr (V >= 2) r[1] = &Tile<R, 2>::run;
  if constexpr (V >= 3) r[2] = &Tile<R, 3>::run;
  if constexpr (V >= 4) r[3] = &Tile<R, 4>::run;
  return r;
}

}  // namespace tile_table_detail

// Entry [rows - 1][vectors - 1] is Tile<rows, vectors>::run for rows 1 to kTileTableRows and
// vectors 1 to V (at most kTileTableVectors); the rest stay null.
template <template <int, int> class Tile, typename Fn, int V>
constexpr TileTable<Fn> tile_table() {
  static_assert(V >= 1 && V <= kTileTableVectors);
  using tile_table_detail::row;
  return {row<Tile, Fn, V, 1>(), row<Tile, Fn, V, 2>(), row<Tile, Fn, V, 3>(),
          row<Tile, Fn, V, 4>(), row<Tile, Fn, V, 5>(), row<Tile, Fn, V, 6>()};
}

}  // namespace edgerun::onednn
