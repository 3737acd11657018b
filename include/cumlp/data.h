// cumlp data: datasets in memory, their file loaders, and the seeded
// split / shuffle / batch helpers of a training loop.
//
// A Dataset keeps its samples in their native type (uint8 pixels, or floats
// from a CSV) and converts only the rows a batch needs, so Fashion-MNIST stays
// 47 MB instead of 188 MB of floats. Conversion flattens each sample (in the
// file's own order: CHW for CIFAR-10, row-major HW for IDX) and multiplies by
// the dataset's scale.
//
// Every loader reads the whole file, gunzips it when it starts with the gzip
// magic (whatever its name), validates every header field and every size
// against the bytes actually present before allocating, and throws
// cumlp::Error with a one-line message "<file>: <what was wrong>" on any
// malformed input. Nothing here downloads anything.
//
// Randomness comes from the counter-based RNG (host/shared/rng.h): a split is a pure
// function of (n, fraction, seed), a shuffle of (rows, seed, epoch).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cumlp/export.h"

namespace cumlp {

/// Storage type of a dataset's sample values.
enum class Storage { u8, f32 };

/// Which half of a dataset distributed as train + test files.
enum class Part { train, test };

/// Which IDX dataset a folder holds; decides the class names.
enum class ImageSet { mnist, fashion_mnist };

/// Samples, labels and optional float targets, all in host memory.
///
/// The samples are either owned (the vector constructors) or borrowed from
/// the caller (the span constructors: no copy, the caller's `owner` keeps the
/// memory alive). Either way they are held through a shared owner: copies of
/// a Dataset share the same samples, and Network::upload_dataset keeps them
/// alive for as long as the network uses them. A Dataset never writes its
/// samples; a borrowed buffer changed by its owner afterwards is seen by the
/// next gather (and, on a device whose memory is host memory, by training).
/// Labels and targets are always owned copies (small: [n] and [n, width]).
class CUMLP_API Dataset {
 public:
  /// An empty dataset (size() == 0).
  Dataset() = default;

  /// Byte samples. values: [n, features] row-major, features = product of
  /// sample_shape (e.g. {1,28,28}); scale multiplies each value on gather
  /// (1/255 turns pixels into [0,1]). labels: [n] in [0, num_classes).
  /// class_names: empty or num_classes entries. name: shown in messages.
  /// Throws cumlp::Error if sizes disagree, a dimension is < 1, labels are
  /// out of range, or num_classes < 1.
  Dataset(std::vector<uint8_t> values, std::vector<int64_t> sample_shape, double scale,
          std::vector<int32_t> labels, int num_classes, std::vector<std::string> class_names = {},
          std::string name = {});

  /// Float samples, same contract as the byte constructor; values must also be
  /// finite.
  Dataset(std::vector<float> values, std::vector<int64_t> sample_shape, double scale,
          std::vector<int32_t> labels, int num_classes, std::vector<std::string> class_names = {},
          std::string name = {});

  /// Borrowed byte samples: `values` [n, features] stays the caller's memory
  /// (no copy); `owner` must keep it alive and unchanged in size, and is
  /// released (its deleter runs) when the last Dataset copy or network using
  /// the samples lets go of it. Otherwise the byte constructor's contract;
  /// also throws cumlp::Error if owner is null.
  Dataset(std::span<const uint8_t> values, std::shared_ptr<const void> owner, std::vector<int64_t> sample_shape,
          double scale, std::vector<int32_t> labels, int num_classes, std::vector<std::string> class_names = {},
          std::string name = {});

  /// Borrowed float samples: as the borrowed byte constructor; the values are
  /// checked finite once, here.
  Dataset(std::span<const float> values, std::shared_ptr<const void> owner, std::vector<int64_t> sample_shape,
          double scale, std::vector<int32_t> labels, int num_classes, std::vector<std::string> class_names = {},
          std::string name = {});

  /// Replace the one-hot default targets by explicit float targets:
  /// targets [n, width] row-major (XOR's single 0/1 column for BCE/MSE).
  /// Throws cumlp::Error if width < 1, the size is not size()*width, or a
  /// value is not finite.
  void set_targets(std::vector<float> targets, int64_t width);

