#pragma once
// The Recheck the daemon uses: reads the receivables' documents (as of now) and drops an
// action when one of its invoices no longer calls for dunning (paid, disputed, promised, on a
// payment plan, cancelled, written off) or is not known. A customer statement listing an invoice
// paid since would be wrong as a whole: it is dropped, and the scheduler decides afresh from the
// current state. Alert notices (kafka.alerts_topic) are never dropped.

#include <optional>
#include <string>
#include <string_view>

#include "outbox/dispatcher.hpp"

namespace relance::outbox {

// The JSON document of a receivable (GET /v1/receivables/{id}), nullopt when it is not known:
// state::ViewsOnRead::receivable in the daemon.
using ReceivableView =
    std::function<Result<std::optional<std::string>>(std::string_view invoice_id)>;

Recheck recheck_from_views(ReceivableView read_view);

}  // namespace relance::outbox
