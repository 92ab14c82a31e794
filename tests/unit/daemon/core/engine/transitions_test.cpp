#include <gtest/gtest.h>

#include "core/engine/transitions.hpp"

namespace relance::core::engine {
namespace {

TEST(Transitions, names_round_trip) {
  for (int s = 0; s < status_count; ++s) {
    auto status = static_cast<Status>(s);
    EXPECT_EQ(status_from_name(status_name(status)), status);
  }
  EXPECT_EQ(status_from_name("nope"), std::nullopt);
  EXPECT_EQ(trigger_name(Trigger::due_date_passed), "due_date_passed");
}

TEST(Transitions, closed_statuses_refuse_money) {
  for (Status s : {Status::paid, Status::overpaid, Status::cancelled, Status::written_off}) {
    EXPECT_TRUE(is_closed(s));
    EXPECT_EQ(transition(s, Trigger::settlement_offered).target, Target::refuse);
    EXPECT_EQ(transition(s, Trigger::settlement_offered).alert, TableAlert::on_closed_receivable);
  }
  EXPECT_EQ(transition(Status::open, Trigger::settlement_offered).target, Target::keep);
}

TEST(Transitions, time_moves_open_items_to_overdue_but_not_pauses) {
  EXPECT_EQ(transition(Status::open, Trigger::due_date_passed).status, Status::overdue);
  EXPECT_EQ(transition(Status::partially_paid, Trigger::due_date_passed).status, Status::overdue);
  EXPECT_EQ(transition(Status::disputed, Trigger::due_date_passed).target, Target::keep);
  EXPECT_EQ(transition(Status::promised, Trigger::due_date_passed).target, Target::keep);
  EXPECT_EQ(transition(Status::payment_plan, Trigger::instalment_late).status, Status::overdue);
  EXPECT_EQ(transition(Status::promised, Trigger::promise_expired).target, Target::reassess);
}

TEST(Transitions, cancelled_is_terminal) {
  for (int t = 0; t < trigger_count; ++t) {
    Transition tr = transition(Status::cancelled, static_cast<Trigger>(t));
    EXPECT_TRUE(tr.target == Target::keep || tr.target == Target::refuse) << t;
  }
}

}  // namespace
}  // namespace relance::core::engine
