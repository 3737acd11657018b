#include "tests/cli/option_table.h"

#include <gtest/gtest.h>

namespace cumlp::test {

Check field(const std::string& pointer, nlohmann::json want) {
  return [pointer, want](const Observed& run, const Observed& base) {
    const nlohmann::json::json_pointer p(pointer);
    ASSERT_TRUE(run.contains(p)) << pointer << " missing in the report:\n" << run.value("stdout", "");
    EXPECT_EQ(run.at(p), want) << pointer;
    EXPECT_NE(base.value(p, nlohmann::json()), want) << pointer << ": the base run has it already";
  };
}

Check differs(const std::string& pointer) {
  return [pointer](const Observed& run, const Observed& base) {
    const nlohmann::json::json_pointer p(pointer);
    ASSERT_TRUE(run.contains(p)) << pointer << " missing in the report:\n" << run.value("stdout", "");
    EXPECT_NE(run.at(p), base.value(p, nlohmann::json())) << pointer << " did not change";
  };
}

Check both(Check a, Check b) {
  return [a, b](const Observed& run, const Observed& base) {
    a(run, base);
    b(run, base);
  };
}

namespace {
// The shared parts of the command lines ({d}: the fixture's scratch folder).
const std::string kDigits = "--json train --preset digits --data-dir {d}/digits ";
const std::string kTrain = kDigits + "--device cpu ";
const std::string kOut = " --out {d}/t/run";
const std::string kTrainOut = " --epochs 1" + kOut;
const std::string kOwn = "--json train --layers 64-20-10 --dataset digits --data-dir {d}/digits --device cpu ";
const std::string kEvalAt = "--json eval {d}/digits_run/model.safetensors ";
const std::string kEval = kEvalAt + "--device cpu ";
const std::string kEvalMnist = "--json eval {d}/mnist_run/model.safetensors --device cpu ";
const std::string kPredict = "--json predict {d}/digits_run/model.safetensors {d}/rows64.csv ";
const std::string kSamples = "--json plot samples --preset mnist-small ";
const std::string kBenchAt = "--json bench --quick --steps-only --models A";
const std::string kBench = kBenchAt + " --device cpu";
const std::string kNo = " --out {d}/refused";  // refused runs point here: nothing may appear
}  // namespace

const std::vector<std::pair<std::string, std::string>>& base_runs() {
  static const std::vector<std::pair<std::string, std::string>> runs = {
      {"", "--json info"},
      {"demo backprop", "--json demo backprop"},
      {"demo xor-single", "--json demo xor-single --steps 10"},
      {"demo xor", "--json demo xor --steps 10"},
      {"train", kTrain + kTrainOut},
      {"eval", kEval + "--data-dir {d}/digits"},
      {"predict", kPredict + "--device cpu"},
      {"plot activations", "--json plot activations --out {d}/p/act.png"},
      {"plot samples", kSamples + "--data-dir {d}/mnist --out {d}/p/s.png"},
      {"plot loss", "--json plot loss {d}/digits_run/report.json --out {d}/p/l.png"},
      {"check", "--json check --device cpu"},
      {"bench", kBench},
      {"profile", "--json profile --model C"},
  };
  return runs;
}

const std::vector<OptionCase>& option_cases() {
  static const std::vector<OptionCase> cases = [] {
    std::vector<OptionCase> c = {
        // The program itself: --json makes stdout one JSON object (the base has it).
        {"", "--json", "info", field("/stdout_is_json", false)},
        {"", "--version", "--version",
         [](const Observed& run, const Observed& base) {
           EXPECT_EQ(run["stdout"], base["report"]["version"].get<std::string>() + "\n");
         }},
    };
    for (const std::string demo : {"demo xor-single", "demo xor"}) {
      const std::string run = "--json " + demo + " --steps 10";
      c.push_back({demo, "--device", run + " --device sim --dtype f32", field("/report/device", "sim")});
      c.push_back({demo, "--dtype", run + " --dtype f32", field("/report/dtype", "f32")});
      c.push_back({demo, "--seed", run + " --seed 5",
                   both(field("/report/seed", 5), differs("/report/probabilities"))});
      c.push_back({demo, "--steps", "--json " + demo + " --steps 30", both(field("/report/steps", 30),
                                                                           differs("/report/loss"))});
    }
    const std::vector<OptionCase> more = {
        {"demo backprop", "--device", "--json demo backprop --device sim --dtype f32", field("/report/device", "sim")},
        {"demo backprop", "--dtype", "--json demo backprop --dtype f32", field("/report/dtype", "f32")},

        // train: a preset's overrides ...
        {"train", "--preset", "--json train --preset xor --epochs 3 --device cpu" + kOut,
         both(field("/report/preset", "xor"), field("/report/targets", "given"))},
        {"train", "--epochs", kTrain + "--epochs 2" + kOut, field("/report/epochs_run", 2)},
        {"train", "--batch-size", kTrain + "--batch-size 16" + kTrainOut, field("/report/batch_size", 16)},
        {"train", "--lr", kTrain + "--lr 0.01" + kTrainOut, field("/report/optimizer_settings/lr", 0.01)},
        {"train", "--optimizer", kTrain + "--optimizer sgd" + kTrainOut,
         field("/report/optimizer_settings/kind", "sgd")},
        {"train", "--weight-decay", kTrain + "--weight-decay 0.5" + kTrainOut,
         field("/report/optimizer_settings/weight_decay", 0.5)},
        {"train", "--l1", kTrain + "--l1 0.25" + kTrainOut, field("/report/optimizer_settings/l1", 0.25)},
        // The data-parallel options (tests/dist runs them under mpirun); alone, the timeout is reported.
        {"train", "--dist-init", kTrain + "--dist-init file:{d}/nccl-id" + kNo},  // NCCL bootstrap: cuda ranks only
        {"train", "--dist-timeout", kTrain + "--dist-timeout 5" + kTrainOut, field("/report/dist_timeout", 5)},
        {"train", "--momentum", kTrain + "--optimizer sgd --momentum 0.9" + kTrainOut,
         field("/report/optimizer_settings/momentum", 0.9)},
        {"train", "--momentum", kTrain + "--momentum 0.9" + kNo},  // the preset's adam has no momentum
        {"train", "--nesterov", kTrain + "--optimizer sgd --momentum 0.9 --nesterov" + kTrainOut,
         field("/report/optimizer_settings/nesterov", true)},
        {"train", "--nesterov", kTrain + "--optimizer sgd --nesterov" + kNo},  // Nesterov needs momentum
        {"train", "--dropout", kTrain + "--dropout 0.5" + kTrainOut,
         field("/report/model_spec", "64-32(relu)(dropout 0.5)-16(relu)(dropout 0.5)-10 cross-entropy")},
        {"train", "--valid-fraction", kTrain + "--valid-fraction 0.25" + kTrainOut,
         both(field("/report/valid_fraction", 0.25), field("/report/valid_rows", 40))},
        {"train", "--patience", kTrain + "--patience 1 --valid-fraction 0.25 --epochs 2" + kOut,
         field("/report/patience", 1)},
        {"train", "--patience", kTrain + "--patience 1" + kNo},  // no validation split to watch
        {"train", "--seed", kTrain + "--seed 5" + kTrainOut,
         both(field("/report/seed", 5), differs("/report/train_loss"))},
        {"train", "--device", kDigits + "--device sim" + kTrainOut, field("/report/device", "sim")},
        {"train", "--dtype", kTrain + "--dtype f64" + kTrainOut, field("/report/dtype", "f64")},
        {"train", "--precision", kDigits + "--device sim --precision tf32" + kTrainOut,
         both(field("/report/gemm_precision", "tf32"), differs("/report/train_loss")), kDigits + "--device sim" + kTrainOut},
        {"train", "--precision", kTrain + "--precision tf32" + kNo},  // the cpu device has no tensor-core GEMM
        // --resume keeps the checkpoint's precision (the base run: tf32) unless --precision changes it.
        {"train", "--precision", "--json train --device sim --epochs 4 --resume {d}/xor_tf32_run/checkpoint.safetensors --precision fp32" + kOut,
         both(field("/report/gemm_precision", "fp32"),
              [](const Observed&, const Observed& base) { EXPECT_EQ(base["report"]["gemm_precision"], "tf32"); }),
         "--json train --device sim --epochs 4 --resume {d}/xor_tf32_run/checkpoint.safetensors" + kOut},
        {"train", "--data-dir", "--json train --preset digits --device cpu --data-dir {d}/digits2" + kTrainOut,
         both(field("/report/data", "{d}/digits2/digits.csv.gz"), differs("/report/train_rows"))},
        {"train", "--data-dir", "--json train --preset xor --epochs 1 --data-dir {d}/digits" + kNo},
        {"train", "--out", kTrain + "--epochs 1 --out {d}/t/elsewhere", field("/report/model", "{d}/t/elsewhere/model.safetensors")},
        {"train", "--resume", kTrain + "--epochs 2 --resume {d}/digits_run/checkpoint.safetensors" + kOut,
         both(field("/report/resumed_after_epoch", 1), field("/report/resumed_from",
                                                             "{d}/digits_run/checkpoint.safetensors"))},
        {"train", "--checkpoint-seconds", kTrain + "--epochs 3 --checkpoint-seconds 0" + kOut,
         field("/report/checkpoints_saved", 3), kTrain + "--epochs 3 --checkpoint-seconds 100000" + kOut},
        {"train", "--quiet", kTrain + "--quiet" + kTrainOut, field("/progress_lines", 0)},
        // ... and what only --layers defines (refused with a preset: it fixes the model and data set).
        {"train", "--layers", kOwn + kTrainOut, field("/report/model_spec", "64-20(relu)-10 cross-entropy")},
        {"train", "--layers", kTrain + "--layers 64-20-10" + kNo},
        {"train", "--activation", kOwn + "--activation tanh" + kTrainOut,
         field("/report/model_spec", "64-20(tanh)-10 cross-entropy")},
        {"train", "--activation", kTrain + "--activation tanh" + kNo},
        {"train", "--loss", kOwn + "--loss mse" + kTrainOut, both(field("/report/model_spec", "64-20(relu)-10 mse"),
                                                                  field("/report/targets", "one-hot"))},
        {"train", "--loss", kTrain + "--loss mse" + kNo},
        {"train", "--dataset", "--json train --layers 2-4-1 --loss bce --dataset xor --device cpu --epochs 2 --batch-size 4" + kOut,
         field("/report/dataset", "xor")},
        {"train", "--dataset", kTrain + "--dataset fashion" + kNo},

        {"eval", "model", "--json eval {d}/xor_run/model.safetensors --device cpu", field("/report/dataset", "xor")},
        {"eval", "--preset", kEvalMnist + "--preset fashion-small --data-dir {d}/mnist",
         field("/report/dataset", "fashion"), kEvalMnist + "--data-dir {d}/mnist"},
        {"eval", "--data", kEval + "--data {d}/labelled.csv", field("/report/dataset", "csv")},
        {"eval", "--data-dir", kEval + "--data-dir {d}/digits2", field("/report/data", "{d}/digits2/digits.csv.gz")},
        {"eval", "--data-dir", kEval + "--data {d}/labelled.csv --data-dir {d}/digits2"},
        {"eval", "--device", kEvalAt + "--data-dir {d}/digits --device sim", field("/report/device", "sim")},
        {"eval", "--seed", kEval + "--data-dir {d}/digits --seed 5", field("/report/split_seed", 5)},
        {"eval", "--seed", kEvalMnist + "--data-dir {d}/mnist --seed 5"},  // mnist has its own test files
        {"eval", "--confusion-png", kEval + "--data-dir {d}/digits --confusion-png {d}/p/c.png",
         field("/report/confusion_png", "{d}/p/c.png")},

        {"predict", "model", "--json predict {d}/xor_run/model.safetensors {d}/rows2.csv --device cpu",
         field("/report/model", "{d}/xor_run/model.safetensors")},
        {"predict", "input", "--json predict {d}/digits_run/model.safetensors {d}/rows64b.csv --device cpu",
         field("/report/rows", 5)},
        {"predict", "--device", kPredict + "--device sim", field("/report/device", "sim")},

        {"plot activations", "--out", "--json plot activations --out {d}/p/act2.png", field("/report/plot", "{d}/p/act2.png")},
        {"plot samples", "--preset", "--json plot samples --preset cifar10 --data-dir {d}/cifar --out {d}/p/s.png",
         field("/report/dataset", "cifar10")},
        {"plot samples", "--data-dir", kSamples + "--data-dir {d}/mnist2 --out {d}/p/s.png", differs("/report/data")},
        {"plot samples", "--data-dir", "--json plot samples --preset xor --data-dir {d}/mnist --out {d}/refused.png"},
        {"plot samples", "--out", kSamples + "--data-dir {d}/mnist --out {d}/p/s2.png", field("/report/plot", "{d}/p/s2.png")},
        {"plot loss", "report", "--json plot loss {d}/xor_run/report.json --out {d}/p/l.png",
         field("/report/report", "{d}/xor_run/report.json")},
        {"plot loss", "--out", "--json plot loss {d}/digits_run/report.json --out {d}/p/l2.png",
         field("/report/plot", "{d}/p/l2.png")},

        {"check", "--device", "--json check --device sim", field("/report/device", "sim")},
        {"check", "--precision", "--json check --device sim --precision tf32x3",
         both(field("/report/precision", "tf32x3"), field("/report/checks/0/precision", "tf32x3")),
         "--json check --device sim"},
        {"check", "--precision", "--json check --device cpu --precision tf32"},

        // profile runs on sim only (its default): the option's one effect is to refuse other devices.
        {"profile", "--device", "--json profile --model C --device cpu"},
        {"profile", "--model", "--json profile --model D", field("/report/model", "D")},
        {"profile", "--gpu", "--json profile --model C --gpu a100",
         both(field("/report/gpu", "a100"), differs("/report/modelled_step_us"))},
        {"profile", "--seed", "--json profile --model C --seed 5", field("/report/seed", 5)},
        {"profile", "--precision", "--json profile --model C --precision tf32",
         both(field("/report/precision", "tf32"), differs("/report/kernels"))},
        {"bench", "--device", kBenchAt + " --device sim", field("/report/device", "sim")},
        {"bench", "--quick", "--json bench --device cpu --steps-only --models A --samples 1 --quick",
         field("/report/quick", true), "--json bench --device cpu --steps-only --models A --samples 1"},
        {"bench", "--steps-only", "--json bench --device cpu --quick --models A --samples 1 --steps-only",
         field("/report/kernels", nlohmann::json::array()), "--json bench --device cpu --quick --models A --samples 1"},
        {"bench", "--samples", kBench + " --samples 2", field("/report/samples", 2)},
        {"bench", "--samples", kBench + " --samples 9"},  // --quick takes at most 5
        {"bench", "--precision", kBenchAt + " --device sim --precision tf32",
         // The launches show it in every build (the modelled time needs the traced kernels): at tf32
         // model A leaves the fp32-only fused narrow step and grouped backward.
         both(field("/report/precision", "tf32"), differs("/report/steps/0/launches_per_step")), kBenchAt + " --device sim"},
        {"bench", "--precision", kBench + " --precision tf32x3"},
        {"bench", "--models", "--json bench --device cpu --quick --steps-only --models B",
         field("/report/steps/0/model", "B")},
    };
    c.insert(c.end(), more.begin(), more.end());
    return c;
  }();
  return cases;
}

}  // namespace cumlp::test
