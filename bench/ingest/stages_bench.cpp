// ingest-stages-bench <webhook.json> [iterations] [stage]
//
// Times, on one core and in a tight loop, each stage the gateway runs for a
// signed WhatsApp webhook between reading the body and handing the events to
// librdkafka: the signature check, the parse, the event data, the event id,
// the envelope. Prints nanoseconds per webhook for each stage and for the
// whole chain, so a change to one stage is measured without the network, the
// broker or wrk (whose noise hides a few microseconds in bench/ingest/run.sh).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>

#include "handlers.hpp"
#include "hmac_key.hpp"
#include "publish.hpp"
#include "whatsapp.hpp"

using namespace leadpipe;
using namespace leadpipe::ingest;

namespace {

// Keeps the optimiser from dropping a result.
volatile std::size_t g_sink = 0;

// The best of five rounds: the machine's speed drifts, and the least
// disturbed round is the one that compares between builds.
double time_ns(std::size_t iterations, const std::function<void()>& fn) {
  for (std::size_t i = 0; i < iterations / 10 + 1; ++i) fn();  // warm-up
  double best = 0;
  for (int round = 0; round < 5; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < iterations / 5; ++i) fn();
    const auto t1 = std::chrono::steady_clock::now();
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(iterations / 5);
    if (round == 0 || ns < best) best = ns;
  }
  return best;
}

std::string compact(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  if (d.HasParseError()) throw std::runtime_error("sample is not JSON");
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  d.Accept(w);
  return {b.GetString(), b.GetSize()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <webhook.json> [iterations] [stage]\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string body = compact(ss.str());
  const std::size_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 200000;

  const std::string secret = "bench-app-secret";
  const HmacKey key(secret);
  const std::string signature = "sha256=" + key.mac_hex(body);
  const std::string tenant = "bench";
  const std::string topic(events::topics::ingest_whatsapp_inbound);

  const auto hook = whatsapp::parse_webhook(body);
  if (hook.messages.empty()) throw std::runtime_error("sample has no message");
  const auto& m = hook.messages.front();
  const std::string data = whatsapp::inbound_event_data(m);
  const std::string id = events::uuid_v5(events::kNamespace, tenant + ":whatsapp:" + m.message_id);

  // What the webhook handler runs between the body and librdkafka (handlers.cpp).
  const auto chain = [&] {
    if (!hub_signature_valid(key, body, signature)) std::abort();
    for (const auto& msg : whatsapp::parse_webhook(body).messages) {
      g_sink = g_sink + whatsapp_inbound_message(tenant, msg).value.size();
    }
  };

  struct Stage {
    const char* name;
    std::function<void()> fn;
  };
  const std::vector<Stage> stages = {
      {"signature", [&] { g_sink = g_sink + hub_signature_valid(key, body, signature); }},
      {"parse", [&] { g_sink = g_sink + whatsapp::parse_webhook(body).messages.size(); }},
      {"event_data", [&] { g_sink = g_sink + whatsapp::inbound_event_data(m).size(); }},
      {"event_id", [&] { g_sink = g_sink + events::uuid_v5(events::kNamespace, tenant + ":whatsapp:" + m.message_id).size(); }},
      {"envelope", [&] {
         auto ev = new_event(topic, "/ingest-gateway/whatsapp", tenant, m.wa_id, data, id);
         g_sink = g_sink + to_message(topic, std::move(ev), tenant + ":" + m.wa_id).value.size();
       }},
      {"chain", chain},
  };
  std::printf("%-12s %10s   (body %zu bytes, %zu iterations)\n", "stage", "ns/webhook", body.size(), n);
  const std::string only = argc > 3 ? argv[3] : "";  // one stage, e.g. under perf record
  for (const auto& s : stages)
    if (only.empty() || only == s.name) std::printf("%-12s %10.0f\n", s.name, time_ns(n, s.fn));
  return 0;
}
