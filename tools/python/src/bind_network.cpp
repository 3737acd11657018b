// cumlp.Network and the .safetensors files it is saved in.
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "arrays.h"
#include "bindings.h"
#include "cumlp/cumlp.h"
#include "cumlp/train.h"

namespace cumlp::py {

namespace {

NetworkOptions options_of(const std::string& device, const std::string& dtype, uint64_t seed, int64_t max_batch) {
  return {Device::parse(device), parse_dtype(dtype), seed, max_batch};
}

nb::dict checkpoint_dict(const Checkpoint& c) {
  nb::dict d;
  d["spec"] = c.spec;
  d["optimizer"] = c.optimizer;
  d["extra"] = c.extra;
  d["dtype"] = dtype_name(c.dtype);
  return d;
}

}  // namespace

void bind_network(nb::module_& m) {
  nb::class_<Network>(m, "Network", "A model compiled for a device, with its parameters and optimizer state.")
      .def("__init__",
           [](Network* self, const ModelSpec& spec, const Optimizer& opt, const std::string& device,
              const std::string& dtype, uint64_t seed, int64_t max_batch) {
             new (self) Network(spec, opt, options_of(device, dtype, seed, max_batch));
           },
           nb::arg("spec"), nb::arg("optimizer"), nb::arg("device") = "cpu", nb::arg("dtype") = "f32",
           nb::arg("seed") = 777, nb::arg("max_batch") = 256)
      .def_prop_ro("spec", &Network::spec)
      .def_prop_ro("optimizer", &Network::optimizer)
      .def_prop_ro("device", [](const Network& n) { return n.device().name(); })
      .def_prop_ro("dtype", [](const Network& n) { return std::string(dtype_name(n.dtype())); })
      .def_prop_ro("seed", &Network::seed)
      .def_prop_ro("step_count", &Network::step_count)
      .def_prop_ro("parameter_count", &Network::parameter_count)
      .def_prop_rw("learning_rate", &Network::learning_rate, &Network::set_learning_rate)
      .def(
          "_train_step",
          [](Network& n, const HostArray& x, const HostArray& y) {
            const Tensor xt = to_tensor(x, "x"), yt = to_tensor(y, "y");
            nb::gil_scoped_release release;
            return n.train_step(xt, yt);
          },
          nb::arg("x"), nb::arg("y"))
      .def(
          "_forward",
          [](Network& n, const HostArray& x) {
            const Tensor xt = to_tensor(x, "x");
            Tensor out;
            {
              nb::gil_scoped_release release;
              out = n.forward(xt);
            }
            return to_numpy(std::move(out));
          },
          nb::arg("x"))
      .def(
          "_evaluate",
          [](Network& n, const HostArray& x, const HostArray& y) {
            const Tensor xt = to_tensor(x, "x"), yt = to_tensor(y, "y");
            std::vector<int32_t> classes;
            double loss = 0;
            {
              nb::gil_scoped_release release;
              loss = n.evaluate(xt, yt, &classes);
            }
            return nb::make_tuple(loss, vector_to_numpy(std::move(classes)));
          },
          nb::arg("x"), nb::arg("y"))
      .def(
          "_predict_classes",
          [](Network& n, const HostArray& x) {
            const Tensor xt = to_tensor(x, "x");
            std::vector<int32_t> classes;
            {
              nb::gil_scoped_release release;
              classes = n.predict_classes(xt);
            }
            return vector_to_numpy(std::move(classes));
          },
          nb::arg("x"))
      .def("parameters", [](const Network& n) { return to_numpy(n.parameters()); },
           "Flat copy of every parameter (layer by layer: weight [out, in], then bias).")
      .def(
          "set_parameters", [](Network& n, const HostArray& flat) { n.set_parameters(to_tensor(flat, "flat")); },
          nb::arg("flat"))
      .def("weight", [](const Network& n, int i) { return to_numpy(n.weight(i)); }, nb::arg("layer"))
      .def("bias", [](const Network& n, int i) { return to_numpy(n.bias(i)); }, nb::arg("layer"))
      .def(
          "save",
          [](const Network& n, const std::string& path, const std::map<std::string, std::string>& extra) {
            save_checkpoint(path, n, nullptr, extra);
          },
          nb::arg("path"), nb::arg("extra") = std::map<std::string, std::string>{},
          "Writes the model as .safetensors (the CLI's format); `extra` lands in the metadata as extra.<key>.")
      .def("launches_per_step", &Network::launches_per_step);

  m.def(
      "load_network",
      [](const std::string& path, const std::string& device) {
        // The file decides dtype and seed; its dtype picks `auto`'s device.
        NetworkOptions o{Device::parse(device, read_checkpoint(path).dtype)};
        Checkpoint info;
        Network net = load_network(path, o, &info);
        return nb::make_tuple(nb::cast(std::move(net)), checkpoint_dict(info));
      },
      nb::arg("path"), nb::arg("device") = "cpu",
      "(Network, {'spec', 'optimizer', 'extra', 'dtype'}) from a .safetensors model written by save() or the CLI.");
  m.def(
      "read_checkpoint", [](const std::string& path) { return checkpoint_dict(read_checkpoint(path)); },
      nb::arg("path"), "The spec, optimizer and extra metadata of a .safetensors model, without loading it.");
}

}  // namespace cumlp::py
