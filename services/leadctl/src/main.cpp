// leadctl: the operator's command line. Every command reads the same
// environment variables as the services (deploy/local/dev.env for the dev stack).
//
//   leadctl token --tenant T --role R [--sub S] [--ttl SECONDS]
//   leadctl migrate [--all | --schema ingest|extraction|leads]
//   leadctl whatsapp map --phone-number-id ID --tenant T [--display NUMBER]
//   leadctl whatsapp list
//   leadctl topics create --file deploy/local/topics.txt [--partitions N]
//   leadctl topics delete --file FILE
//   leadctl vendor key create|revoke|list …
//   leadctl calls integration create|revoke|list …
//   leadctl campaign site set|list …
//   leadctl extractor config set|show …      (extractor_cmd.cpp)
#include <pqxx/pqxx>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <leadpipe/auth/crypto.hpp>
#include <leadpipe/auth/jwt.hpp>
#include <leadpipe/config/env.hpp>
#include <leadpipe/kafka/kafka.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>

#include "extractor_cmd.hpp"

extern char** environ;

using namespace leadpipe;

namespace {

constexpr const char* kUsage = R"(usage: leadctl <command> [options]

  token --tenant T --role R [--sub S] [--ttl SECONDS]
        Print a signed JWT for the CRM API (JWT_SECRET). Roles: counselor,
        marketing, sales_head, admission_admin, admin.
  migrate [--all | --schema ingest|extraction|leads]
        Apply the compiled-in migrations (INGEST_PG_URL, EXTRACTOR_PG_URL,
        LEADSTORE_PG_URL). Safe to run while services run (advisory lock).
  whatsapp map --phone-number-id ID --tenant T [--display NUMBER]
        Route a WhatsApp business number to a tenant (INGEST_PG_URL).
  whatsapp list
  vendor key create --tenant T --vendor V [--region CC] [--key KEY]
        Create a vendor lead API key (X-Api-Key) for tenant T and vendor V; prints
        the id and the key once (only its SHA-256 is stored). --region: default
        region for phones without a country code. --key imports a chosen key
        (e.g. VENDOR_DEMO_API_KEY of the dev stack; an existing one is kept).
  vendor key revoke --id ID
  vendor key list [--tenant T]
  calls integration create --tenant T --id ID [--provider P] [--secret S]
        Register a telephony / voice-AI platform that posts finished calls to
        POST /webhooks/calls; prints its signing secret once (or stores --secret,
        at least 32 characters).
  calls integration revoke --id ID
  calls integration list [--tenant T]
  campaign site set --tenant T --origins URL[,URL…] [--otp-template NAME] [--otp-language CODE]
        Enable the public campaign-form API (/api/v1/forms/T/…) for tenant T's
        website: CORS origins allowed to call it (e.g. https://www.example.edu)
        and the WhatsApp template outreach uses for OTPs.
  campaign site list
  extractor config set --tenant T [--region CC] [--language id|en|pt] [--programs-file F.json]
        [--scoring-file F.json] [--llm on|off] [--llm-budget N] [--prompting on|off]
        [--state-ttl-hours N] | [--file SETTINGS.json]
        Per-tenant contact-extractor settings (EXTRACTOR_PG_URL), merged onto the
        current ones: programs file = JSON array of names; scoring file = {"high_value":
        [...], "urgency": [...] …} added to the default keyword lists.
  extractor config show --tenant T
  topics create --file FILE [--partitions N]
        Create the topics listed in FILE (deploy/local/topics.txt format) on
        KAFKA_BROKERS, prefixed by KAFKA_TOPIC_PREFIX. Existing topics are kept.
  topics delete --file FILE
        Delete those topics and their data (benchmarks' and experiments' topics;
        missing ones are fine).

Configuration comes from the environment; when a variable is missing and
./deploy/local/dev.env exists, that dev file is read (and said so on stderr).
)";

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  bool flag(const std::string& name) const { return options.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
  std::string need(const std::string& name) const {
    auto it = options.find(name);
    if (it == options.end() || it->second.empty()) throw std::invalid_argument("missing --" + name);
    return it->second;
  }
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      std::string name = s.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        a.options[name.substr(0, eq)] = name.substr(eq + 1);
      } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        a.options[name] = argv[++i];
      } else {
        a.options[name] = "";
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

// Environment first; the dev file fills gaps so the README's commands work
// in a fresh shell.
config::Env load_env() {
  auto env = config::Env::from_process();
  const std::filesystem::path dev = "deploy/local/dev.env";
  if (!std::getenv("LEADPIPE_CONFIG_FILE") && std::filesystem::exists(dev)) {
    std::ifstream f(dev);
    std::stringstream ss;
    ss << f.rdbuf();
    auto values = config::parse_env_file(ss.str());
    for (char** e = environ; e && *e; ++e) {
      std::string kv(*e);
      if (auto eq = kv.find('='); eq != std::string::npos && eq + 1 < kv.size()) {
        values[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
    }
    return config::Env(std::move(values));
  }
  return env;
}

int cmd_token(const Args& a) {
  auto env = load_env();
  const auto secret = env.secret("JWT_SECRET", "HS256 key shared with lead-store");
  env.validate();
  auth::Principal p;
  p.tenant = a.need("tenant");
  auto role = auth::parse_role(a.need("role"));
  if (!role) throw std::invalid_argument("unknown --role (counselor, marketing, sales_head, admission_admin, admin)");
  p.role = *role;
  p.subject = a.get("sub", "dev-" + a.need("role"));
  const long ttl = std::stol(a.get("ttl", "86400"));
  std::cout << auth::issue_token(secret, p, std::chrono::seconds(ttl)) << "\n";
  return 0;
}

struct SchemaTarget {
  const char* schema;
  const char* url_var;
  const std::vector<embedded::File>& (*files)();
};
const SchemaTarget kSchemas[] = {
    {"ingest", "INGEST_PG_URL", &embedded::ingest_migrations},
    {"extraction", "EXTRACTOR_PG_URL", &embedded::extraction_migrations},
    {"leads", "LEADSTORE_PG_URL", &embedded::leads_migrations},
};

int cmd_migrate(const Args& a) {
  auto env = load_env();
  const std::string only = a.get("schema");
  std::vector<std::pair<const SchemaTarget*, std::string>> todo;
  for (const auto& s : kSchemas) {
    if (!only.empty() && only != s.schema) continue;
    todo.emplace_back(&s, env.required(s.url_var, std::string("connection string for schema ") + s.schema));
  }
  if (todo.empty()) throw std::invalid_argument("unknown --schema " + only);
  env.validate();
  for (const auto& [s, url] : todo) {
    auto applied = pg::migrate(url, s->schema, s->files(), log::root());
    std::cout << s->schema << ": " << applied.size() << " migration(s) applied\n";
  }
  return 0;
}

int cmd_whatsapp(const Args& a) {
  auto env = load_env();
  const auto url = env.required("INGEST_PG_URL", "ingest-gateway's database");
  env.validate();
  pqxx::connection c(url);
  const std::string sub = a.positional.size() > 1 ? a.positional[1] : "";
  if (sub == "map") {
    pqxx::work tx(c);
    tx.exec_params0(
        "INSERT INTO ingest.whatsapp_numbers (phone_number_id, tenant, display_phone_number) "
        "VALUES ($1, $2, NULLIF($3, '')) ON CONFLICT (phone_number_id) DO UPDATE "
        "SET tenant = EXCLUDED.tenant, display_phone_number = EXCLUDED.display_phone_number, updated_at = now()",
        a.need("phone-number-id"), a.need("tenant"), a.get("display"));
    tx.commit();
    std::cout << "mapped " << a.need("phone-number-id") << " -> " << a.need("tenant") << "\n";
    return 0;
  }
  if (sub == "list") {
    pqxx::read_transaction tx(c);
    for (const auto& row : tx.exec("SELECT phone_number_id, tenant, COALESCE(display_phone_number, '') "
                                   "FROM ingest.whatsapp_numbers ORDER BY tenant, phone_number_id")) {
      std::cout << row[0].as<std::string>() << "\t" << row[1].as<std::string>() << "\t"
                << row[2].as<std::string>() << "\n";
    }
    return 0;
  }
  throw std::invalid_argument("whatsapp: expected map or list");
}

int cmd_vendor(const Args& a) {
  if (a.positional.size() < 3 || a.positional[1] != "key") {
    throw std::invalid_argument("vendor: expected key create|revoke|list");
  }
  auto env = load_env();
  const auto url = env.required("INGEST_PG_URL", "ingest-gateway's database");
  env.validate();
  pqxx::connection c(url);
  const std::string& sub = a.positional[2];
  if (sub == "create") {
    const std::string tenant = a.need("tenant");
    const std::string vendor = a.need("vendor");
    std::string region = a.get("region");
    for (auto& ch : region) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (!region.empty() && (region.size() != 2 || !std::isalpha(static_cast<unsigned char>(region[0])) ||
                            !std::isalpha(static_cast<unsigned char>(region[1])))) {
      throw std::invalid_argument("--region must be an ISO 3166-1 alpha-2 code, e.g. IN");
    }
    const bool imported = a.flag("key");
    const std::string key = imported ? a.need("key") : "lpk_" + auth::base64url_encode(auth::random_bytes(24));
    if (key.size() < 16) throw std::invalid_argument("--key must be at least 16 characters");
    pqxx::work tx(c);
    auto r = tx.exec_params(
        "INSERT INTO ingest.vendor_api_keys (id, tenant, vendor, key_hash, key_prefix, default_region) "
        "VALUES (gen_random_uuid(), $1, $2, $3, $4, NULLIF($5, '')) ON CONFLICT (key_hash) DO NOTHING "
        "RETURNING id::text",
        tenant, vendor, auth::sha256_hex(key), key.substr(0, 12), region);
    tx.commit();
    if (r.empty()) {
      if (!imported) throw std::runtime_error("key collision; run again");
      std::cout << "key already present (unchanged)\n";
      return 0;
    }
    std::cout << "id\t" << r[0][0].as<std::string>() << "\n";
    if (!imported) std::cout << "key\t" << key << "\n(shown once: only its SHA-256 is stored)\n";
    return 0;
  }
  if (sub == "revoke") {
    pqxx::work tx(c);
    auto r = tx.exec_params(
        "UPDATE ingest.vendor_api_keys SET revoked_at = now() WHERE id::text = $1 AND revoked_at IS NULL "
        "RETURNING tenant, vendor",
        a.need("id"));
    tx.commit();
    if (r.empty()) throw std::runtime_error("no active key with id " + a.need("id"));
    std::cout << "revoked " << a.need("id") << " (" << r[0][0].as<std::string>() << "/"
              << r[0][1].as<std::string>() << "); gateways stop accepting it within INGEST_API_KEY_CACHE_TTL_S\n";
    return 0;
  }
  if (sub == "list") {
    pqxx::read_transaction tx(c);
    auto rows = tx.exec_params(
        "SELECT id::text, tenant, vendor, key_prefix, COALESCE(default_region, ''), "
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "CASE WHEN revoked_at IS NULL THEN 'active' ELSE 'revoked' END "
        "FROM ingest.vendor_api_keys WHERE ($1 = '' OR tenant = $1) ORDER BY tenant, vendor, created_at",
        a.get("tenant"));
    for (const auto& row : rows) {
      for (int i = 0; i < 7; ++i) std::cout << (i ? "\t" : "") << row[i].as<std::string>();
      std::cout << "\n";
    }
    return 0;
  }
  throw std::invalid_argument("vendor key: expected create, revoke or list");
}

int cmd_calls(const Args& a) {
  if (a.positional.size() < 3 || a.positional[1] != "integration") {
    throw std::invalid_argument("calls: expected integration create|revoke|list");
  }
  auto env = load_env();
  const auto url = env.required("INGEST_PG_URL", "ingest-gateway's database");
  env.validate();
  pqxx::connection c(url);
  const std::string& sub = a.positional[2];
  if (sub == "create") {
    const bool given = a.flag("secret");
    const std::string secret = given ? a.need("secret") : auth::to_hex(auth::random_bytes(32));
    if (secret.size() < 32) throw std::invalid_argument("--secret must be at least 32 characters");
    pqxx::work tx(c);
    tx.exec_params0(
        "INSERT INTO ingest.call_integrations (integration_id, tenant, provider, secret) "
        "VALUES ($1, $2, NULLIF($3, ''), $4)",
        a.need("id"), a.need("tenant"), a.get("provider"), secret);
    tx.commit();
    std::cout << "integration\t" << a.need("id") << "\n";
    if (!given) std::cout << "secret\t" << secret << "\n(shown once; sign \"<timestamp>.<body>\" with HMAC-SHA256)\n";
    return 0;
  }
  if (sub == "revoke") {
    pqxx::work tx(c);
    auto r = tx.exec_params(
        "UPDATE ingest.call_integrations SET revoked_at = now() WHERE integration_id = $1 AND revoked_at IS NULL "
        "RETURNING tenant",
        a.need("id"));
    tx.commit();
    if (r.empty()) throw std::runtime_error("no active integration " + a.need("id"));
    std::cout << "revoked " << a.need("id") << "\n";
    return 0;
  }
  if (sub == "list") {
    pqxx::read_transaction tx(c);
    auto rows = tx.exec_params(
        "SELECT integration_id, tenant, COALESCE(provider, ''), "
        "CASE WHEN revoked_at IS NULL THEN 'active' ELSE 'revoked' END "
        "FROM ingest.call_integrations WHERE ($1 = '' OR tenant = $1) ORDER BY tenant, integration_id",
        a.get("tenant"));
    for (const auto& row : rows) {
      for (int i = 0; i < 4; ++i) std::cout << (i ? "\t" : "") << row[i].as<std::string>();
      std::cout << "\n";
    }
    return 0;
  }
  throw std::invalid_argument("calls integration: expected create, revoke or list");
}

int cmd_campaign(const Args& a) {
  if (a.positional.size() < 3 || a.positional[1] != "site") {
    throw std::invalid_argument("campaign: expected site set|list");
  }
  auto env = load_env();
  const auto url = env.required("INGEST_PG_URL", "ingest-gateway's database");
  env.validate();
  pqxx::connection c(url);
  const std::string& sub = a.positional[2];
  if (sub == "set") {
    std::vector<std::string> origins;
    std::stringstream list(a.get("origins"));
    std::string origin;
    while (std::getline(list, origin, ',')) {
      if (origin.empty()) continue;
      if (origin.rfind("http://", 0) != 0 && origin.rfind("https://", 0) != 0) {
        throw std::invalid_argument("--origins: " + origin + " is not an http(s) origin");
      }
      while (!origin.empty() && origin.back() == '/') origin.pop_back();
      origins.push_back(origin);
    }
    std::string array = "{";
    for (std::size_t i = 0; i < origins.size(); ++i) array += (i ? "," : "") + ("\"" + origins[i] + "\"");
    array += "}";
    pqxx::work tx(c);
    tx.exec_params0(
        "INSERT INTO ingest.campaign_sites (tenant, allowed_origins, otp_template, otp_language) "
        "VALUES ($1, $2::text[], NULLIF($3, ''), NULLIF($4, '')) ON CONFLICT (tenant) DO UPDATE SET "
        "allowed_origins = EXCLUDED.allowed_origins, otp_template = EXCLUDED.otp_template, "
        "otp_language = EXCLUDED.otp_language, updated_at = now()",
        a.need("tenant"), array, a.get("otp-template"), a.get("otp-language"));
    tx.commit();
    std::cout << "campaign site for " << a.need("tenant") << ": " << origins.size() << " origin(s)\n";
    return 0;
  }
  if (sub == "list") {
    pqxx::read_transaction tx(c);
    for (const auto& row : tx.exec("SELECT tenant, array_to_string(allowed_origins, ','), "
                                   "COALESCE(otp_template, ''), COALESCE(otp_language, '') "
                                   "FROM ingest.campaign_sites ORDER BY tenant")) {
      for (int i = 0; i < 4; ++i) std::cout << (i ? "\t" : "") << row[i].as<std::string>();
      std::cout << "\n";
    }
    return 0;
  }
  throw std::invalid_argument("campaign site: expected set or list");
}

int cmd_topics(const Args& a) {
  const std::string sub = a.positional.size() >= 2 ? a.positional[1] : "";
  if (sub != "create" && sub != "delete") throw std::invalid_argument("topics: expected create or delete");
  auto env = load_env();
  kafka::ClientConfig client;
  client.brokers = env.required("KAFKA_BROKERS", "Kafka bootstrap servers");
  client.topic_prefix = env.string("KAFKA_TOPIC_PREFIX", "", "topic name prefix");
  client.client_id = "leadctl";
  env.validate();
  std::ifstream f(a.need("file"));
  if (!f) throw std::invalid_argument("cannot read " + a.need("file"));
  int partitions = 0;
  std::vector<std::string> topics;
  std::string line;
  while (std::getline(f, line)) {
    line.erase(0, line.find_first_not_of(" \t"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("PARTITIONS=", 0) == 0) {
      partitions = std::stoi(line.substr(11));
    } else {
      topics.push_back(line);
    }
  }
  if (sub == "delete") {
    kafka::delete_topics(client, topics);
    std::cout << topics.size() << " topic(s) absent\n";
    return 0;
  }
  if (a.flag("partitions")) partitions = std::stoi(a.need("partitions"));
  if (partitions < 1) throw std::invalid_argument("no PARTITIONS= line in the file and no --partitions");
  kafka::create_topics(client, topics, partitions);
  std::cout << topics.size() << " topic(s) present with " << partitions << " partition(s)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  log::init("leadctl", log::Level::warn);
  const auto args = parse_args(argc, argv);
  if (args.positional.empty() || args.flag("help")) {
    std::cerr << kUsage;
    return args.flag("help") ? 0 : 2;
  }
  const auto& cmd = args.positional[0];
  try {
    if (cmd == "token") return cmd_token(args);
    if (cmd == "migrate") return cmd_migrate(args);
    if (cmd == "whatsapp") return cmd_whatsapp(args);
    if (cmd == "topics") return cmd_topics(args);
    if (cmd == "vendor") return cmd_vendor(args);
    if (cmd == "calls") return cmd_calls(args);
    if (cmd == "campaign") return cmd_campaign(args);
    if (cmd == "extractor") {
      auto env = load_env();
      const auto url = env.required("EXTRACTOR_PG_URL", "contact-extractor's database");
      env.validate();
      return leadctl::cmd_extractor(args.positional, args.options, url);
    }
    std::cerr << "leadctl: unknown command '" << cmd << "'\n\n" << kUsage;
    return 2;
  } catch (const config::ConfigError& e) {
    std::cerr << "leadctl: " << e.what() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "leadctl: " << e.what() << "\n\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "leadctl " << cmd << ": " << e.what() << "\n";
    return 1;
  }
}