  /// Number of samples n.
  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  /// Shape of one sample, e.g. {1,28,28}, {3,32,32}, {64}.
  const std::vector<int64_t>& sample_shape() const { return shape_; }
  /// Values per sample: product of sample_shape (784, 3072, 64).
  int64_t features() const { return features_; }
  /// Factor applied by gather (1/255 for scaled pixels, else 1).
  double scale() const { return scale_; }
  Storage storage() const { return storage_; }
  /// Raw byte samples [n, features]; empty unless storage() == Storage::u8.
  /// Valid while this Dataset (or a copy, or the owner) lives.
  std::span<const uint8_t> u8() const;
  /// Raw float samples [n, features], unscaled; empty unless storage() == Storage::f32.
  std::span<const float> f32() const;
  /// What keeps the samples alive (the owned vector, or the borrowing
  /// constructor's owner); null for an empty Dataset. Whoever holds a copy
  /// may keep using the u8() / f32() memory.
  const std::shared_ptr<const void>& samples_owner() const { return owner_; }
  /// Class index per sample, [n].
  const std::vector<int32_t>& labels() const { return labels_; }
  int num_classes() const { return num_classes_; }
  /// Names of the classes where the format defines them (Fashion-MNIST,
  /// CIFAR-10), else empty.
  const std::vector<std::string>& class_names() const { return class_names_; }
  /// Where the data came from (file or folder), for messages.
  const std::string& name() const { return name_; }

  /// Copy samples rows[0..n) into out [n, features], flattened and scaled.
  /// Throws cumlp::Error if a row is outside [0, size()).
  void gather(const int64_t* rows, int64_t n, float* out) const;
  void gather(const int64_t* rows, int64_t n, double* out) const;
  /// Copy the labels of rows[0..n) into out [n].
  void gather_labels(const int64_t* rows, int64_t n, int32_t* out) const;

  /// Columns of a target row: the explicit target width if set_targets was
  /// called, else num_classes (one-hot).
  int64_t target_width() const;
  /// True once set_targets gave explicit targets; false: targets are the
  /// one-hot encoding of the labels.
  bool has_targets() const { return !targets_.empty(); }
  /// Copy float targets of rows[0..n) into out [n, target_width()]: the
  /// explicit targets, or the one-hot encoding of the labels.
  void gather_targets(const int64_t* rows, int64_t n, float* out) const;
  void gather_targets(const int64_t* rows, int64_t n, double* out) const;

  /// A new dataset holding rows (in that order), with the same shape, scale,
  /// classes and targets. Throws cumlp::Error if a row is out of range.
  Dataset subset(const std::vector<int64_t>& rows) const;

 private:
  void set_samples(Storage storage, const void* samples, std::size_t values, std::shared_ptr<const void> owner);
  void validate();
  void check_rows(const int64_t* rows, int64_t n) const;
  template <class T> void gather_impl(const int64_t* rows, int64_t n, T* out) const;
  template <class T> void gather_targets_impl(const int64_t* rows, int64_t n, T* out) const;

