#include "vendor.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <set>

#include <leadpipe/events/cloud_event.hpp>

#include "api_schemas.hpp"
#include "phone.hpp"

namespace leadpipe::ingest::vendor {
namespace {

using rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
constexpr unsigned kParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
constexpr const char* kSchema = "vendor_lead";

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

const Value* member(const Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string str(const Value& obj, const char* name) {
  const Value* v = member(obj, name);
  return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

void put(Writer& w, const char* key, std::string_view v) {
  w.Key(key);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

// A trimmed optional string field: its value, or null when absent or blank.
void put_opt(Writer& w, const char* key, const Value& lead, const char* field) {
  w.Key(key);
  const std::string v = trim(str(lead, field));
  if (v.empty()) {
    w.Null();
  } else {
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
}

bool has_error(const Item& item, std::string_view field) {
  return std::any_of(item.errors.begin(), item.errors.end(),
                     [&](const http::FieldError& e) { return e.field == field; });
}

Item parse_item(const Value& lead, std::size_t index, const Context& ctx) {
  Item item;
  item.index = index;
  if (!lead.IsObject()) {
    item.errors.push_back({"", "a lead must be a JSON object"});
    return item;
  }
  item.vendor_lead_id = str(lead, "vendor_lead_id");
  for (const auto& name : unknown_properties(kSchema, lead)) {
    item.errors.push_back({name, "unknown field (put vendor-specific fields in \"extra\")"});
  }
  if (item.errors.empty()) {
    for (const auto& msg : api_schemas().validate(kSchema, lead)) {
      for (auto& e : schema_field_errors(msg)) item.errors.push_back(std::move(e));
    }
  }
  const std::string name = trim(str(lead, "name"));
  if (name.empty() && !has_error(item, "name")) item.errors.push_back({"name", "must not be blank"});

  // Phone: checked even when another field failed, so every reason is reported at once.
  std::string region = ctx.default_region;
  const std::string country = str(lead, "country");
  if (!country.empty()) {
    region = country;
    for (auto& c : region) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!phone::known_region(region) && !has_error(item, "country")) {
      item.errors.push_back({"country", "not a known ISO 3166-1 alpha-2 region"});
    }
  }
  const Value* raw_phone = member(lead, "phone");
  std::optional<phone::Normalised> normalised;
  if (raw_phone && raw_phone->IsString() && !has_error(item, "phone")) {
    normalised = phone::normalise(std::string_view(raw_phone->GetString(), raw_phone->GetStringLength()), region);
    if (!normalised) {
      item.errors.push_back(
          {"phone", "not a valid phone number" +
                        (region.empty() ? std::string(" (use the international +CC form)")
                                        : " for region " + region + " (use +CC form or a \"country\" hint)")});
    }
  }
  if (!item.errors.empty()) return item;

  item.status = Status::accepted;
  item.phone = normalised->e164;
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  put(w, "channel", "vendor");
  put(w, "vendor", ctx.vendor);
  put(w, "api_key_id", ctx.api_key_id);
  put(w, "vendor_lead_id", item.vendor_lead_id);
  put(w, "name", name);
  put(w, "phone", normalised->e164);
  put(w, "phone_raw", str(lead, "phone"));
  put(w, "region", normalised->region.size() == 2 ? normalised->region : region);
  {
    std::string email = trim(str(lead, "email"));
    for (auto& c : email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    w.Key("email");
    if (email.empty()) {
      w.Null();
    } else {
      w.String(email.c_str(), static_cast<rapidjson::SizeType>(email.size()));
    }
  }
  put_opt(w, "session_year", lead, "session_year");
  put_opt(w, "course", lead, "course");
  put_opt(w, "program", lead, "program");
  put_opt(w, "city", lead, "city");
  put_opt(w, "state", lead, "state");
  w.Key("utm");
  w.StartObject();
  for (const char* k : {"source", "medium", "campaign", "term", "content"}) {
    const std::string v = trim(str(lead, ("utm_" + std::string(k)).c_str()));
    if (!v.empty()) put(w, k, v);
  }
  w.EndObject();
  w.Key("extra");
  if (const Value* extra = member(lead, "extra"); extra && extra->IsObject()) {
    extra->Accept(w);  // depth already bounded by the schema validation
  } else {
    w.StartObject();
    w.EndObject();
  }
  put(w, "received_at", ctx.received_at);
  w.EndObject();
  item.event_data.assign(buf.GetString(), buf.GetSize());
  return item;
}

}  // namespace

std::string_view to_string(Status s) {
  switch (s) {
    case Status::accepted: return "accepted";
    case Status::duplicate: return "duplicate";
    case Status::rejected: return "rejected";
  }
  return "rejected";
}

std::size_t Batch::accepted() const {
  return static_cast<std::size_t>(std::count_if(items.begin(), items.end(),
                                                [](const Item& i) { return i.status == Status::accepted; }));
}
std::size_t Batch::rejected() const {
  return static_cast<std::size_t>(std::count_if(items.begin(), items.end(),
                                                [](const Item& i) { return i.status == Status::rejected; }));
}

Batch parse_batch(std::string_view body, const Context& ctx) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(body.data(), body.size());
  if (doc.HasParseError()) {
    throw BatchError("", std::string("body is not valid JSON (") +
                             rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                             std::to_string(doc.GetErrorOffset()) + ")");
  }
  if (!doc.IsObject()) throw BatchError("", "body must be one lead object or {\"leads\": [...]}");
  Batch out;
  const Value* leads = member(doc, "leads");
  if (!leads) {
    out.single = true;
    out.items.push_back(parse_item(doc, 0, ctx));
    return out;
  }
  if (doc.MemberCount() != 1) throw BatchError("", "a batch body has only the \"leads\" member");
  if (!leads->IsArray()) throw BatchError("leads", "must be an array of lead objects");
  if (leads->Empty()) throw BatchError("leads", "must hold at least one lead");
  if (leads->Size() > ctx.max_items) {
    throw BatchError("leads", "at most " + std::to_string(ctx.max_items) + " leads per request");
  }
  std::set<std::string> seen;
  out.items.reserve(leads->Size());
  for (rapidjson::SizeType i = 0; i < leads->Size(); ++i) {
    Item item = parse_item((*leads)[i], i, ctx);
    if (item.status == Status::accepted && !seen.insert(item.vendor_lead_id).second) {
      item.status = Status::duplicate;
      item.event_data.clear();
    }
    out.items.push_back(std::move(item));
  }
  return out;
}

std::string event_id(std::string_view tenant, std::string_view vendor, std::string_view vendor_lead_id) {
  std::string name = "ingest.vendor.lead/";
  name.append(tenant).append(":").append(vendor).append(":").append(vendor_lead_id);
  return events::uuid_v5(events::kNamespace, name);
}

std::string results_json(const Batch& batch, const std::vector<std::string>& event_ids) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  std::size_t duplicates = 0;
  for (const auto& i : batch.items) duplicates += i.status == Status::duplicate ? 1 : 0;
  w.StartObject();
  w.Key("accepted");
  w.Uint64(batch.accepted());
  w.Key("rejected");
  w.Uint64(batch.rejected());
  w.Key("duplicates");
  w.Uint64(duplicates);
  w.Key("results");
  w.StartArray();
  for (std::size_t n = 0; n < batch.items.size(); ++n) {
    const auto& i = batch.items[n];
    w.StartObject();
    w.Key("index");
    w.Uint64(i.index);
    w.Key("vendor_lead_id");
    if (i.vendor_lead_id.empty()) {
      w.Null();
    } else {
      w.String(i.vendor_lead_id.c_str(), static_cast<rapidjson::SizeType>(i.vendor_lead_id.size()));
    }
    put(w, "status", to_string(i.status));
    if (i.status != Status::rejected) {
      if (n < event_ids.size() && !event_ids[n].empty()) put(w, "event_id", event_ids[n]);
      put(w, "phone", i.phone);
    } else {
      w.Key("errors");
      w.StartArray();
      for (const auto& e : i.errors) {
        w.StartObject();
        put(w, "field", e.field);
        put(w, "message", e.message);
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace leadpipe::ingest::vendor
