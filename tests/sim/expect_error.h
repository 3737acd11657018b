// Shared by the simulator's fault tests: the message of the error a call
// throws, and a check that a message names a part.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "cumlp/error.h"

namespace sim_test {

// The message of the cumlp::Error that `f` throws; fails the test if none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const cumlp::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no cumlp::Error thrown";
  return "";
}

}  // namespace sim_test

#define EXPECT_HAS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)
