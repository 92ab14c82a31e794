#include "connectors/kafka/ownership.hpp"

#include <gtest/gtest.h>

#include "connectors/kafka/event_publisher.hpp"

namespace relance::connectors::kafka {
namespace {

TEST(Ownership, owns_no_customer_before_an_assignment) {
  Ownership ownership;
  EXPECT_FALSE(ownership.owns("C-1"));
  EXPECT_TRUE(ownership.partitions().empty());
}

TEST(Ownership, owns_exactly_the_customers_of_its_partitions) {
  Ownership mine;
  Ownership theirs;
  mine.assigned(6, {0, 2, 4});
  theirs.assigned(6, {1, 3, 5});
  int owned = 0;
  for (int i = 0; i < 600; ++i) {
    const std::string customer = "C-" + std::to_string(i);
    // Every customer has exactly one owner between two daemons splitting the partitions.
    EXPECT_NE(mine.owns(customer), theirs.owns(customer)) << customer;
    EXPECT_EQ(mine.owns(customer), (partition_of(customer, 6, Partitioner::murmur2) % 2) == 0)
        << customer;
    owned += mine.owns(customer) ? 1 : 0;
  }
  EXPECT_GT(owned, 200);  // murmur2 spreads them
  EXPECT_LT(owned, 400);
}

TEST(Ownership, a_revoked_partition_takes_its_customers_away) {
  Ownership ownership;
  const std::uint64_t before = ownership.generation();
  ownership.assigned(6, {0, 1, 2, 3, 4, 5});
  EXPECT_TRUE(ownership.owns("C-9"));
  const std::int32_t partition = partition_of("C-9", 6, Partitioner::murmur2);
  ownership.revoked({partition});
  EXPECT_FALSE(ownership.owns("C-9"));
  EXPECT_EQ(ownership.partitions().size(), 5u);
  EXPECT_EQ(ownership.generation(), before + 2);
}

TEST(Ownership, partitioners_that_do_not_place_a_key_are_refused) {
  EXPECT_EQ(*partitioner_of(""), Partitioner::murmur2);
  EXPECT_EQ(*partitioner_of("murmur2_random"), Partitioner::murmur2);
  EXPECT_EQ(*partitioner_of("consistent_random"), Partitioner::crc32);
  auto random = partitioner_of("random");
  ASSERT_FALSE(random.ok());
  EXPECT_EQ(random.error().field, "kafka.client.partitioner");
}

core::Event parsed(const std::string& json) {
  auto event = core::parse_event(json);
  EXPECT_TRUE(event.ok()) << event.error().to_string();
  return event ? *event : core::Event{};
}

TEST(EventKey, is_the_customer_else_the_invoice_else_source_and_id) {
  EXPECT_EQ(event_key(parsed(
                R"({"specversion":"1.0","id":"e1","source":"erp","type":"invoice.issued",)"
                R"("data":{"invoice_id":"F-1","customer_id":"C-1","amount":{"amount":"1.00",)"
                R"("currency":"EUR"},"issue_date":"2026-01-05","due_date":"2026-02-04"}})")),
            "C-1");
  EXPECT_EQ(event_key(parsed(R"({"specversion":"1.0","id":"e2","source":"erp",)"
                             R"("type":"invoice.cancelled","data":{"invoice_id":"F-1"}})")),
            "F-1");
  EXPECT_EQ(event_key(parsed(R"({"specversion":"1.0","id":"e3","source":"bank",)"
                             R"("type":"payment.received","data":{"payment_id":"P-1",)"
                             R"("amount":{"amount":"1.00","currency":"EUR"},)"
                             R"("received_date":"2026-01-06"}})")),
            "bank/e3");
}

}  // namespace
}  // namespace relance::connectors::kafka
