// cumlp.Dataset, the loaders, and Trainer.fit with the GIL released.
//
// Ctrl-C: while fit runs, the trainer's should_stop asks Python (taking the
// GIL at most every 50 ms) whether a signal arrived; a KeyboardInterrupt
// stops training after the current step and is raised once fit returns.
//
// Python's share of a fit: the training thread runs Python only in those
// polls and in the on_progress calls, each inside one GIL-held section; fit
// sums their wall time (GIL acquisition and release included) into the
// report's "python_seconds" and counts them in "python_sections". The clock
// is read once more per section than the 50 ms rate limit already reads it:
// nothing per training step (tools/python/benchmarks/overhead.py uses it).
#include <nanobind/nanobind.h>
#include <nanobind/stl/function.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <memory>
#include <span>
#include <cstring>

#include "arrays.h"
#include "bindings.h"
#include "cumlp/cumlp.h"
#include "cumlp/data.h"
#include "cumlp/train.h"

namespace cumlp::py {

namespace {

template <class T>
std::vector<T> copy_of(const HostArray& a) {
  std::vector<T> v(a.size());
  if (!v.empty()) std::memcpy(v.data(), a.data(), v.size() * sizeof(T));
  return v;
}

// Keeps the caller's array alive for a Dataset that borrows its buffer. The
// last Dataset or Network to let go may do so with the GIL released (fit
// attaching the next dataset), so the deleter takes the GIL; once the
// interpreter is gone there is nothing left to release.
std::shared_ptr<const void> keep_alive(const HostArray& a) {
  auto* held = new HostArray(a);
  return std::shared_ptr<const void>(held, [](const void* p) {
    if (!Py_IsInitialized()) return;
    nb::gil_scoped_acquire gil;
    delete static_cast<const HostArray*>(p);
  });
}

// x: [n, features] float32 or uint8 (borrowed: no copy, the Dataset holds x),
// or float64 (copied once, rounded to float32); labels: int32 [n] (copied);
// targets: float32 [n, width] or none (copied).
Dataset make_dataset(const HostArray& x, const HostArray& labels, int num_classes, const HostArray* targets,
                     const std::string& name, double scale) {
  if (x.ndim() != 2 || !(is_f32(x) || is_f64(x) || x.dtype() == nb::dtype<uint8_t>()))
    throw nb::type_error("Dataset: x must be a 2-D float32, float64 or uint8 array");
  if (labels.dtype() != nb::dtype<int32_t>() || labels.ndim() != 1)
    throw nb::type_error("Dataset: labels must be a 1-D int32 array");
  const std::vector<int64_t> shape{static_cast<int64_t>(x.shape(1))};
  const auto n = static_cast<std::size_t>(x.size());
  Dataset d = [&] {
    if (is_f32(x))
      return Dataset(std::span<const float>(static_cast<const float*>(x.data()), n), keep_alive(x), shape, scale,
                     copy_of<int32_t>(labels), num_classes, {}, name);
    if (is_f64(x)) {
      const auto* src = static_cast<const double*>(x.data());
      return Dataset(std::vector<float>(src, src + n), shape, scale, copy_of<int32_t>(labels), num_classes, {},
                     name);
    }
    return Dataset(std::span<const uint8_t>(static_cast<const uint8_t*>(x.data()), n), keep_alive(x), shape, scale,
                   copy_of<int32_t>(labels), num_classes, {}, name);
  }();
  if (targets) {
    if (!is_f32(*targets) || targets->ndim() != 2) throw nb::type_error("Dataset: targets must be 2-D float32");
    d.set_targets(copy_of<float>(*targets), static_cast<int64_t>(targets->shape(1)));
  }
  return d;
}

// The stored samples [n, features] as a read-only NumPy view (no copy) that
// keeps the Python Dataset alive: unscaled, in the storage type.
nb::object samples_view(nb::handle self) {
  const Dataset& d = nb::cast<const Dataset&>(self);
  const std::size_t shape[2] = {static_cast<std::size_t>(d.size()), static_cast<std::size_t>(d.features())};
  if (d.storage() == Storage::f32)
    return nb::cast(nb::ndarray<nb::numpy, const float, nb::ndim<2>>(d.f32().data(), 2, shape, self));
  return nb::cast(nb::ndarray<nb::numpy, const uint8_t, nb::ndim<2>>(d.u8().data(), 2, shape, self));
}

nb::object samples_of(const Dataset& d) {
  std::vector<int64_t> rows(static_cast<std::size_t>(d.size()));
  for (int64_t i = 0; i < d.size(); ++i) rows[static_cast<std::size_t>(i)] = i;
  Tensor x({d.size(), d.features()});
  d.gather(rows.data(), d.size(), x.data<float>());
  return to_numpy(std::move(x));
}

nb::dict progress_dict(const Progress& p) {
  return dict_of({{"epoch", nb::cast(p.epoch)}, {"epochs", nb::cast(p.epochs)}, {"batch", nb::cast(p.batch)},
                  {"batches", nb::cast(p.batches)}, {"loss", nb::cast(p.loss)},
                  {"samples_per_second", nb::cast(p.samples_per_second)}, {"epoch_done", nb::cast(p.epoch_done)},
                  {"valid_loss", p.validated ? nb::cast(p.valid_loss) : nb::object(nb::none())}});
}

nb::dict metrics_dict(const Metrics& m) {
  return dict_of({{"loss", nb::cast(m.loss)}, {"accuracy", nb::cast(m.accuracy)},
                  {"confusion", nb::cast(m.confusion)}, {"precision", nb::cast(m.precision)},
                  {"recall", nb::cast(m.recall)}, {"f1", nb::cast(m.f1)}});
}

nb::dict report_dict(const TrainReport& r) {
  return dict_of({{"train_loss", nb::cast(r.train_loss)}, {"valid_loss", nb::cast(r.valid_loss)},
                  {"epochs_run", nb::cast(r.epochs_run)}, {"best_epoch", nb::cast(r.best_epoch)},
                  {"stopped_early", nb::cast(r.stopped_early)}, {"seconds", nb::cast(r.seconds)},
                  {"samples_per_second", nb::cast(r.samples_per_second)}, {"train_rows", nb::cast(r.train_rows)},
                  {"valid_rows", nb::cast(r.valid_rows)},
                  {"test", r.test ? nb::object(metrics_dict(*r.test)) : nb::object(nb::none())}});
}

using Clock = std::chrono::steady_clock;

// Trains with the GIL released. on_progress (may be None) gets a dict after
// every epoch and, at most every 0.2 s, during one; a true return after an
// epoch stops training on that epoch's boundary (report["stopped"]). The
// report adds python_seconds and python_sections (see the top of the file).
nb::dict fit(Network& net, const Dataset& train, const Dataset* test, TrainConfig config, nb::object on_progress) {
  // (Trainer validates the config.)
  bool interrupted_by_signal = false, stop_requested = false;
  std::string callback_error;
  auto last_check = Clock::now(), last_report = Clock::now();
  Clock::duration python_time{};  // GIL-held sections on the training thread
  int64_t python_sections = 0;
  const auto held_since = [&](Clock::time_point start) {
    python_time += Clock::now() - start;
    ++python_sections;
  };
  config.should_stop = [&] {
    if (interrupted_by_signal || stop_requested || !callback_error.empty()) return true;
    const auto now = Clock::now();
    if (now - last_check < std::chrono::milliseconds(50)) return false;
    last_check = now;
    {
      nb::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) interrupted_by_signal = true;  // the exception stays set for the raise below
    }
    held_since(now);
    return interrupted_by_signal;
  };
  config.on_progress = [&](const Progress& p) {
    if (on_progress.is_none() || !callback_error.empty()) return;
    const auto now = Clock::now();
    if (!p.epoch_done && now - last_report < std::chrono::milliseconds(200)) return;
    last_report = now;
    {
      nb::gil_scoped_acquire gil;
      try {
        const nb::object r = on_progress(progress_dict(p));
        if (p.epoch_done && nb::cast<bool>(nb::bool_(r))) stop_requested = true;
      } catch (nb::python_error& e) {
        callback_error = e.what();  // stops training; re-raised below
        e.restore();
      }
    }
    held_since(now);
  };
  Trainer trainer(net, config);
  TrainReport r;
  {
    nb::gil_scoped_release release;
    r = trainer.fit(train, test);
  }
  if (interrupted_by_signal || !callback_error.empty()) throw nb::python_error();
  nb::dict d = report_dict(r);
  d["stopped"] = stop_requested;
  d["python_seconds"] = std::chrono::duration<double>(python_time).count();
  d["python_sections"] = python_sections;
  return d;
}

}  // namespace

