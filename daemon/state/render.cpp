#include "state/render.hpp"

#include <algorithm>

#include "state/snapshot.hpp"

namespace relance::state {

using core::dunning::Action;
using core::dunning::Channel;
using core::dunning::Claim;
using core::engine::Engine;

namespace {

RenderOutcome failed(RenderFailure::Kind kind, std::string reason) {
  return RenderOutcome{std::nullopt, RenderFailure{kind, std::move(reason)}};
}

std::string what(const Action& action) {
  return "the " + std::string(core::dunning::channel_name(action.channel)) + " step '" +
         action.step + "' of customer " + action.customer_id;
}

}  // namespace

Result<core::dunning::MessageModel> message_model(const Action& action, const Engine& engine,
                                                  const core::dunning::LatePaymentRates& rates,
                                                  const RenderSettings& settings) {
  core::dunning::MessageModel model;
  model.customer_id = action.customer_id;
  const core::engine::Customer* customer = engine.find_customer(action.customer_id);
  model.customer_name = customer != nullptr && !customer->profile.name.empty()
                            ? customer->profile.name
                            : action.customer_id;
  model.customer_language = action.language;
  model.as_of = action.as_of;
  model.credits = action.credits;
  model.pay_by = action.pay_by;
  model.company = settings.company;
  // The reference the engine matches a payment with: the invoice's number when there is one
  // invoice, else the customer's id (the statement as a whole).
  model.payment_reference =
      action.invoices.size() == 1 ? action.invoices.front().number : action.customer_id;
  int late_invoices = 0;
  for (const core::dunning::ActionInvoice& line : action.invoices) {
    core::dunning::InvoiceLine invoice;
    invoice.number = line.number;
    invoice.issue_date = line.issue_date;
    invoice.due_date = line.instalment ? *line.instalment : line.due_date;
    invoice.original = line.original;
    invoice.open = line.open;
    invoice.days_late = line.days_late;
    if (action.claim == Claim::interest_and_indemnity && line.days_late > 0 && !line.instalment) {
      const core::engine::Receivable* receivable = engine.find_receivable(line.invoice_id);
      if (receivable == nullptr) {
        return Error{"invoices", "invoice " + line.invoice_id + " is not known to the engine"};
      }
      core::dunning::LateInterestRequest request;
      const LateBalance balance = late_balance(*receivable);
      request.amount = balance.at_due_date;
      request.due_date = receivable->due_date;
      request.until = action.as_of;
      for (const auto& [date, amount] : balance.paid_after) {
        if (date <= action.as_of) request.payments.push_back({date, amount});
      }
      auto interest = core::dunning::late_interest(request, rates);
      if (!interest) {
        return Error{"invoices", "late interest of invoice " + line.number + " as of " +
                                     core::format_date(action.as_of) + ": " +
                                     interest.error().to_string()};
      }
      invoice.interest = interest->interest;
      ++late_invoices;
    }
    model.invoices.push_back(std::move(invoice));
  }
  if (action.claim == Claim::interest_and_indemnity && late_invoices > 0) {
    model.indemnity = core::dunning::recovery_indemnity(late_invoices);
  }
  return model;
}

RenderOutcome render_action(const Action& action, const Engine& engine,
                            const core::dunning::TemplateSet& templates,
                            const core::dunning::LatePaymentRates& rates,
                            const RenderSettings& settings) {
  const core::engine::Customer* customer = engine.find_customer(action.customer_id);
  // Where it goes is checked before anything is rendered: a step held for want of an address
  // is tried again at every change of its customer, and rendering it each time would be wasted.
  const bool to_crm = action.channel != Channel::email && settings.crm_enabled;
  std::vector<std::string> recipients;
  if (action.channel == Channel::email) {
    if (customer != nullptr) recipients = customer->profile.emails;
    if (recipients.empty()) {
      return failed(RenderFailure::Kind::no_address,
                    "customer " + action.customer_id + " has no e-mail address: " + what(action) +
                        " (" + action.idempotency_key + ") waits for one");
    }
  } else if (!to_crm) {
    // No CRM: the follow-up goes to the company's own address.
    if (settings.company.email.empty()) {
      return failed(RenderFailure::Kind::no_destination,
                    what(action) + " needs crm.enabled or dunning.company_email; neither is set");
    }
    recipients = {settings.company.email};
  }

  auto model = message_model(action, engine, rates, settings);
  if (!model) {
    return failed(RenderFailure::Kind::failed, what(action) + ": " + model.error().to_string());
  }
  core::dunning::RenderedMessage message;
  if (settings.message_bodies) {
    auto rendered = templates.render(action.template_name, *model);
    if (!rendered) {
      return failed(RenderFailure::Kind::failed,
                    what(action) + ": " + rendered.error().to_string());
    }
    message = std::move(rendered).value();
  } else if (auto language =
                 templates.choose_language(action.template_name, model->customer_language);
             !language) {
    return failed(RenderFailure::Kind::failed, what(action) + ": " + language.error().to_string());
  }

  if (to_crm) {
    connectors::CrmActivity activity;
    activity.kind = action.channel == Channel::crm_note ? connectors::CrmActivity::Kind::note
                                                        : connectors::CrmActivity::Kind::task;
    activity.customer_id = action.customer_id;
    activity.customer_name = model->customer_name;
    activity.crm_id = customer != nullptr ? customer->profile.crm_id : std::string();
    activity.subject = message.subject;
    activity.body = message.text;
    if (activity.kind == connectors::CrmActivity::Kind::task) activity.due_date = action.as_of;
    for (const core::dunning::ActionInvoice& line : action.invoices) {
      activity.invoice_ids.push_back(line.invoice_id);
    }
    return RenderOutcome{
        RenderedAction{std::string(crm_sink_name), {action.idempotency_key, std::move(activity)}},
        std::nullopt};
  }

  connectors::EmailMessage email;
  email.from = settings.email_from;
  email.reply_to = settings.email_reply_to;
  email.to = std::move(recipients);
  email.subject = message.subject;
  email.text = message.text;
  email.html = message.html;
  email.date = action.at;
  return RenderOutcome{
      RenderedAction{settings.email_sink, {action.idempotency_key, std::move(email)}},
      std::nullopt};
}

}  // namespace relance::state
