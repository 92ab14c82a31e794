// The test double keeps the same contract as the real backends, so that writer tests built on
// it mean something.
#include "fake_store.hpp"
#include "store_contract.hpp"

namespace relance::store::testing {
namespace {

class FakeBackendDatabase final : public BackendDatabase {
 public:
  Result<std::unique_ptr<Store>> open() override {
    return std::unique_ptr<Store>(std::make_unique<FakeStore>(data_));
  }

 private:
  std::shared_ptr<FakeDatabase> data_ = std::make_shared<FakeDatabase>();
};

INSTANTIATE_TEST_SUITE_P(Fake, StoreContract,
                         ::testing::Values(Backend{
                             "Fake", [] { return std::make_unique<FakeBackendDatabase>(); }}),
                         backend_name);

}  // namespace
}  // namespace relance::store::testing
