#pragma once
// A scheduler Action made into what the outbox delivers: the message rendered from the
// customer's templates and language, addressed, with the sink that carries it.
//
// - email steps: the template in the customer's language, To: the customer's addresses;
// - crm_task / crm_note steps: a CRM activity on the customer (its crm_id), body = the text part;
// - escalate steps: a CRM task when the CRM is enabled;
// - CRM and escalation steps without a CRM: an e-mail to the company's own address
//   (dunning.company_email), so that the people who follow up still learn of it;
// - a formal notice (claim: interest_and_indemnity) lists the L441-10 late interest of each late
//   invoice as of the action's date and the D441-5 indemnity of EUR 40 per late invoice.
// Nothing here throws or stops the writer: a missing address, template or rate is a Failure
// that names the customer and the cause.

#include <optional>
#include <string>

#include "connectors/sink.hpp"
#include "core/dunning/late_payment.hpp"
#include "core/dunning/scheduler.hpp"
#include "core/dunning/templates.hpp"
#include "core/engine/engine.hpp"

namespace relance::state {

// Where messages come from and go, from relance.yaml (email.*, crm.enabled, dunning.company_*).
struct RenderSettings {
  core::dunning::CompanyDetails company;
  std::string email_from = "Relance <relance@localhost>";
  std::string email_reply_to;
  std::string email_sink = "email.file";  // or "email.smtp"
  bool crm_enabled = false;
  // False for `relanced simulate`, which prints the actions and never their text: the template
  // is looked up (a missing one still fails) but not rendered.
  bool message_bodies = true;
};

inline constexpr std::string_view crm_sink_name = "crm.rest";

struct RenderedAction {
  std::string sink;
  connectors::Delivery delivery;
};

struct RenderFailure {
  enum class Kind {
    no_address,      // the customer has no e-mail address
    no_destination,  // a CRM or escalation step with neither a CRM nor the company's address
    failed,          // a template or a rate is missing
  };
  // Whether every step of the customer on the action's channel would fail alike (the address or
  // the destination is missing), not only this one.
  bool about_channel() const { return kind == Kind::no_address || kind == Kind::no_destination; }
  Kind kind = Kind::failed;
  std::string reason;
};

struct RenderOutcome {
  std::optional<RenderedAction> rendered;
  std::optional<RenderFailure> failure;  // exactly one of the two is set
};

// What the message model of an action holds (exposed for tests and `simulate`).
Result<core::dunning::MessageModel> message_model(const core::dunning::Action& action,
                                                  const core::engine::Engine& engine,
                                                  const core::dunning::LatePaymentRates& rates,
                                                  const RenderSettings& settings);

RenderOutcome render_action(const core::dunning::Action& action, const core::engine::Engine& engine,
                            const core::dunning::TemplateSet& templates,
                            const core::dunning::LatePaymentRates& rates,
                            const RenderSettings& settings);

}  // namespace relance::state
