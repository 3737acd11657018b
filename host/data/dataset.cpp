// Dataset: native-type samples converted row by row on gather, plus the
// built-in class-name tables and the XOR truth table.
#include <algorithm>
#include <bit>
#include <cmath>
#include <utility>

#include "cumlp/data.h"
#include "host/shared/error_macros.h"
#include "host/data/read.h"

namespace cumlp {

namespace {

// Product of the sample dimensions, each >= 1, without overflowing int64.
int64_t checked_features(const std::vector<int64_t>& shape, const std::string& name) {
  CUMLP_CHECK(!shape.empty(), name, ": empty sample shape");
  int64_t features = 1;
  for (int64_t d : shape) {
    CUMLP_CHECK(d >= 1, name, ": sample dimension ", d, " is not positive");
    CUMLP_CHECK(!__builtin_mul_overflow(features, d, &features), name, ": sample shape overflows int64");
  }
  return features;
}

// Scans blocks with a branch-free test of the exponent bits (all ones: Inf or
// NaN), which the compiler vectorises: a 60,000 x 784 table takes a fraction of
// the time a per-value check would. Only a failing block is searched for the
// index the message names.
void check_finite(std::span<const float> values, const std::string& what) {
  constexpr size_t kBlock = 4096;
  for (size_t b = 0; b < values.size(); b += kBlock) {
    const size_t end = std::min(values.size(), b + kBlock);
    uint32_t bad = 0;
    for (size_t i = b; i < end; ++i) bad |= (std::bit_cast<uint32_t>(values[i]) & 0x7f800000u) == 0x7f800000u;
    if (!bad) continue;
    for (size_t i = b; i < end; ++i)
      CUMLP_CHECK(std::isfinite(values[i]), what, ": value ", values[i], " at index ", i, " is not finite");
  }
}

// The samples an owned vector holds, kept alive by the vector's shared owner.
template <class T>
std::pair<std::shared_ptr<const void>, std::span<const T>> owned(std::vector<T> values) {
  auto held = std::make_shared<const std::vector<T>>(std::move(values));
  return {held, std::span<const T>(*held)};
}

}  // namespace

Dataset::Dataset(std::vector<uint8_t> values, std::vector<int64_t> sample_shape, double scale,
                 std::vector<int32_t> labels, int num_classes, std::vector<std::string> class_names,
                 std::string name)
    : shape_(std::move(sample_shape)), scale_(scale), labels_(std::move(labels)), num_classes_(num_classes),
      class_names_(std::move(class_names)), name_(std::move(name)) {
  auto [owner, span] = owned(std::move(values));
  set_samples(Storage::u8, span.data(), span.size(), std::move(owner));
}

Dataset::Dataset(std::vector<float> values, std::vector<int64_t> sample_shape, double scale,
                 std::vector<int32_t> labels, int num_classes, std::vector<std::string> class_names,
                 std::string name)
    : shape_(std::move(sample_shape)), scale_(scale), labels_(std::move(labels)), num_classes_(num_classes),
      class_names_(std::move(class_names)), name_(std::move(name)) {
  auto [owner, span] = owned(std::move(values));
  set_samples(Storage::f32, span.data(), span.size(), std::move(owner));
}

Dataset::Dataset(std::span<const uint8_t> values, std::shared_ptr<const void> owner,
                 std::vector<int64_t> sample_shape, double scale, std::vector<int32_t> labels, int num_classes,
                 std::vector<std::string> class_names, std::string name)
    : shape_(std::move(sample_shape)), scale_(scale), labels_(std::move(labels)), num_classes_(num_classes),
      class_names_(std::move(class_names)), name_(std::move(name)) {
  set_samples(Storage::u8, values.data(), values.size(), std::move(owner));
}

Dataset::Dataset(std::span<const float> values, std::shared_ptr<const void> owner, std::vector<int64_t> sample_shape,
                 double scale, std::vector<int32_t> labels, int num_classes, std::vector<std::string> class_names,
                 std::string name)
    : shape_(std::move(sample_shape)), scale_(scale), labels_(std::move(labels)), num_classes_(num_classes),
      class_names_(std::move(class_names)), name_(std::move(name)) {
  set_samples(Storage::f32, values.data(), values.size(), std::move(owner));
}

void Dataset::set_samples(Storage storage, const void* samples, std::size_t values,
                          std::shared_ptr<const void> owner) {
  CUMLP_CHECK(owner, name_, ": borrowed samples need an owner to keep them alive");
  CUMLP_CHECK(samples || values == 0, name_, ": null samples pointer for ", values, " values");
  storage_ = storage;
  samples_ = samples;
  values_ = values;
  owner_ = std::move(owner);
  validate();
}

std::span<const uint8_t> Dataset::u8() const {
  if (storage_ != Storage::u8 || !samples_) return {};
  return {static_cast<const uint8_t*>(samples_), values_};
}

std::span<const float> Dataset::f32() const {
  if (storage_ != Storage::f32 || !samples_) return {};
  return {static_cast<const float*>(samples_), values_};
}

void Dataset::validate() {
  features_ = checked_features(shape_, name_);
  const size_t values = values_;
  CUMLP_CHECK(values / features_ == labels_.size() && values % features_ == 0, name_, ": ", values,
              " values do not make ", labels_.size(), " samples of ", features_);
  if (storage_ == Storage::f32) check_finite(f32(), name_);
  CUMLP_CHECK(std::isfinite(scale_), name_, ": scale ", scale_, " is not finite");
  CUMLP_CHECK(num_classes_ >= 1, name_, ": num_classes ", num_classes_, " must be at least 1");
  CUMLP_CHECK(class_names_.empty() || class_names_.size() == static_cast<size_t>(num_classes_), name_, ": ",
              class_names_.size(), " class names for ", num_classes_, " classes");
  data::check_labels(labels_, num_classes_, name_);
}

void Dataset::set_targets(std::vector<float> targets, int64_t width) {
  CUMLP_CHECK(width >= 1, name_, ": target width ", width, " must be at least 1");
  CUMLP_CHECK(targets.size() / width == labels_.size() && targets.size() % width == 0, name_, ": ",
              targets.size(), " targets do not make ", labels_.size(), " rows of ", width);
  check_finite(targets, name_ + " targets");
  targets_ = std::move(targets);
  target_width_ = width;
}

void Dataset::check_rows(const int64_t* rows, int64_t n) const {
  CUMLP_CHECK(n >= 0, name_, ": negative row count ", n);
  for (int64_t i = 0; i < n; ++i)
    CUMLP_CHECK(rows[i] >= 0 && rows[i] < size(), name_, ": row ", rows[i], " is outside [0, ", size(), ")");
}

template <class T>
void Dataset::gather_impl(const int64_t* rows, int64_t n, T* out) const {
  check_rows(rows, n);
  // Scale in double then round once, so a pixel p becomes p/255 correctly
  // rounded in float, as torchvision's ToTensor gives.
  const auto convert = [&](const auto* src) {
    for (int64_t i = 0; i < n; ++i) {
      const auto* row = src + rows[i] * features_;
      T* dst = out + i * features_;
      for (int64_t j = 0; j < features_; ++j) dst[j] = static_cast<T>(static_cast<double>(row[j]) * scale_);
    }
  };
  if (storage_ == Storage::u8) convert(u8().data());
  else convert(f32().data());
}

void Dataset::gather(const int64_t* rows, int64_t n, float* out) const { gather_impl(rows, n, out); }
void Dataset::gather(const int64_t* rows, int64_t n, double* out) const { gather_impl(rows, n, out); }

void Dataset::gather_labels(const int64_t* rows, int64_t n, int32_t* out) const {
  check_rows(rows, n);
  for (int64_t i = 0; i < n; ++i) out[i] = labels_[rows[i]];
}

int64_t Dataset::target_width() const { return targets_.empty() ? num_classes_ : target_width_; }

template <class T>
void Dataset::gather_targets_impl(const int64_t* rows, int64_t n, T* out) const {
  check_rows(rows, n);
  const int64_t width = target_width();
  for (int64_t i = 0; i < n; ++i) {
    T* dst = out + i * width;
    if (targets_.empty()) {
      for (int64_t j = 0; j < width; ++j) dst[j] = T(0);
      dst[labels_[rows[i]]] = T(1);
    } else {
      for (int64_t j = 0; j < width; ++j) dst[j] = static_cast<T>(targets_[rows[i] * width + j]);
    }
  }
}

void Dataset::gather_targets(const int64_t* rows, int64_t n, float* out) const { gather_targets_impl(rows, n, out); }
void Dataset::gather_targets(const int64_t* rows, int64_t n, double* out) const { gather_targets_impl(rows, n, out); }

Dataset Dataset::subset(const std::vector<int64_t>& rows) const {
  const auto n = static_cast<int64_t>(rows.size());
  check_rows(rows.data(), n);
  const auto pick = [&]<class T>(std::span<const T> src, int64_t width) {
    std::vector<T> dst(static_cast<size_t>(n * width));
    for (int64_t i = 0; i < n; ++i)
      std::copy_n(src.begin() + rows[i] * width, width, dst.begin() + i * width);
    return dst;
  };
  // The metadata member by member: copying *this first would copy every label and target row
  // (its samples would only be shared), all replaced just below.
  Dataset out;
  out.storage_ = storage_;
  out.shape_ = shape_;
  out.features_ = features_;
  out.scale_ = scale_;
  out.num_classes_ = num_classes_;
  out.class_names_ = class_names_;
  out.target_width_ = target_width_;
  out.name_ = name_;
  const auto keep = [&](auto picked) {  // the subset owns its samples
    auto [owner, span] = owned(std::move(picked));
    out.samples_ = span.data();
    out.values_ = span.size();
    out.owner_ = std::move(owner);
  };
  if (storage_ == Storage::u8) keep(pick(u8(), features_));
  else keep(pick(f32(), features_));
  out.labels_ = pick(std::span<const int32_t>(labels_), 1);
  out.targets_ = targets_.empty() ? std::vector<float>() : pick(std::span<const float>(targets_), target_width_);
  return out;
}

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

Dataset xor_table() {
  Dataset d(std::vector<float>{0, 0, 0, 1, 1, 0, 1, 1}, {2}, 1.0, {0, 1, 1, 0}, 2, {}, "xor");
  d.set_targets({0, 1, 1, 0}, 1);
  return d;
}

}  // namespace cumlp
