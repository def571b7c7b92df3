// NonMaxSuppression: greedy per-(batch, class) box selection by score with IoU suppression.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace edgerun::reference {
namespace {

struct Corners {
  double y1, x1, y2, x2;
};

// Normalises either encoding to ordered corners; corner boxes may list their diagonal in
// either order ("flipped coordinates"), so min/max is taken instead of trusting the order.
Corners to_corners(const double* b, bool center_point_box) {
  if (center_point_box) {
    const double xc = b[0], yc = b[1], w = b[2], h = b[3];
    return {yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2};
  }
  return {std::min(b[0], b[2]), std::min(b[1], b[3]), std::max(b[0], b[2]),
          std::max(b[1], b[3])};
}

double iou(const Corners& a, const Corners& b) {
  const double ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  const double iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (ih <= 0 || iw <= 0) return 0.0;
  const double inter = ih * iw;
  const double area_a = (a.y2 - a.y1) * (a.x2 - a.x1);
  const double area_b = (b.y2 - b.y1) * (b.x2 - b.x1);
  const double uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0;
}

Result<std::vector<double>> read_boxes_or_scores(const Tensor& t, std::string_view what) {
  if (!is_floating(t.dtype())) {
    return Status(invalid_argument(std::string(what) + " must be a float tensor, got " +
                                   std::string(dtype_name(t.dtype()))));
  }
  return read_doubles(t, what);
}

}  // namespace

Status kernel_NonMaxSuppression(KernelContext& ctx) {
  const Tensor& boxes_t = ctx.input(0);
  const Tensor& scores_t = ctx.input(1);
  if (boxes_t.rank() != 3 || boxes_t.dim(2) != 4) {
    return invalid_argument("NonMaxSuppression boxes must have shape [batch, boxes, 4], got " +
                            shape_to_string(boxes_t.shape()));
  }
  if (scores_t.rank() != 3) {
    return invalid_argument(
        "NonMaxSuppression scores must have shape [batch, classes, boxes], got " +
        shape_to_string(scores_t.shape()));
  }
  const int64_t batches = boxes_t.dim(0);
  const int64_t num_boxes = boxes_t.dim(1);
  const int64_t classes = scores_t.dim(1);
  if (scores_t.dim(0) != batches || scores_t.dim(2) != num_boxes) {
    return invalid_argument("NonMaxSuppression scores shape " +
                            shape_to_string(scores_t.shape()) + " does not match boxes shape " +
                            shape_to_string(boxes_t.shape()));
  }
  const int64_t center_point_box = ctx.attr_int("center_point_box", 0);
  if (center_point_box != 0 && center_point_box != 1) {
    return invalid_argument("NonMaxSuppression center_point_box must be 0 or 1, got " +
                            std::to_string(center_point_box));
  }

  int64_t max_per_class = 0;
  if (ctx.has_input(2) && ctx.input(2).size() > 0) {
    ER_ASSIGN_OR_RETURN(std::vector<int64_t> v,
                        read_ints(ctx.input(2), "max_output_boxes_per_class"));
    max_per_class = v[0];
  }
  double iou_threshold = 0.0;
  if (ctx.has_input(3) && ctx.input(3).size() > 0) {
    ER_ASSIGN_OR_RETURN(std::vector<double> v, read_doubles(ctx.input(3), "iou_threshold"));
    iou_threshold = v[0];
  }
  if (iou_threshold < 0.0 || iou_threshold > 1.0) {
    return invalid_argument("NonMaxSuppression iou_threshold must be in [0, 1], got " +
                            std::to_string(iou_threshold));
  }
  bool use_score_threshold = false;
  double score_threshold = 0.0;
  if (ctx.has_input(4) && ctx.input(4).size() > 0) {
    ER_ASSIGN_OR_RETURN(std::vector<double> v, read_doubles(ctx.input(4), "score_threshold"));
    use_score_threshold = true;
    score_threshold = v[0];
  }

  ER_ASSIGN_OR_RETURN(std::vector<double> boxes, read_boxes_or_scores(boxes_t, "boxes"));
  ER_ASSIGN_OR_RETURN(std::vector<double> scores, read_boxes_or_scores(scores_t, "scores"));

  std::vector<int64_t> selected;  // flattened triples
  std::vector<Corners> corners(static_cast<size_t>(num_boxes));
  std::vector<int64_t> order;
  std::vector<int64_t> kept;
  for (int64_t b = 0; b < batches && max_per_class > 0; ++b) {
    for (int64_t i = 0; i < num_boxes; ++i) {
      corners[i] = to_corners(&boxes[(b * num_boxes + i) * 4], center_point_box == 1);
    }
    for (int64_t c = 0; c < classes; ++c) {
      const double* s = &scores[(b * classes + c) * num_boxes];
      order.clear();
      for (int64_t i = 0; i < num_boxes; ++i) {
        if (!use_score_threshold || s[i] > score_threshold) order.push_back(i);
      }
      // Highest score first; equal scores keep the lower box index first.
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t x, int64_t y) { return s[x] > s[y]; });
      kept.clear();
      for (int64_t i : order) {
        if (static_cast<int64_t>(kept.size()) >= max_per_class) break;
        bool suppressed = false;
        for (int64_t k : kept) {
          if (iou(corners[i], corners[k]) > iou_threshold) {
            suppressed = true;
            break;
          }
        }
        if (suppressed) continue;
        kept.push_back(i);
        selected.insert(selected.end(), {b, c, i});
      }
    }
  }
  const int64_t n = static_cast<int64_t>(selected.size() / 3);
  ctx.set_output(0, Tensor::from_vector<int64_t>({n, 3}, selected));
  return Status::ok();
}

}  // namespace edgerun::reference