  Storage storage_ = Storage::u8;
  std::shared_ptr<const void> owner_;  // keeps samples_ alive
  const void* samples_ = nullptr;      // [values_] uint8 or float, per storage_
  std::size_t values_ = 0;
  std::vector<int64_t> shape_;
  int64_t features_ = 0;
  double scale_ = 1.0;
  std::vector<int32_t> labels_;
  int num_classes_ = 0;
  std::vector<std::string> class_names_;
  std::vector<float> targets_;  // [n, target_width_] when set, else empty
  int64_t target_width_ = 0;
  std::string name_;
};

/// The ten Fashion-MNIST class names ("T-shirt/top" ... "Ankle boot").
CUMLP_API const std::vector<std::string>& fashion_mnist_class_names();
/// The ten CIFAR-10 class names ("airplane" ... "truck").
CUMLP_API const std::vector<std::string>& cifar10_class_names();

/// Load an IDX image file (magic 0x00000803: uint8, n x rows x cols) and its
/// IDX label file (magic 0x00000801: uint8, n), raw or gzipped. Result:
/// sample shape {1, rows, cols}, 10 classes, scale 1/255 if scale else 1.
/// Throws cumlp::Error naming the file on: unreadable file, corrupt gzip,
/// wrong magic, truncated header or body, trailing bytes, zero items or
/// dimensions, image/label count mismatch, label >= 10.
CUMLP_API Dataset load_idx(const std::string& images_path, const std::string& labels_path,
                           ImageSet set = ImageSet::mnist, bool scale = true);

/// Load MNIST or Fashion-MNIST from a folder holding the original file names:
/// train-images-idx3-ubyte, train-labels-idx1-ubyte (Part::train) or
/// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (Part::test), each raw or
/// with a .gz suffix (the raw one wins when both exist). Throws cumlp::Error
/// if a file is missing, plus everything load_idx throws.
CUMLP_API Dataset load_mnist_dir(const std::string& dir, Part part, ImageSet set = ImageSet::mnist,
                                 bool scale = true);

/// Load CIFAR-10 binary batches and concatenate them in the given order. Each
/// file (raw or gzipped) is a whole number of 3073-byte records: 1 label byte
/// (0..9), then 3072 pixel bytes (1024 R, 1024 G, 1024 B, each 32x32
/// row-major). Result: sample shape {3, 32, 32}, CIFAR-10 class names.
/// Throws cumlp::Error naming the file on: unreadable file, corrupt gzip,
/// empty file, size not a multiple of 3073, label >= 10; or if files is empty.
CUMLP_API Dataset load_cifar10(const std::vector<std::string>& files, bool scale = true);

/// Load CIFAR-10 from a folder holding data_batch_1.bin .. data_batch_5.bin
/// (Part::train, 50000 samples) or test_batch.bin (Part::test), or holding a
/// cifar-10-batches-bin/ folder with them. Throws cumlp::Error if a file is
/// missing, plus everything load_cifar10 throws.
CUMLP_API Dataset load_cifar10_dir(const std::string& dir, Part part, bool scale = true);

/// How load_csv reads a table.
struct CsvOptions {
  /// Column holding the class label; negative counts from the end (-1: last).
  int label_column = -1;
  /// Skip the first line.
  bool header = false;
  /// Number of classes; 0 means max label + 1.
  int num_classes = 0;
  /// Factor gather applies to the feature values (e.g. 1/16 for digits).
  double scale = 1.0;
  /// false: no label column, every column is a feature (inputs to predict);
  /// labels are then all 0 and num_classes 1.
  bool labelled = true;
};

/// Load a comma-separated table of numbers (raw or gzipped), one sample per
/// line: every column except the label column is a float feature (sample
/// shape {columns - 1}); the label column holds integer classes. Blank lines
/// are skipped; "\r\n" line ends are accepted. Throws cumlp::Error naming the
/// file and line on: unreadable file, corrupt gzip, no rows, fewer than 2
/// columns, a row with a different column count, a non-numeric or non-finite
/// value, a label that is not an integer in [0, num_classes), a label column
/// outside the row.
CUMLP_API Dataset load_csv(const std::string& path, const CsvOptions& options = {});

/// The XOR truth table: inputs {0,0},{0,1},{1,0},{1,1} (shape {2}, float),
/// labels 0,1,1,0 (2 classes) and explicit targets [4, 1] = 0,1,1,0.
CUMLP_API Dataset xor_table();

/// Row indices of a train / valid split.
struct Split {
  std::vector<int64_t> train;
  std::vector<int64_t> valid;
};

/// Split 0..n-1 by a seeded Fisher-Yates permutation (stream rng::kSplit):
/// the first n - round(valid_fraction * n) permuted indices train, the rest
/// validate. Throws cumlp::Error if n < 1, valid_fraction is outside [0, 1)
/// or NaN, or the train part would be empty.
CUMLP_API Split split_indices(int64_t n, double valid_fraction, uint64_t seed);

/// rows in a seeded random order (Fisher-Yates, stream rng::kShuffle,
/// sub = epoch): a pure function of (rows, seed, epoch).
CUMLP_API std::vector<int64_t> shuffled(const std::vector<int64_t>& rows, uint64_t seed, uint64_t epoch);

/// The batches of one epoch: consecutive slices of an order of rows, each
/// batch_size long except a shorter last one (kept, never dropped).
/// Full-batch descent is batch_size >= rows.size(), stochastic is 1.
///   for (std::span<const int64_t> b : Batches(shuffled(split.train, seed, epoch), 64))
///     data.gather(b.data(), b.size(), x);
class CUMLP_API Batches {
 public:
  /// Throws cumlp::Error if batch_size < 1.
  Batches(std::vector<int64_t> order, int64_t batch_size);

  /// Number of batches: ceil(order.size() / batch_size).
  int64_t size() const;
  /// Rows of batch i, i in [0, size()). Throws cumlp::Error if out of range.
  std::span<const int64_t> operator[](int64_t i) const;
  const std::vector<int64_t>& order() const { return order_; }

  class Iterator {
   public:
    Iterator(const Batches* batches, int64_t i) : batches_(batches), i_(i) {}
    std::span<const int64_t> operator*() const { return (*batches_)[i_]; }
    Iterator& operator++() { ++i_; return *this; }
    bool operator!=(const Iterator& other) const { return i_ != other.i_; }

   private:
    const Batches* batches_;
    int64_t i_;
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, size()}; }

 private:
  std::vector<int64_t> order_;
  int64_t batch_size_;
};

}  // namespace cumlp
