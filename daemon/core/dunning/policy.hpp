#pragma once
// Dunning policies (config/policies/*.yaml): named lists of steps anchored on the due date or on
// the previous step, their conditions, which policy applies to which customer, and the delivery
// rules (calendar, send window, quiet hours, contact pressure) the scheduler applies.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/date.hpp"
#include "core/dunning/calendar.hpp"
#include "core/dunning/contact_pressure.hpp"
#include "core/dunning/problem.hpp"
#include "core/dunning/send_window.hpp"
#include "core/dunning/templates.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace relance::core::dunning {

enum class Channel { email, crm_task, crm_note, escalate };  // escalate last: channel_count
std::string_view channel_name(Channel channel);

// "due-5d", "due+3bd", "prev+7d": the anchor, a signed count and its unit (d: calendar days,
// bd: business days of the policy's calendar).
struct StepOffset {
  enum class Anchor { due_date, previous_step };
  enum class Unit { calendar_days, business_days };
  Anchor anchor = Anchor::due_date;
  int count = 0;
  Unit unit = Unit::calendar_days;
};
Result<StepOffset> parse_step_offset(std::string_view text);

// Whom a step concerns. Every condition given must hold; an empty list means "any".
struct StepConditions {
  std::vector<std::string> segments;
  // Compared only with an open amount in the same currency: amounts are never converted, so a
  // minimum in EUR is not met by an open amount in USD.
  std::optional<Money> min_open_amount;
  std::vector<Currency> currencies;

  bool matches(const std::optional<std::string>& segment, const Money& open_amount) const;
};

// What a formal notice claims on top of the open amount.
enum class Claim { none, interest_and_indemnity };

struct PolicyStep {
  std::string name;
  StepOffset at;
  Channel channel = Channel::email;
  std::string template_name;
  StepConditions when;
  Claim claim = Claim::none;
  std::optional<int> pay_within_days;  // the deadline a formal notice gives
  int line = 0;                        // where it is defined, for messages about it
};

struct Policy {
  std::string name;
  std::string description;
  std::string calendar = "fr";  // a built-in calendar or one of config/calendars
  std::vector<PolicyStep> steps;
  std::string file;
};

struct Assignment {
  std::string default_policy;
  std::map<std::string, std::string> by_segment;   // segment -> policy
  std::map<std::string, std::string> by_customer;  // customer id -> policy (wins over segment)
};

struct Delivery {
  SendWindow send_window;
  ContactPressure contact_pressure;
};

class PolicySet {
 public:
  PolicySet(std::map<std::string, Policy> policies, Assignment assignment, Delivery delivery);

  const std::map<std::string, Policy>& policies() const { return policies_; }
  const Assignment& assignment() const { return assignment_; }
  const Delivery& delivery() const { return delivery_; }

  // The customer's own policy, else its segment's, else the default.
  const Policy& policy_for(std::string_view customer_id,
                           const std::optional<std::string>& segment) const;

 private:
  std::map<std::string, Policy> policies_;
  Assignment assignment_;
  Delivery delivery_;
};

// The date a step is due: from the due date, or from the date the previous step actually went
// out (`previous_step_date`, required for prev-anchored steps). Business-day offsets count
// business days of `calendar` (see BusinessCalendar::add_business_days).
Result<Date> step_date(const PolicyStep& step, Date due_date,
                       std::optional<Date> previous_step_date, const BusinessCalendar& calendar);

// The planned dates of every step, each prev-anchored step counted from its predecessor's
// planned date (a simulation's view when every step goes out on time).
Result<std::vector<Date>> planned_step_dates(const Policy& policy, Date due_date,
                                             const BusinessCalendar& calendar);

// What a policy file may refer to.
struct PolicyReferences {
  const TemplateSet* templates = nullptr;  // required: step templates are checked against it
  std::set<std::string> calendars{"fr", "fr_alsace_moselle"};
};

// One file's name and text.
struct PolicyFile {
  std::string name;
  std::string text;
};

// Every problem across the files (unknown keys, unknown templates or calendars, steps out of
// order, steps that can never be reached, assignment to unknown policies), each with file and
// line. The files together hold the policies, one `assignment` and at most one `delivery`.
std::vector<Problem> check_policies(const std::vector<PolicyFile>& files,
                                    const PolicyReferences& references);
Result<PolicySet> load_policies_text(const std::vector<PolicyFile>& files,
                                     const PolicyReferences& references);
// Reads every *.yaml of a folder (config/policies), in name order.
Result<PolicySet> load_policies(const std::string& directory, const PolicyReferences& references);

}  // namespace relance::core::dunning
