#pragma once
// relance.yaml's engine and dunning sections made into what the engine and the dunning glue
// run on: policies (checked against the templates and calendars), templates, late-payment rate
// tables, business calendars, rendering settings. The daemon and `relanced simulate` load them
// the same way. Errors name the key and, through the loaders, the file and line.

#include <memory>

#include "config/config.hpp"
#include "core/engine/engine.hpp"
#include "state/dunning_glue.hpp"

namespace relance::state {

// engine.* -> EngineOptions; write_off_tolerance amounts are exact decimal strings per currency.
Result<core::engine::EngineOptions> engine_options(const config::EngineConfig& config);

// The template that payment-plan reminders use: shipped in config/templates/{fr,en}.
inline constexpr std::string_view instalment_template = core::dunning::default_instalment_template;

Result<std::shared_ptr<const DunningSetup>> load_dunning_setup(const config::Config& config);

}  // namespace relance::state
