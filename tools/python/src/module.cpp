// The _cumlp extension module: the public C++ API (include/cumlp) seen from
// Python. Thin on purpose: argument checks with Python's names live in
// cumlp/_arrays.py, the scikit-learn conventions in cumlp/estimators.py.
//
// Every cumlp::Error becomes cumlp.Error (a ValueError) with the library's
// one-line message.
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "arrays.h"
#include "bindings.h"
#include "cumlp/bench.h"
#include "cumlp/op_check.h"
#include "cumlp/cumlp.h"
#include "cumlp/plot.h"

namespace cumlp::py {
namespace {

void bind_model(nb::module_& m) {
  nb::class_<ModelSpec>(m, "ModelSpec", "Layers and loss of an MLP (the C++ ModelSpec).")
      .def_static("input", &ModelSpec::input, nb::arg("features"), "Starts a model taking `features` inputs.")
      .def_static(
          "parse",
          [](const std::string& layers, const std::string& hidden, double alpha, const std::string& output) {
            return ModelSpec::parse(layers, parse_activation(hidden), alpha, parse_activation(output));
          },
          nb::arg("layers"), nb::arg("hidden") = "relu", nb::arg("alpha") = -1.0, nb::arg("output") = "identity",
          "'784-100-100-10' with `hidden` after every Linear but the last and `output` after the last.")
      .def("linear", &ModelSpec::linear, nb::arg("out"), nb::arg("bias") = true, nb::rv_policy::reference)
      .def(
          "activation",
          [](ModelSpec& s, const std::string& name, double alpha) -> ModelSpec& {
            return s.activation(parse_activation(name), alpha);
          },
          nb::arg("name"), nb::arg("alpha") = -1.0, nb::rv_policy::reference)
      .def("dropout", &ModelSpec::dropout, nb::arg("p"), nb::rv_policy::reference)
      .def(
          "loss", [](ModelSpec& s, const std::string& name) -> ModelSpec& { return s.loss(parse_loss(name)); },
          nb::arg("name"), nb::rv_policy::reference, "cross-entropy, bce, mse, mse-sum, half-sse.")
      .def_prop_ro("input_features", &ModelSpec::input_features)
      .def_prop_ro("output_features", &ModelSpec::output_features)
      .def_prop_ro("loss_name", [](const ModelSpec& s) { return std::string(loss_name(s.loss_kind())); })
      .def("validate", &ModelSpec::validate)
      .def("describe", &ModelSpec::describe)
      .def("__repr__", [](const ModelSpec& s) { return "ModelSpec('" + s.describe() + "')"; });

  nb::class_<Optimizer>(m, "Optimizer", "One optimizer over every parameter (the C++ Optimizer).")
      .def_static("sgd", &Optimizer::sgd, nb::arg("lr"), nb::arg("momentum") = 0.0, nb::arg("nesterov") = false)
      .def_static("adam", &Optimizer::adam, nb::arg("lr") = 1e-3, nb::arg("weight_decay") = 0.0)
      .def_static("adamw", &Optimizer::adamw, nb::arg("lr") = 1e-3, nb::arg("weight_decay") = 1e-2)
      .def_prop_ro("kind", [](const Optimizer& o) { return std::string(optimizer_name(o.kind)); })
      .def_rw("lr", &Optimizer::lr)
      .def_rw("beta1", &Optimizer::beta1)
      .def_rw("beta2", &Optimizer::beta2)
      .def_rw("eps", &Optimizer::eps)
      .def_rw("weight_decay", &Optimizer::weight_decay)
      .def_rw("l1", &Optimizer::l1)
      .def_rw("momentum", &Optimizer::momentum)
      .def_rw("nesterov", &Optimizer::nesterov)
      .def("validate", &Optimizer::validate)
      .def("describe", &Optimizer::describe)
      .def("__repr__", &Optimizer::describe);
}

nb::dict check_row(const OpCheck& c) {
  return dict_of({{"name", nb::cast(c.name)}, {"shape", nb::cast(c.shape)}, {"dtype", nb::cast(c.dtype)},
                  {"max_abs_err", nb::cast(c.max_abs_err)}, {"max_rel_err", nb::cast(c.max_rel_err)},
                  {"atol", nb::cast(c.atol)}, {"rtol", nb::cast(c.rtol)}, {"exact", nb::cast(c.exact)},
                  {"path", nb::cast(c.path)}, {"pass", nb::cast(c.pass)}, {"mismatches", nb::cast(c.mismatches)}});
}

nb::dict step_row(const StepResult& s) {
  return dict_of({{"model", nb::cast(s.model)}, {"description", nb::cast(s.description)},
                  {"batch", nb::cast(s.batch)}, {"us_per_step", nb::cast(s.us_per_step)},
                  {"samples_per_second", nb::cast(s.samples_per_second)},
                  {"launches_per_step", nb::cast(s.launches_per_step)}});
}

void bind_tools(nb::module_& m) {
  m.def(
      "check",
      [](const std::string& device) {
        std::vector<OpCheck> rows;
        const Device d = Device::parse(device);
        {
          nb::gil_scoped_release release;
          rows = check_ops(d);
        }
        nb::list out;
        for (const OpCheck& c : rows) out.append(check_row(c));
        return out;
      },
      nb::arg("device") = "cpu", "The op table on `device` against the plain reference: a list of dicts (name, shape, dtype, pass, ...).");
  m.def(
      "bench",
      [](const std::string& device, bool quick, const std::vector<std::string>& models) {
        BenchOptions o;
        o.quick = quick;
        o.kernels = false;
        o.models = models;
        const Device d = Device::parse(device);
        BenchReport r;
        {
          nb::gil_scoped_release release;
          r = run_benchmarks(d, o);
        }
        nb::list out;
        for (const StepResult& s : r.steps) out.append(step_row(s));
        return out;
      },
      nb::arg("device") = "cpu", nb::arg("quick") = false, nb::arg("models") = std::vector<std::string>{},
      "Training-step benchmark of models A-D on `device`: a list of dicts (model, us_per_step, ...).");
  m.def("devices", [] {
    nb::list out;
    for (const DeviceInfo& i : list_devices()) {
      nb::dict d;
      d["name"] = i.name;
      d["description"] = i.description;
      d["available"] = i.available;
      d["why_not"] = i.why_not;
      out.append(d);
    }
    return out;
  }, "Every device this build knows, with whether it is usable here.");
  m.def(
      "plot_loss",
      [](const std::string& path, const std::vector<double>& train, const std::vector<double>& valid,
         int64_t best_epoch, const std::string& title) { plot_loss_history(path, train, valid, best_epoch, title); },
      nb::arg("path"), nb::arg("train_loss"), nb::arg("valid_loss") = std::vector<double>{},
      nb::arg("best_epoch") = 0, nb::arg("title") = "Loss history", "A loss-history PNG (the CLI's loss.png).");
  m.def(
      "plot_confusion",
      [](const std::string& path, const std::vector<int64_t>& counts, const std::vector<std::string>& names,
         const std::string& title) {
        const auto k = static_cast<int64_t>(names.size());
        plot_confusion_matrix(path, counts, k, k, names, title);
      },
      nb::arg("path"), nb::arg("counts"), nb::arg("class_names"), nb::arg("title") = "Confusion matrix",
      "A confusion-matrix PNG; counts [k*k] row-major (rows: true class).");
  m.def("_buffer_address", [](const HostArray& a) { return reinterpret_cast<std::uintptr_t>(a.data()); },
        nb::arg("array"), "Address of the memory the binding reads for `array` (tests prove no copy is made).");
}

}  // namespace
}  // namespace cumlp::py

NB_MODULE(_cumlp, m) {
  namespace nb = nanobind;
  m.doc() = "cumlp's C++ core (see the cumlp package for the Python API).";
  nb::exception<cumlp::Error>(m, "Error", PyExc_ValueError);
  cumlp::py::bind_model(m);
  cumlp::py::bind_network(m);
  cumlp::py::bind_train(m);
  cumlp::py::bind_tools(m);
}
