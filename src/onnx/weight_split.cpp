#include "onnx/weight_split.h"

#include <cstdint>

namespace edgerun::onnx_import {
namespace {

// Field numbers from onnx.proto.
constexpr uint64_t kModelGraph = 7;         // ModelProto.graph
constexpr uint64_t kGraphInitializer = 5;   // GraphProto.initializer
constexpr uint64_t kTensorRawData = 9;      // TensorProto.raw_data

constexpr uint64_t kWireVarint = 0;
constexpr uint64_t kWireFixed64 = 1;
constexpr uint64_t kWireBytes = 2;
constexpr uint64_t kWireFixed32 = 5;

// One field of a message as it lies in the buffer.
struct Field {
  uint64_t number = 0;
  uint64_t wire = 0;
  std::string_view whole;    // key, length and payload: copied verbatim when kept
  std::string_view payload;  // for length-delimited fields, the bytes after the length
};

bool read_varint(std::string_view& in, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

void write_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// Reads the next field of `in`; false when the message is malformed (or uses groups, which
// ONNX never does).
bool next_field(std::string_view& in, Field& field) {
  const std::string_view start = in;
  uint64_t key = 0;
  if (!read_varint(in, key)) return false;
  field.number = key >> 3;
  field.wire = key & 7;
  uint64_t skip = 0;
  switch (field.wire) {
    case kWireVarint: {
      uint64_t ignored = 0;
      if (!read_varint(in, ignored)) return false;
      break;
    }
    case kWireFixed64: skip = 8; break;
    case kWireFixed32: skip = 4; break;
    case kWireBytes: {
      uint64_t length = 0;
      if (!read_varint(in, length) || length > in.size()) return false;
      field.payload = in.substr(0, length);
      skip = length;
      break;
    }
    default: return false;
  }
  if (skip > in.size()) return false;
  in.remove_prefix(skip);
  field.whole = start.substr(0, start.size() - in.size());
  return true;
}

void write_bytes_field(std::string& out, uint64_t number, std::string_view payload) {
  write_varint(out, (number << 3) | kWireBytes);
  write_varint(out, payload.size());
  out.append(payload);
}

// A TensorProto without its raw_data when that is large; `lifted` gets the payload.
bool split_tensor(std::string_view tensor, size_t min_bytes, std::string& out,
                  std::optional<std::string_view>& lifted) {
  int raw_fields = 0;
  Field f;
  for (std::string_view in = tensor; !in.empty();) {
    if (!next_field(in, f)) return false;
    if (f.number == kTensorRawData && f.wire == kWireBytes) {
      // Protobuf keeps the last of repeated singular fields; lifting one of several would change
      // which one that is, so such a tensor stays whole.
      if (++raw_fields > 1) {
        lifted.reset();
        out.assign(tensor);
        return true;
      }
      if (f.payload.size() >= min_bytes) {
        lifted = f.payload;
        continue;
      }
    }
    out.append(f.whole);
  }
  return true;
}

bool split_graph(std::string_view graph, size_t min_bytes, std::string& out,
                 std::vector<std::optional<std::string_view>>& raw_data) {
  Field f;
  std::string tensor;
  for (std::string_view in = graph; !in.empty();) {
    if (!next_field(in, f)) return false;
    if (f.number != kGraphInitializer || f.wire != kWireBytes) {
      out.append(f.whole);
      continue;
    }
    tensor.clear();
    std::optional<std::string_view> lifted;
    if (!split_tensor(f.payload, min_bytes, tensor, lifted)) return false;
    raw_data.push_back(lifted);
    write_bytes_field(out, kGraphInitializer, tensor);
  }
  return true;
}

}  // namespace

std::optional<SplitModel> split_weights(std::string_view model, size_t min_bytes) {
  SplitModel split;
  bool seen_graph = false;
  Field f;
  for (std::string_view in = model; !in.empty();) {
    if (!next_field(in, f)) return std::nullopt;
    if (f.number != kModelGraph || f.wire != kWireBytes) {
      split.skeleton.append(f.whole);
      continue;
    }
    // Protobuf merges repeated occurrences of a message field; initializer order across them
    // is not worth reproducing, so such a model is parsed whole.
    if (seen_graph) return std::nullopt;
    seen_graph = true;
    std::string graph;
    if (!split_graph(f.payload, min_bytes, graph, split.raw_data)) return std::nullopt;
    write_bytes_field(split.skeleton, kModelGraph, graph);
  }
  bool lifted_any = false;
  for (const auto& raw : split.raw_data) lifted_any |= raw.has_value();
  if (!lifted_any) return std::nullopt;
  return split;
}

}  // namespace edgerun::onnx_import
