#include "core/event.hpp"

#include <algorithm>
#include <array>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <exception>
#include <new>

#include "core/event_json.hpp"

namespace relance::core {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, event_type_count> event_type_names = {
    "invoice.issued",     "invoice.updated",         "invoice.cancelled",   "invoice.written_off",
    "credit_note.issued", "payment.received",        "payment.reversed",    "dispute.opened",
    "dispute.resolved",   "promise_to_pay.recorded", "payment_plan.agreed", "customer.upserted",
};

// Limits on what one event may carry. The JSON Schemas in schemas/events/ state the same ones.
constexpr std::size_t identifier_chars_max = 256;  // ids, codes, references
constexpr std::size_t source_chars_max = 1024;     // CloudEvents source and subject
constexpr std::size_t text_chars_max = 4096;       // free text: reasons, remittance, names
constexpr std::size_t ids_items_max = 1000;        // invoice_ids, allocations, instalments
constexpr std::size_t emails_items_max = 50;
constexpr std::size_t language_chars_max = 35;
constexpr std::size_t timezone_chars_max = 64;

constexpr std::string_view json_media_type = "application/json";

std::size_t utf8_chars(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

bool has_control_char(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string quoted(std::string_view text) {
  constexpr std::size_t shown_chars_max = 60;
  if (text.size() > shown_chars_max)
    return "\"" + std::string(text.substr(0, shown_chars_max)) + "...\"";
  return "\"" + std::string(text) + "\"";
}

enum class Presence { required, optional };
enum class Zero { refused, allowed };
enum class TextKind { identifier, uri, free_text };

// Reads fields of the JSON tree into the event structs and keeps the first error, located from
// the envelope root ("data.allocations[1].amount.currency"). After a failure every read returns
// a default value, so that callers check once at the end.
class Reader {
 public:
  bool failed() const { return failed_; }
  Error take_error() { return std::move(error_); }

  void fail(std::string_view key, std::string message) {
    if (failed_) return;
    failed_ = true;
    std::string field = path_;
    if (!key.empty()) {
      if (!field.empty()) field += '.';
      field += key;
    }
    error_ = Error{std::move(field), std::move(message)};
  }

  // Enters a member or an array element for the lifetime of the returned guard.
  class Scope {
   public:
    Scope(std::string& path, std::size_t length) : path_(path), length_(length) {}
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope() { path_.resize(length_); }

   private:
    std::string& path_;
    std::size_t length_;
  };
  [[nodiscard]] Scope enter(std::string_view key) {
    const std::size_t length = path_.size();
    if (!path_.empty()) path_ += '.';
    path_ += key;
    return Scope(path_, length);
  }
  [[nodiscard]] Scope enter_index(std::size_t index) {
    const std::size_t length = path_.size();
    path_ += '[';
    path_ += std::to_string(index);
    path_ += ']';
    return Scope(path_, length);
  }

  // A member, or nullptr when absent or null (JSON null means "not given").
  static const json::value* member(const json::object& object, std::string_view key) {
    const json::value* value = object.if_contains(key);
    return value == nullptr || value->is_null() ? nullptr : value;
  }

  std::optional<std::string> text(const json::object& object, std::string_view key,
                                  Presence presence, TextKind kind = TextKind::identifier) {
    if (failed_) return std::nullopt;
    const json::value* value = member(object, key);
    if (value == nullptr) {
      if (presence == Presence::required) fail(key, "is required");
      return std::nullopt;
    }
    const json::string* string = value->if_string();
    if (string == nullptr) {
      fail(key, "must be a string, not " + std::string(detail::json_kind_name(*value)));
      return std::nullopt;
    }
    const std::string_view view(*string);
    if (view.empty()) {
      fail(key, "must not be empty");
      return std::nullopt;
    }
    const std::size_t chars_max = kind == TextKind::identifier ? identifier_chars_max
                                  : kind == TextKind::uri      ? source_chars_max
                                                               : text_chars_max;
    if (utf8_chars(view) > chars_max) {
      fail(key, "is longer than " + std::to_string(chars_max) + " characters");
      return std::nullopt;
    }
    if (kind != TextKind::free_text) {
      if (has_control_char(view)) {
        fail(key, "must not contain control characters (tabs, line breaks...)");
        return std::nullopt;
      }
      if (kind == TextKind::identifier && (view.front() == ' ' || view.back() == ' ')) {
        fail(key, quoted(view) + " has leading or trailing spaces");
        return std::nullopt;
      }
    }
    return std::string(view);
  }

  std::string required_text(const json::object& object, std::string_view key,
                            TextKind kind = TextKind::identifier) {
    auto value = text(object, key, Presence::required, kind);
    return value ? std::move(*value) : std::string();
  }

  std::optional<Date> date(const json::object& object, std::string_view key, Presence presence) {
    if (failed_) return std::nullopt;
    const json::value* value = member(object, key);
    if (value == nullptr) {
      if (presence == Presence::required) fail(key, "is required");
      return std::nullopt;
    }
    const json::string* string = value->if_string();
    if (string == nullptr) {
      fail(key, "must be a date string \"YYYY-MM-DD\", not " +
                    std::string(detail::json_kind_name(*value)));
      return std::nullopt;
    }
    auto parsed = parse_date(std::string_view(*string));
    if (!parsed) {
      fail(key, parsed.error().message);
      return std::nullopt;
    }
    return *parsed;
  }

  Date required_date(const json::object& object, std::string_view key) {
    return date(object, key, Presence::required).value_or(Date{});
  }

  std::optional<Money> money(const json::object& object, std::string_view key, Presence presence,
                             Zero zero = Zero::refused) {
    if (failed_) return std::nullopt;
    const json::value* value = member(object, key);
    if (value == nullptr) {
      if (presence == Presence::required) fail(key, "is required");
      return std::nullopt;
    }
    const json::object* money_object = value->if_object();
    if (money_object == nullptr) {
      fail(key, "must be an object {\"amount\": \"1234.56\", \"currency\": \"EUR\"}, not " +
                    std::string(detail::json_kind_name(*value)));
      return std::nullopt;
    }
    auto scope = enter(key);
    const json::value* amount = member(*money_object, "amount");
    if (amount == nullptr) {
      fail("amount", "is required");
      return std::nullopt;
    }
    if (!amount->is_string()) {
      fail("amount", "must be a decimal string (e.g. \"1234.56\"), not " +
                         std::string(detail::json_kind_name(*amount)));
      return std::nullopt;
    }
    const json::value* code = member(*money_object, "currency");
    if (code == nullptr) {
      fail("currency", "is required");
      return std::nullopt;
    }
    if (!code->is_string()) {
      fail("currency", "must be an ISO 4217 code string (e.g. \"EUR\"), not " +
                           std::string(detail::json_kind_name(*code)));
      return std::nullopt;
    }
    auto currency = Currency::from_code(std::string_view(code->get_string()));
    if (!currency) {
      fail("currency", currency.error().message);
      return std::nullopt;
    }
    auto parsed = parse_money(std::string_view(amount->get_string()), *currency);
    if (!parsed) {
      fail("amount", parsed.error().message);
      return std::nullopt;
    }
    if (zero == Zero::refused && parsed->minor_units == 0) {
      fail("amount", "must be greater than zero");
      return std::nullopt;
    }
    return *parsed;
  }

  Money required_money(const json::object& object, std::string_view key) {
    return money(object, key, Presence::required).value_or(Money{});
  }

  // A currency that must agree with one read before ("allocations vs amount").
  void same_currency(const Money& money, const Money& reference, std::string_view key,
                     std::string_view reference_name) {
    if (failed_ || money.currency == reference.currency) return;
    auto scope = enter(key);
    fail("currency", std::string(money.currency.code()) + " differs from " +
                         std::string(reference_name) + " currency " +
                         std::string(reference.currency.code()) +
                         "; all amounts of one event are in one currency");
  }

  std::optional<std::int64_t> version(const json::object& object, std::string_view key) {
    if (failed_) return std::nullopt;
    const json::value* value = member(object, key);
    if (value == nullptr) return std::nullopt;
    if (const auto* number = value->if_int64()) {
      if (*number < 0) {
        fail(key, "must be an integer >= 0");
        return std::nullopt;
      }
      return *number;
    }
    if (value->is_uint64()) {
      fail(key, "is larger than the largest version (2^63 - 1)");
      return std::nullopt;
    }
    // JSON has one number type: 3.0 is the integer 3, as JSON Schema's "integer" reads it.
    if (const auto* number = value->if_double();
        number != nullptr && std::trunc(*number) == *number) {
      if (*number < 0) {
        fail(key, "must be an integer >= 0");
        return std::nullopt;
      }
      if (*number >= 9223372036854775808.0) {
        fail(key, "is larger than the largest version (2^63 - 1)");
        return std::nullopt;
      }
      return static_cast<std::int64_t>(*number);
    }
    fail(key, "must be an integer >= 0, not " + std::string(detail::json_kind_name(*value)));
    return std::nullopt;
  }

  // An array member, or nullptr (with an error when it is required or of the wrong kind).
  const json::array* array(const json::object& object, std::string_view key, Presence presence,
                           std::size_t items_max) {
    if (failed_) return nullptr;
    const json::value* value = member(object, key);
    if (value == nullptr) {
      if (presence == Presence::required) fail(key, "is required");
      return nullptr;
    }
    const json::array* items = value->if_array();
    if (items == nullptr) {
      fail(key, "must be an array, not " + std::string(detail::json_kind_name(*value)));
      return nullptr;
    }
    if (items->size() > items_max) {
      fail(key, "has more than " + std::to_string(items_max) + " items");
      return nullptr;
    }
    return items;
  }

  // An element of an array of objects, or nullptr with an error located at the element.
  const json::object* element_object(const json::value& element) {
    const json::object* object = element.if_object();
    if (object == nullptr) {
      fail("", "must be an object, not " + std::string(detail::json_kind_name(element)));
    }
    return object;
  }

  // A list of distinct identifiers ("invoice_ids"); empty when absent.
  std::vector<std::string> identifiers(const json::object& object, std::string_view key,
                                       Presence presence) {
    std::vector<std::string> ids;
    const json::array* items = array(object, key, presence, ids_items_max);
    if (items == nullptr) return ids;
    ids.reserve(items->size());
    auto scope = enter(key);
    for (std::size_t i = 0; i < items->size() && !failed_; ++i) {
      auto element = enter_index(i);
      const json::value& item = (*items)[i];
      if (!item.is_string()) {
        fail("", "must be a string, not " + std::string(detail::json_kind_name(item)));
        break;
      }
      const std::string_view view(item.get_string());
      if (view.empty() || utf8_chars(view) > identifier_chars_max || has_control_char(view) ||
          view.front() == ' ' || view.back() == ' ') {
        fail("", quoted(view) + " is not an identifier (1 to " +
                     std::to_string(identifier_chars_max) +
                     " characters, no control characters or surrounding spaces)");
        break;
      }
      if (std::find(ids.begin(), ids.end(), view) != ids.end()) {
        fail("", quoted(view) + " is listed twice");
        break;
      }
      ids.emplace_back(view);
    }
    return ids;
  }

 private:
  std::string path_;
  Error error_;
  bool failed_ = false;
};

InvoiceData read_invoice(Reader& r, const json::object& d) {
  InvoiceData data;
  data.invoice_id = r.required_text(d, "invoice_id");
  data.customer_id = r.required_text(d, "customer_id");
  data.amount = r.required_money(d, "amount");
  data.issue_date = r.required_date(d, "issue_date");
  data.due_date = r.required_date(d, "due_date");
  data.number = r.text(d, "number", Presence::optional);
  data.payment_terms = r.text(d, "payment_terms", Presence::optional, TextKind::free_text);
  data.purchase_order = r.text(d, "purchase_order", Presence::optional);
  data.version = r.version(d, "version");
  if (!r.failed() && data.due_date < data.issue_date) {
    r.fail("due_date",
           format_date(data.due_date) + " is before issue_date " + format_date(data.issue_date));
  }
  return data;
}

InvoiceCancelled read_invoice_cancelled(Reader& r, const json::object& d) {
  InvoiceCancelled data;
  data.invoice_id = r.required_text(d, "invoice_id");
  data.reason = r.text(d, "reason", Presence::optional, TextKind::free_text);
  data.version = r.version(d, "version");
  return data;
}

InvoiceWrittenOff read_invoice_written_off(Reader& r, const json::object& d) {
  InvoiceWrittenOff data;
  data.invoice_id = r.required_text(d, "invoice_id");
  data.amount = r.money(d, "amount", Presence::optional);
  data.reason = r.text(d, "reason", Presence::optional, TextKind::free_text);
  return data;
}

CreditNoteIssued read_credit_note(Reader& r, const json::object& d) {
  CreditNoteIssued data;
  data.credit_note_id = r.required_text(d, "credit_note_id");
  data.customer_id = r.required_text(d, "customer_id");
  data.amount = r.required_money(d, "amount");
  data.issue_date = r.required_date(d, "issue_date");
  data.invoice_id = r.text(d, "invoice_id", Presence::optional);
  return data;
}

PaymentReceived read_payment(Reader& r, const json::object& d) {
  PaymentReceived data;
  data.payment_id = r.required_text(d, "payment_id");
  data.amount = r.required_money(d, "amount");
  data.received_date = r.required_date(d, "received_date");
  data.customer_id = r.text(d, "customer_id", Presence::optional);
  if (const json::array* items = r.array(d, "allocations", Presence::optional, ids_items_max)) {
    data.allocations.reserve(items->size());
    auto scope = r.enter("allocations");
    std::int64_t allocated = 0;
    for (std::size_t i = 0; i < items->size() && !r.failed(); ++i) {
      auto element = r.enter_index(i);
      const json::object* item = r.element_object((*items)[i]);
      if (item == nullptr) break;
      Allocation allocation;
      allocation.invoice_id = r.required_text(*item, "invoice_id");
      allocation.amount = r.required_money(*item, "amount");
      r.same_currency(allocation.amount, data.amount, "amount", "the payment's");
      if (r.failed()) break;
      // allocated <= data.amount holds here, so the subtraction cannot overflow.
      if (allocation.amount.minor_units > data.amount.minor_units - allocated) {
        r.fail("amount", "the allocations add up to more than the payment amount " +
                             format_decimal(data.amount) + " " +
                             std::string(data.amount.currency.code()));
        break;
      }
      allocated += allocation.amount.minor_units;
      data.allocations.push_back(std::move(allocation));
    }
  }
  data.remittance_info = r.text(d, "remittance_info", Presence::optional, TextKind::free_text);
  data.structured_reference = r.text(d, "structured_reference", Presence::optional);
  data.method = r.text(d, "method", Presence::optional);
  return data;
}

PaymentReversed read_payment_reversed(Reader& r, const json::object& d) {
  PaymentReversed data;
  data.payment_id = r.required_text(d, "payment_id");
  data.reversed_date = r.required_date(d, "reversed_date");
  data.reason = r.text(d, "reason", Presence::optional, TextKind::free_text);
  return data;
}

DisputeOpened read_dispute_opened(Reader& r, const json::object& d) {
  DisputeOpened data;
  data.invoice_id = r.required_text(d, "invoice_id");
  data.reason = r.required_text(d, "reason", TextKind::free_text);
  data.dispute_id = r.text(d, "dispute_id", Presence::optional);
  data.amount = r.money(d, "amount", Presence::optional);
  return data;
}

DisputeResolved read_dispute_resolved(Reader& r, const json::object& d) {
  DisputeResolved data;
  data.invoice_id = r.required_text(d, "invoice_id");
  data.dispute_id = r.text(d, "dispute_id", Presence::optional);
  data.resolution = r.text(d, "resolution", Presence::optional, TextKind::free_text);
  return data;
}

PromiseToPayRecorded read_promise(Reader& r, const json::object& d) {
  PromiseToPayRecorded data;
  data.invoice_ids = r.identifiers(d, "invoice_ids", Presence::optional);
  data.customer_id = r.text(d, "customer_id", Presence::optional);
  if (!r.failed() && data.invoice_ids.empty() && !data.customer_id) {
    r.fail("invoice_ids",
           "a promise needs invoice_ids (at least one) or a customer_id, and has neither");
  }
  data.amount = r.required_money(d, "amount");
  data.promised_date = r.required_date(d, "promised_date");
  data.promise_id = r.text(d, "promise_id", Presence::optional);
  return data;
}

PaymentPlanAgreed read_payment_plan(Reader& r, const json::object& d) {
  PaymentPlanAgreed data;
  data.plan_id = r.required_text(d, "plan_id");
  data.invoice_ids = r.identifiers(d, "invoice_ids", Presence::required);
  if (!r.failed() && data.invoice_ids.empty()) {
    r.fail("invoice_ids", "must list at least one invoice");
  }
  const json::array* items = r.array(d, "instalments", Presence::required, ids_items_max);
  if (items != nullptr && items->empty())
    r.fail("instalments", "must list at least one instalment");
  if (items != nullptr && !r.failed()) {
    data.instalments.reserve(items->size());
    auto scope = r.enter("instalments");
    for (std::size_t i = 0; i < items->size() && !r.failed(); ++i) {
      auto element = r.enter_index(i);
      const json::object* item = r.element_object((*items)[i]);
      if (item == nullptr) break;
      Instalment instalment;
      instalment.due_date = r.required_date(*item, "due_date");
      instalment.amount = r.required_money(*item, "amount");
      if (r.failed()) break;
      if (!data.instalments.empty()) {
        const Instalment& previous = data.instalments.back();
        r.same_currency(instalment.amount, previous.amount, "amount", "the first instalment's");
        if (!r.failed() && instalment.due_date < previous.due_date) {
          r.fail("due_date",
                 format_date(instalment.due_date) + " is before the previous instalment's " +
                     format_date(previous.due_date) + "; list instalments in due-date order");
        }
      }
      data.instalments.push_back(instalment);
    }
  }
  return data;
}

bool is_email(std::string_view text) {
  const std::size_t at = text.find('@');
  if (at == std::string_view::npos || at == 0 || text.find('@', at + 1) != std::string_view::npos)
    return false;
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
    return false;
  const std::string_view domain = text.substr(at + 1);
  const std::size_t dot = domain.find('.', 1);
  return dot != std::string_view::npos && dot + 1 < domain.size();
}

// BCP 47 shape: a 2-3 letter language, then subtags of 1-8 letters or digits ("fr", "en-GB").
bool is_language_tag(std::string_view text) {
  std::size_t primary = 0;
  while (primary < text.size() && text[primary] != '-') {
    const char c = text[primary];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
    ++primary;
  }
  if (primary < 2 || primary > 3) return false;
  std::size_t at = primary;
  while (at < text.size()) {
    ++at;  // the '-'
    const std::size_t start = at;
    while (at < text.size() && text[at] != '-') {
      if (!is_ascii_alnum(text[at])) return false;
      ++at;
    }
    if (at - start < 1 || at - start > 8) return false;
  }
  return true;
}

// IANA zone name shape ("Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+1", "UTC").
// Whether the zone exists is checked where the tz database is loaded, not here.
bool is_timezone_name(std::string_view text) {
  if (text.empty() || !((text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z')))
    return false;
  char previous = '\0';
  for (char c : text) {
    const bool allowed = is_ascii_alnum(c) || c == '_' || c == '+' || c == '-' || c == '/';
    if (!allowed || (c == '/' && previous == '/')) return false;
    previous = c;
  }
  return text.back() != '/';
}

CustomerUpserted read_customer(Reader& r, const json::object& d) {
  CustomerUpserted data;
  data.customer_id = r.required_text(d, "customer_id");
  data.name = r.required_text(d, "name", TextKind::free_text);
  if (const json::array* items = r.array(d, "emails", Presence::optional, emails_items_max)) {
    auto scope = r.enter("emails");
    data.emails.reserve(items->size());
    for (std::size_t i = 0; i < items->size() && !r.failed(); ++i) {
      auto element = r.enter_index(i);
      const json::value& item = (*items)[i];
      if (!item.is_string()) {
        r.fail("", "must be a string, not " + std::string(detail::json_kind_name(item)));
        break;
      }
      const std::string_view email(item.get_string());
      if (utf8_chars(email) > identifier_chars_max || !is_email(email)) {
        r.fail("", quoted(email) + " is not an email address");
        break;
      }
      if (std::find(data.emails.begin(), data.emails.end(), email) != data.emails.end()) {
        r.fail("", quoted(email) + " is listed twice");
        break;
      }
      data.emails.emplace_back(email);
    }
  }
  data.language = r.text(d, "language", Presence::optional);
  if (!r.failed() && data.language &&
      (data.language->size() > language_chars_max || !is_language_tag(*data.language))) {
    r.fail("language", quoted(*data.language) +
                           " is not a BCP 47 language tag (e.g. \"fr\", "
                           "\"en-GB\")");
  }
  data.timezone = r.text(d, "timezone", Presence::optional);
  if (!r.failed() && data.timezone &&
      (data.timezone->size() > timezone_chars_max || !is_timezone_name(*data.timezone))) {
    r.fail("timezone",
           quoted(*data.timezone) + " is not an IANA time zone name (e.g. \"Europe/Paris\")");
  }
  data.segment = r.text(d, "segment", Presence::optional);
  data.crm_id = r.text(d, "crm_id", Presence::optional);
  data.credit_limit = r.money(d, "credit_limit", Presence::optional, Zero::allowed);
  return data;
}

EventData read_data(Reader& r, EventType type, const json::object& d) {
  switch (type) {
    case EventType::invoice_issued:
    case EventType::invoice_updated:
      return read_invoice(r, d);
    case EventType::invoice_cancelled:
      return read_invoice_cancelled(r, d);
    case EventType::invoice_written_off:
      return read_invoice_written_off(r, d);
    case EventType::credit_note_issued:
      return read_credit_note(r, d);
    case EventType::payment_received:
      return read_payment(r, d);
    case EventType::payment_reversed:
      return read_payment_reversed(r, d);
    case EventType::dispute_opened:
      return read_dispute_opened(r, d);
    case EventType::dispute_resolved:
      return read_dispute_resolved(r, d);
    case EventType::promise_to_pay_recorded:
      return read_promise(r, d);
    case EventType::payment_plan_agreed:
      return read_payment_plan(r, d);
    case EventType::customer_upserted:
      return read_customer(r, d);
  }
  RELANCE_ASSERT(!"unhandled EventType");
  return InvoiceData{};
}

std::string type_list() {
  std::string list;
  for (std::string_view name : event_type_names) {
    if (!list.empty()) list += ", ";
    list += name;
  }
  return list;
}

// Validates one envelope; `value` lives in the caller's arena.
Result<Event> read_event(const json::value& value) {
  const json::object* envelope = value.if_object();
  if (envelope == nullptr) {
    return Error{
        "", "an event must be a JSON object, not " + std::string(detail::json_kind_name(value))};
  }
  Reader r;
  Event event;

  const json::value* spec = envelope->if_contains("specversion");
  if (spec == nullptr || spec->is_null()) {
    r.fail("specversion", "is required and must be \"1.0\"");
  } else if (!spec->is_string() || spec->get_string() != "1.0") {
    r.fail("specversion", "must be \"1.0\" (CloudEvents 1.0), not " +
                              (spec->is_string() ? quoted(spec->get_string())
                                                 : std::string(detail::json_kind_name(*spec))));
  }
  event.id = r.required_text(*envelope, "id");
  event.source = r.required_text(*envelope, "source", TextKind::uri);
  const auto type_name = r.text(*envelope, "type", Presence::required, TextKind::uri);
  if (type_name) {
    const auto type = event_type_from_name(*type_name);
    if (!type) {
      r.fail("type", quoted(*type_name) + " is not a canonical event type (" + type_list() + ")");
    } else {
      event.type = *type;
    }
  }
  if (!r.failed()) {
    if (const json::value* media = Reader::member(*envelope, "datacontenttype")) {
      const json::string* text = media->if_string();
      const std::string_view view = text != nullptr ? std::string_view(*text) : std::string_view();
      const bool json_media =
          view.substr(0, json_media_type.size()) == json_media_type &&
          (view.size() == json_media_type.size() || view[json_media_type.size()] == ';');
      if (!json_media) {
        r.fail("datacontenttype",
               "must be \"application/json\" (data is a JSON object), not " +
                   (text != nullptr ? quoted(view) : std::string(detail::json_kind_name(*media))));
      }
    }
  }
  if (!r.failed() && envelope->contains("data_base64")) {
    r.fail("data_base64", "binary data is not accepted; send `data` as a JSON object");
  }
  if (const auto time = r.text(*envelope, "time", Presence::optional, TextKind::uri)) {
    auto instant = parse_timestamp(*time);
    if (instant) {
      event.time = *instant;
    } else {
      r.fail("time", instant.error().message);
    }
  }
  event.subject = r.text(*envelope, "subject", Presence::optional, TextKind::uri);
  (void)r.text(*envelope, "dataschema", Presence::optional, TextKind::uri);
  if (r.failed()) return r.take_error();

  const json::value* data = Reader::member(*envelope, "data");
  if (data == nullptr) return Error{"data", "is required (a JSON object)"};
  const json::object* data_object = data->if_object();
  if (data_object == nullptr) {
    return Error{"data",
                 "must be a JSON object, not " + std::string(detail::json_kind_name(*data))};
  }
  {
    auto scope = r.enter("data");
    event.data = read_data(r, event.type, *data_object);
  }
  if (r.failed()) return r.take_error();
  event.json = json::serialize(value);
  return event;
}

// Catches what Boost.JSON may throw (allocation failure, a string longer than it can hold) so
// that no exception leaves the parser.
template <class Function>
auto guarded(Function&& function) -> decltype(function()) {
  try {
    return function();
  } catch (const std::bad_alloc&) {
    return Error{"", "the event is too large to hold in memory"};
  } catch (const std::exception& e) {
    return Error{"", std::string("the event could not be read: ") + e.what()};
  }
}

json::object money_json(const Money& money, json::storage_ptr sp) {
  json::object object(sp);
  object.reserve(2);
  object.emplace("amount", format_decimal(money));
  object.emplace("currency", money.currency.code());
  return object;
}

struct DataEncoder {
  json::object& out;
  json::storage_ptr sp;

  void text(std::string_view key, const std::string& value) { out.emplace(key, value); }
  void text(std::string_view key, const std::optional<std::string>& value) {
    if (value) out.emplace(key, *value);
  }
  void date(std::string_view key, Date value) { out.emplace(key, format_date(value)); }
  void money(std::string_view key, const Money& value) { out.emplace(key, money_json(value, sp)); }
  void money(std::string_view key, const std::optional<Money>& value) {
    if (value) money(key, *value);
  }
  void version(std::string_view key, const std::optional<std::int64_t>& value) {
    if (value) out.emplace(key, *value);
  }
  void ids(std::string_view key, const std::vector<std::string>& values, Presence presence) {
    if (values.empty() && presence == Presence::optional) return;
    json::array array(sp);
    array.reserve(values.size());
    for (const auto& value : values) array.emplace_back(value);
    out.emplace(key, std::move(array));
  }

  void operator()(const InvoiceData& d) {
    text("invoice_id", d.invoice_id);
    text("customer_id", d.customer_id);
    money("amount", d.amount);
    date("issue_date", d.issue_date);
    date("due_date", d.due_date);
    text("number", d.number);
    text("payment_terms", d.payment_terms);
    text("purchase_order", d.purchase_order);
    version("version", d.version);
  }
  void operator()(const InvoiceCancelled& d) {
    text("invoice_id", d.invoice_id);
    text("reason", d.reason);
    version("version", d.version);
  }
  void operator()(const InvoiceWrittenOff& d) {
    text("invoice_id", d.invoice_id);
    money("amount", d.amount);
    text("reason", d.reason);
  }
  void operator()(const CreditNoteIssued& d) {
    text("credit_note_id", d.credit_note_id);
    text("customer_id", d.customer_id);
    money("amount", d.amount);
    date("issue_date", d.issue_date);
    text("invoice_id", d.invoice_id);
  }
  void operator()(const PaymentReceived& d) {
    text("payment_id", d.payment_id);
    money("amount", d.amount);
    date("received_date", d.received_date);
    text("customer_id", d.customer_id);
    if (!d.allocations.empty()) {
      json::array array(sp);
      for (const auto& allocation : d.allocations) {
        json::object item(sp);
        item.emplace("invoice_id", allocation.invoice_id);
        item.emplace("amount", money_json(allocation.amount, sp));
        array.emplace_back(std::move(item));
      }
      out.emplace("allocations", std::move(array));
    }
    text("remittance_info", d.remittance_info);
    text("structured_reference", d.structured_reference);
    text("method", d.method);
  }
  void operator()(const PaymentReversed& d) {
    text("payment_id", d.payment_id);
    date("reversed_date", d.reversed_date);
    text("reason", d.reason);
  }
  void operator()(const DisputeOpened& d) {
    text("invoice_id", d.invoice_id);
    text("reason", d.reason);
    text("dispute_id", d.dispute_id);
    money("amount", d.amount);
  }
  void operator()(const DisputeResolved& d) {
    text("invoice_id", d.invoice_id);
    text("dispute_id", d.dispute_id);
    text("resolution", d.resolution);
  }
  void operator()(const PromiseToPayRecorded& d) {
    ids("invoice_ids", d.invoice_ids, Presence::optional);
    text("customer_id", d.customer_id);
    money("amount", d.amount);
    date("promised_date", d.promised_date);
    text("promise_id", d.promise_id);
  }
  void operator()(const PaymentPlanAgreed& d) {
    text("plan_id", d.plan_id);
    ids("invoice_ids", d.invoice_ids, Presence::required);
    json::array array(sp);
    for (const auto& instalment : d.instalments) {
      json::object item(sp);
      item.emplace("due_date", format_date(instalment.due_date));
      item.emplace("amount", money_json(instalment.amount, sp));
      array.emplace_back(std::move(item));
    }
    out.emplace("instalments", std::move(array));
  }
  void operator()(const CustomerUpserted& d) {
    text("customer_id", d.customer_id);
    text("name", d.name);
    ids("emails", d.emails, Presence::optional);
    text("language", d.language);
    text("timezone", d.timezone);
    text("segment", d.segment);
    text("crm_id", d.crm_id);
    money("credit_limit", d.credit_limit);
  }
};

// The EventData alternative each type carries.
std::size_t data_index(EventType type) {
  switch (type) {
    case EventType::invoice_issued:
    case EventType::invoice_updated:
      return 0;
    case EventType::invoice_cancelled:
      return 1;
    case EventType::invoice_written_off:
      return 2;
    case EventType::credit_note_issued:
      return 3;
    case EventType::payment_received:
      return 4;
    case EventType::payment_reversed:
      return 5;
    case EventType::dispute_opened:
      return 6;
    case EventType::dispute_resolved:
      return 7;
    case EventType::promise_to_pay_recorded:
      return 8;
    case EventType::payment_plan_agreed:
      return 9;
    case EventType::customer_upserted:
      return 10;
  }
  RELANCE_ASSERT(!"unhandled EventType");
  return 0;
}

}  // namespace

std::string_view event_type_name(EventType type) {
  const auto index = static_cast<std::size_t>(type);
  RELANCE_ASSERT(index < event_type_names.size());
  return event_type_names[index];
}

std::optional<EventType> event_type_from_name(std::string_view name) {
  for (std::size_t i = 0; i < event_type_names.size(); ++i) {
    if (event_type_names[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

Result<Event> parse_event(std::string_view json_text) {
  return guarded([&]() -> Result<Event> {
    // One arena for the whole tree: a typical event fits in the stack buffer.
    unsigned char buffer[4096];
    json::monotonic_resource arena(buffer, sizeof buffer);
    auto value = detail::parse_json_strict(json_text, &arena);
    if (!value) return value.error();
    return read_event(*value);
  });
}

Result<std::vector<Event>> parse_event_batch(std::string_view json_text) {
  return guarded([&]() -> Result<std::vector<Event>> {
    unsigned char buffer[8192];
    json::monotonic_resource arena(buffer, sizeof buffer);
    auto value = detail::parse_json_strict(json_text, &arena, detail::json_depth_max + 1);
    if (!value) return value.error();
    const json::array* items = value->if_array();
    if (items == nullptr) {
      return Error{"", "a batch must be a JSON array of events, not " +
                           std::string(detail::json_kind_name(*value))};
    }
    if (items->empty()) return Error{"", "a batch must contain at least one event"};
    std::vector<Event> events;
    events.reserve(items->size());
    for (std::size_t i = 0; i < items->size(); ++i) {
      auto event = read_event((*items)[i]);
      if (!event) return event.error().within("[" + std::to_string(i) + "]");
      events.push_back(std::move(*event));
    }
    return events;
  });
}

void encode_event(Event& event) {
  RELANCE_ASSERT(event.data.index() == data_index(event.type));
  unsigned char buffer[4096];
  json::monotonic_resource arena(buffer, sizeof buffer);
  json::storage_ptr sp(&arena);
  json::object envelope(sp);
  envelope.reserve(8);
  envelope.emplace("specversion", "1.0");
  envelope.emplace("id", event.id);
  envelope.emplace("source", event.source);
  envelope.emplace("type", event_type_name(event.type));
  if (event.time) envelope.emplace("time", format_timestamp(*event.time));
  if (event.subject) envelope.emplace("subject", *event.subject);
  envelope.emplace("datacontenttype", json_media_type);
  json::object data(sp);
  std::visit(DataEncoder{data, sp}, event.data);
  envelope.emplace("data", std::move(data));
  event.json = json::serialize(envelope);
}

}  // namespace relance::core
