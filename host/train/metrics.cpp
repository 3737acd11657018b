// evaluate(): loss, accuracy, confusion matrix, per-class precision/recall/F1.
#include "cumlp/train.h"
#include "host/shared/error_macros.h"
#include "host/train/batch.h"

namespace cumlp {

namespace {

void fill_class_scores(Metrics& m) {
  const int k = m.classes;
  m.precision.assign(static_cast<std::size_t>(k), 0.0);
  m.recall.assign(static_cast<std::size_t>(k), 0.0);
  m.f1.assign(static_cast<std::size_t>(k), 0.0);
  for (int c = 0; c < k; ++c) {
    int64_t tp = m.confusion[static_cast<std::size_t>(c * k + c)], predicted = 0, actual = 0;
    for (int o = 0; o < k; ++o) {
      predicted += m.confusion[static_cast<std::size_t>(o * k + c)];
      actual += m.confusion[static_cast<std::size_t>(c * k + o)];
    }
    const auto i = static_cast<std::size_t>(c);
    m.precision[i] = predicted ? static_cast<double>(tp) / static_cast<double>(predicted) : 0.0;
    m.recall[i] = actual ? static_cast<double>(tp) / static_cast<double>(actual) : 0.0;
    const double s = m.precision[i] + m.recall[i];
    m.f1[i] = s > 0 ? 2 * m.precision[i] * m.recall[i] / s : 0.0;
  }
}

}  // namespace

Metrics evaluate(Network& net, const Dataset& data, int64_t batch_size) {
  CUMLP_CHECK(batch_size >= 1, "evaluation batch size must be >= 1, got ", batch_size);
  BatchStage stage(net, data);
  Metrics m;
  const int64_t outputs = net.spec().output_features();
  m.classes = outputs > 1 ? static_cast<int>(outputs) : 2;  // one output: a binary decision
  m.confusion.assign(static_cast<std::size_t>(m.classes) * static_cast<std::size_t>(m.classes), 0);
  std::vector<int64_t> order(static_cast<std::size_t>(data.size()));
  for (int64_t i = 0; i < data.size(); ++i) order[static_cast<std::size_t>(i)] = i;
  const Batches batches(order, batch_size);
  double loss_sum = 0;
  int64_t correct = 0;
  std::vector<int32_t> predicted;
  for (auto rows : batches) {
    stage.gather(rows);
    loss_sum += net.evaluate(stage.x(), stage.target(), &predicted);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const int32_t truth = data.labels()[static_cast<std::size_t>(rows[i])], guess = predicted[i];
      CUMLP_CHECK(truth >= 0 && truth < m.classes, "label ", truth, " of row ", rows[i], " is outside the model's ",
                  m.classes, " classes");
      correct += truth == guess;
      ++m.confusion[static_cast<std::size_t>(truth * m.classes + guess)];
    }
  }
  m.loss = loss_sum / static_cast<double>(batches.size());
  m.accuracy = static_cast<double>(correct) / static_cast<double>(data.size());
  fill_class_scores(m);
  return m;
}

}  // namespace cumlp
