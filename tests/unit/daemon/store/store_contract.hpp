#pragma once
// The contract every Store backend keeps, as a parametrized GoogleTest suite over a backend
// factory. A backend joins by instantiating it:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContract, ::testing::Values(sqlite_backend()),
//                            backend_name);

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace relance::store::testing {

// One fresh, empty database of some backend. open() may be called again after the previous
// store was destroyed, and must then see what that store committed.
class BackendDatabase {
 public:
  virtual ~BackendDatabase() = default;
  virtual Result<std::unique_ptr<Store>> open() = 0;
};

struct Backend {
  std::string name;
  std::function<std::unique_ptr<BackendDatabase>()> make_database;
};

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param.name;
}

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  // Opens (or reopens) the store on this test's database; fails the test when it cannot.
  Store& open_store();
  void close_store() { store_.reset(); }

  std::unique_ptr<BackendDatabase> database_;
  std::unique_ptr<Store> store_;
};

}  // namespace relance::store::testing
