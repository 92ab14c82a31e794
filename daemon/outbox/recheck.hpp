#pragma once
// The Recheck the daemon uses: reads the receivable views the writer committed and drops an
// action when one of its invoices no longer calls for dunning (paid, disputed, promised, on a
// payment plan, cancelled, written off) or is not known. A customer statement listing an invoice
// paid since would be wrong as a whole: it is dropped, and the scheduler decides afresh from the
// current state.

#include "outbox/dispatcher.hpp"
#include "store/store.hpp"

namespace relance::outbox {

// `store` must outlive the returned function.
Recheck recheck_from_views(store::Store& store);

}  // namespace relance::outbox
