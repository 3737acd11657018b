// check_targets and TrainConfig::validate at the library level: a loss meets
// only data it can read, and early stopping only with a split to watch; the
// same refusals the CLI shows, for programs that link the library.
#include <gtest/gtest.h>

#include "cumlp/error.h"
#include "cumlp/train.h"

namespace cumlp {
namespace {

// 8 rows of 2 features, labels 0..3 (4 classes).
Dataset four_classes() {
  return Dataset(std::vector<float>{0, 0, 0, 1, 1, 0, 1, 1, 2, 0, 0, 2, 2, 2, 1, 2}, {2}, 1.0,
                 {0, 1, 2, 3, 0, 1, 2, 3}, 4, {}, "four");
}

ModelSpec model(int64_t outputs, LossKind loss, Activation out = Activation::Identity) {
  return ModelSpec::parse("2-3-" + std::to_string(outputs), Activation::ReLU, -1, out).loss(loss);
}

void expect_refused(const ModelSpec& spec, const Dataset& data, const std::string& mention) {
  try {
    (void)check_targets(spec, data);
    ADD_FAILURE() << spec.describe() << " on " << data.name() << " was accepted";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find(mention), std::string::npos) << e.message();
  }
}

TEST(Targets, CrossEntropyTakesClassIndicesBelowTheOutputCount) {
  EXPECT_EQ(check_targets(model(4, LossKind::CrossEntropy), four_classes()), TargetKind::ClassIndex);
  expect_refused(model(1, LossKind::CrossEntropy), four_classes(), "at least 2");
  expect_refused(model(3, LossKind::CrossEntropy), four_classes(), "4 classes, the model has 3 outputs");
}

TEST(Targets, BceAndMseOnClassLabelsAreOneHotWithOneOutputPerClass) {
  EXPECT_EQ(check_targets(model(4, LossKind::BCE, Activation::Sigmoid), four_classes()), TargetKind::OneHot);
  EXPECT_EQ(check_targets(model(4, LossKind::MSE), four_classes()), TargetKind::OneHot);
  expect_refused(model(1, LossKind::BCE, Activation::Sigmoid), four_classes(), "one output per class (4)");
  expect_refused(model(5, LossKind::MSE), four_classes(), "one output per class (4)");
}

TEST(Targets, BceNeedsProbabilitiesAndZeroOneTargets) {
  EXPECT_EQ(check_targets(model(1, LossKind::BCE, Activation::Sigmoid), xor_table()), TargetKind::Given);
  expect_refused(model(1, LossKind::BCE), xor_table(), "ends in identity");
  Dataset bad = xor_table();
  bad.set_targets({0, 1, 2, 0}, 1);
  expect_refused(model(1, LossKind::BCE, Activation::Sigmoid), bad, "target 2 of row 2 is outside [0, 1]");
  EXPECT_EQ(check_targets(model(1, LossKind::MSE), bad), TargetKind::Given) << "mse takes any finite target";
  expect_refused(model(2, LossKind::MSE), bad, "targets of width 1, the model has 2 outputs");
}

TEST(Targets, TrainerRefusesBeforeTheFirstStepAndReportsTheKind) {
  Network net(model(4, LossKind::BCE, Activation::Sigmoid), Optimizer::sgd(0.1),
              NetworkOptions{Device::parse("cpu"), DType::F32, 1, 8});
  TrainConfig c;
  c.epochs = 1;
  c.batch_size = 4;
  c.valid_fraction = 0;
  const TrainReport r = Trainer(net, c).fit(four_classes());
  EXPECT_EQ(r.targets, TargetKind::OneHot);
  EXPECT_EQ(std::string(target_kind_name(r.targets)), "one-hot");
  EXPECT_EQ(r.batch_rows, 4);
  const Dataset test = xor_table();  // 2 features, but one 0/1 target column: not the model's 4 outputs
  const int64_t steps = net.step_count();
  EXPECT_THROW(Trainer(net, c).fit(four_classes(), &test), Error);
  EXPECT_EQ(net.step_count(), steps) << "the test set is checked before training";
}

TEST(Targets, PatienceNeedsAValidationSplit) {
  TrainConfig c;
  c.patience = 2;
  c.valid_fraction = 0;
  try {
    c.validate();
    ADD_FAILURE() << "patience without a validation split was accepted";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("validation split"), std::string::npos) << e.message();
  }
  c.valid_fraction = 0.25;
  EXPECT_NO_THROW(c.validate());
}

}  // namespace
}  // namespace cumlp