void bind_train(nb::module_& m) {
  nb::class_<Dataset>(m, "Dataset", "Samples and labels in host memory (the C++ Dataset).")
      .def("__init__",
           [](Dataset* self, const HostArray& x, const HostArray& labels, int num_classes, nb::object targets,
              const std::string& name, double scale) {
             if (targets.is_none()) {
               new (self) Dataset(make_dataset(x, labels, num_classes, nullptr, name, scale));
             } else {
               const auto t = nb::cast<HostArray>(targets);
               new (self) Dataset(make_dataset(x, labels, num_classes, &t, name, scale));
             }
           },
           nb::arg("x"), nb::arg("labels"), nb::arg("num_classes"), nb::arg("targets") = nb::none(),
           nb::arg("name") = "array", nb::kw_only(), nb::arg("scale") = 1.0,
           "x [n, features]: float32 or uint8 C-contiguous arrays are borrowed, not copied (the Dataset keeps x "
           "alive, and training reads x's memory: a later change to x is seen); float64 is copied once into "
           "float32. labels (int32 [n]) and targets (float32 [n, width]) are copied.")
      .def("__len__", &Dataset::size)
      .def_prop_ro("features", &Dataset::features)
      .def_prop_ro("num_classes", &Dataset::num_classes)
      .def_prop_ro("class_names", &Dataset::class_names)
      .def_prop_ro("scale", &Dataset::scale)
      .def_prop_ro("name", &Dataset::name)
      .def_prop_ro("x", &samples_of, "Every sample as float32 [n, features], scaled (a copy).")
      .def_prop_ro("samples", &samples_view,
                   "The stored samples [n, features], unscaled, as a read-only view (no copy): for a borrowed x, "
                   "x's own memory (np.shares_memory(d.samples, x) is True).")
      .def_prop_ro("labels", [](const Dataset& d) { return vector_to_numpy(d.labels()); })
      .def("subset", &Dataset::subset, nb::arg("rows"));

  const auto part = [](const std::string& s) {
    if (s == "train") return Part::train;
    if (s == "test") return Part::test;
    throw Error("part must be 'train' or 'test', got '" + s + "'");
  };
  m.def(
      "load_mnist_dir",
      [part](const std::string& dir, const std::string& which, bool fashion, bool scale) {
        return load_mnist_dir(dir, part(which), fashion ? ImageSet::fashion_mnist : ImageSet::mnist, scale);
      },
      nb::arg("dir"), nb::arg("part") = "train", nb::arg("fashion") = false, nb::arg("scale") = true,
      "MNIST / Fashion-MNIST IDX files (raw or .gz) from a folder; pixels scaled /255 when scale.");
  m.def(
      "load_cifar10_dir",
      [part](const std::string& dir, const std::string& which, bool scale) {
        return load_cifar10_dir(dir, part(which), scale);
      },
      nb::arg("dir"), nb::arg("part") = "train", nb::arg("scale") = true);
  m.def(
      "load_csv",
      [](const std::string& path, int label_column, bool header, int num_classes, double scale) {
        CsvOptions o;
        o.label_column = label_column;
        o.header = header;
        o.num_classes = num_classes;
        o.scale = scale;
        return load_csv(path, o);
      },
      nb::arg("path"), nb::arg("label_column") = -1, nb::arg("header") = false, nb::arg("num_classes") = 0,
      nb::arg("scale") = 1.0, "A CSV table of numbers with a class label column (scikit-learn's digits.csv.gz).");
  m.def("split_indices", [](int64_t n, double f, uint64_t seed) {
    const Split s = split_indices(n, f, seed);
    return nb::make_tuple(s.train, s.valid);
  }, nb::arg("n"), nb::arg("valid_fraction"), nb::arg("seed"));

  m.def(
      "_fit",
      [](Network& net, const Dataset& train, const Dataset* test, int epochs, int64_t batch_size,
         double valid_fraction, int patience, uint64_t seed, bool shuffle, nb::object on_progress) {
        TrainConfig c;
        c.epochs = epochs;
        c.batch_size = batch_size;
        c.valid_fraction = valid_fraction;
        c.patience = patience;
        c.seed = seed;
        c.shuffle = shuffle;
        return fit(net, train, test, c, on_progress);
      },
      nb::arg("net"), nb::arg("train"), nb::arg("test").none(), nb::arg("epochs"), nb::arg("batch_size"),
      nb::arg("valid_fraction"), nb::arg("patience"), nb::arg("seed"), nb::arg("shuffle"),
      nb::arg("on_progress").none());
  m.def(
      "evaluate",
      [](Network& net, const Dataset& d, int64_t batch_size) {
        Metrics mt;
        {
          nb::gil_scoped_release release;
          mt = evaluate(net, d, batch_size);
        }
        return metrics_dict(mt);
      },
      nb::arg("net"), nb::arg("data"), nb::arg("batch_size") = 1000,
      "Loss, accuracy, confusion matrix and per-class precision/recall/F1 of `net` on `data`.");
}

}  // namespace cumlp::py
