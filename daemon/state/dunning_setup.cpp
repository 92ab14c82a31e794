#include "state/dunning_setup.hpp"

#include <algorithm>
#include <filesystem>

#include "core/dunning/calendar.hpp"
#include "core/dunning/policy.hpp"

namespace relance::state {

namespace fs = std::filesystem;

Result<core::engine::EngineOptions> engine_options(const config::EngineConfig& config) {
  core::engine::EngineOptions options;
  for (const auto& [currency, amount] : config.write_off_tolerance) {
    auto money = core::parse_money(amount, currency);
    if (!money) {
      return Error{"engine.write_off_tolerance." + currency,
                   "\"" + amount + "\": " + money.error().to_string()};
    }
    options.write_off_tolerance.push_back(*money);
  }
  options.promise_grace_days = config.promise_grace_days;
  options.instalment_grace_days = config.instalment_grace_days;
  return options;
}

namespace {

Result<std::vector<core::dunning::BusinessCalendar>> load_calendars(const std::string& directory) {
  std::vector<core::dunning::BusinessCalendar> calendars;
  if (directory.empty()) return calendars;
  std::vector<std::string> paths;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") {
      paths.push_back(entry.path().string());
    }
  }
  if (error) {
    return Error{"dunning.calendars_directory",
                 directory + ": cannot list the folder: " + error.message()};
  }
  std::sort(paths.begin(), paths.end());
  for (const std::string& path : paths) {
    auto calendar = core::dunning::load_calendar_file(path);
    if (!calendar) {
      return Error{"dunning.calendars_directory", path + ": " + calendar.error().to_string()};
    }
    calendars.push_back(std::move(calendar).value());
  }
  return calendars;
}

}  // namespace

Result<std::shared_ptr<const DunningSetup>> load_dunning_setup(const config::Config& config) {
  const config::DunningConfig& dunning = config.dunning;
  auto templates = core::dunning::TemplateSet::load(dunning.templates_directory);
  if (!templates) {
    return Error{"dunning.templates_directory",
                 dunning.templates_directory + ": " + templates.error().to_string()};
  }
  if (!templates->has(instalment_template)) {
    return Error{"dunning.templates_directory", dunning.templates_directory + ": no template '" +
                                                    std::string(instalment_template) +
                                                    "' (payment plan reminders)"};
  }
  auto calendars = load_calendars(dunning.calendars_directory);
  if (!calendars) return calendars.error();
  core::dunning::PolicyReferences references;
  references.templates = &*templates;
  for (const auto& calendar : *calendars) references.calendars.insert(calendar.name());
  auto policies = core::dunning::load_policies(dunning.policies_directory, references);
  if (!policies) {
    return Error{"dunning.policies_directory",
                 dunning.policies_directory + ": " + policies.error().to_string()};
  }
  auto rates = core::dunning::load_late_payment_rates(dunning.rates_directory);
  if (!rates) {
    return Error{"dunning.rates_directory",
                 dunning.rates_directory + ": " + rates.error().to_string()};
  }
  auto setup = std::make_shared<DunningSetup>(
      std::move(policies).value(), std::move(templates).value(), std::move(rates).value());
  setup->calendars = std::move(calendars).value();
  setup->scheduler.default_timezone = dunning.default_timezone;
  setup->scheduler.statement_soon_due_days = dunning.statement_soon_due_days;
  setup->retry_delay = dunning.retry_interval;
  setup->tick_interval = dunning.tick_interval;
  setup->scheduler.instalment_template = std::string(instalment_template);
  setup->render.company = {dunning.company_name, dunning.company_iban, dunning.company_bic,
                           dunning.company_email};
  setup->render.email_from = config.email.from;
  setup->render.email_reply_to = config.email.reply_to;
  setup->render.email_sink =
      config.email.sink == config::EmailSinkKind::smtp ? "email.smtp" : "email.file";
  setup->render.crm_enabled = config.crm.enabled;
  // The scheduler checks the time zone and the send window once, here, rather than at the
  // first event.
  auto scheduler =
      core::dunning::Scheduler::create(setup->policies, setup->calendars, setup->scheduler);
  if (!scheduler) return scheduler.error().within("dunning");
  return std::shared_ptr<const DunningSetup>(std::move(setup));
}

}  // namespace relance::state
