#pragma once
// The contract every Store backend keeps, as a parametrized GoogleTest suite over a backend
// factory. A backend joins by instantiating it:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContract, ::testing::Values(sqlite_backend()),
//                            backend_name);

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/assert.hpp"
#include "store/migrations.hpp"
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

// The value of a result that must be ok; a failure of the test (and a stop) when it is not.
template <class T>
T expect_ok(Result<T> result) {
  if (!result) ADD_FAILURE() << result.error().to_string();
  RELANCE_ASSERT(result.ok());
  return std::move(result).value();
}

inline void expect_ok(Result<void> result) {
  if (!result) ADD_FAILURE() << result.error().to_string();
  RELANCE_ASSERT(result.ok());
}

// The migrations embedded in a backend are the .sql files of `dir`, in the order of their
// names, numbered 1..N.
void expect_migrations_are_the_files_of(std::span<const Migration> migrations,
                                        const std::filesystem::path& dir);

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
