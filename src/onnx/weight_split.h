// Lifts the large weights out of a serialised ModelProto before protobuf sees it.
//
// Protobuf copies every `bytes` field while parsing, so a 440 MB model used to be held three
// times during import (the mapped file, protobuf's copy, the tensors). Splitting first lets
// protobuf parse only the small rest (the skeleton); the importer then views or copies each
// weight from where it lies in the file. Only the main graph's initializers are lifted: that is
// where the weights of real models are, and it keeps the rewrite to three message levels.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edgerun::onnx_import {

struct SplitModel {
  // The ModelProto with the lifted raw_data fields removed; parses like the original.
  std::string skeleton;
  // Per initializer of the main graph, in serialised order: the raw_data bytes lifted out of it
  // (views into the original buffer), or nullopt when it was left in the skeleton.
  std::vector<std::optional<std::string_view>> raw_data;
};

// Lifts raw_data payloads of at least `min_bytes` bytes. Returns nullopt when the bytes are not
// a well-formed message of the shape this expects (the caller then parses them whole, so
// protobuf reports what is wrong) or when nothing is large enough to be worth lifting.
std::optional<SplitModel> split_weights(std::string_view model, size_t min_bytes);

}  // namespace edgerun::onnx_import
