#include "stack.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <librdkafka/rdkafkacpp.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <leadpipe/auth/crypto.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/kafka/kafka.hpp>
#include <leadpipe/testing/infra.hpp>

extern char** environ;

namespace leadpipe::e2e {
namespace {

const std::string kAppSecret = "e2e-app-secret-0123456789abcdef";
const std::string kJwtSecret = "e2e-jwt-secret-0123456789abcdef0123456789";

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::string bin(const std::string& name) { return std::string(LEADPIPE_BIN_DIR) + "/" + name; }

std::vector<std::string> env_block(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    if (auto eq = kv.find('='); eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) all[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

pid_t spawn(const std::string& path, const std::vector<std::string>& args,
            const std::map<std::string, std::string>& env, const std::string& out_path,
            const std::string& err_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<std::string> argv_s{path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto envs = env_block(env);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, path.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + path);
  return pid;
}

std::unique_ptr<RdKafka::KafkaConsumer> reader(const std::string& brokers) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", brokers, err);
  conf->set("group.id", testing::unique_name("e2e_reader"), err);
  conf->set("enable.auto.commit", "false", err);
  conf->set("enable.partition.eof", "true", err);
  conf->set("log_level", "3", err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c) throw std::runtime_error("kafka reader: " + err);
  return c;
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string sample(const std::string& relative) {
  const auto path = testing::source_dir() + "/../shared/samples/" + relative;
  REQUIRE(std::filesystem::exists(path));
  return read_file(path);
}

Stack::Stack(std::map<std::string, std::string> extra_env) {
  db_url_ = testing::create_database("e2e");
  prefix_ = testing::unique_name("e2e") + ".";
  ingest_port_ = free_port();
  leads_port_ = free_port();
  extractor_port_ = free_port();
  log_dir_ = std::string(LEADPIPE_BIN_DIR) + "/../e2e-logs/" + prefix_;
  std::filesystem::create_directories(log_dir_);
  env_ = {
      {"KAFKA_BROKERS", testing::kafka_brokers()},
      {"KAFKA_TOPIC_PREFIX", prefix_},
      {"INGEST_PG_URL", db_url_},
      {"EXTRACTOR_PG_URL", db_url_},
      {"LEADSTORE_PG_URL", db_url_},
      {"INGEST_PORT", std::to_string(ingest_port_)},
      {"LEADSTORE_PORT", std::to_string(leads_port_)},
      {"EXTRACTOR_PORT", std::to_string(extractor_port_)},
      {"WHATSAPP_APP_SECRET", kAppSecret},
      {"WHATSAPP_VERIFY_TOKEN", "e2e-verify-token"},
      {"JWT_SECRET", kJwtSecret},
      {"LOG_LEVEL", "info"},
      {"LEADPIPE_CONFIG_FILE", ""},
  };
  for (auto& [k, v] : extra_env) env_[k] = std::move(v);
  std::vector<std::string> topics;
  // Every topic of the catalogue (and its dead-letter topic), so no producer
  // in the stack ever waits on a topic that does not exist.
  for (const auto t : events::topics::all) {
    topics.emplace_back(t);
    topics.push_back(std::string(t) + ".dlq");
  }
  kafka::ClientConfig client;
  client.brokers = testing::kafka_brokers();
  client.topic_prefix = prefix_;
  client.client_id = "e2e";
  kafka::create_topics(client, topics, 1);

  // A throwing constructor runs no destructor: stop what already started,
  // or a failed start leaves orphan services holding ports and consumers.
  try {
    for (const char* name : {"ingest-gateway", "contact-extractor", "lead-store"}) start(name);
    leadctl({"whatsapp", "map", "--phone-number-id", "109876543210987", "--tenant", "demo"});
  } catch (...) {
    stop_all();
    throw;
  }
}

Stack::~Stack() { stop_all(); }

void Stack::stop_all() {
  for (auto& [name, p] : procs_) {
    if (p.pid > 0) ::kill(p.pid, SIGTERM);
  }
  for (auto& [name, p] : procs_) {
    if (p.pid <= 0) continue;
    int status = 0;
    ::waitpid(p.pid, &status, 0);
    p.pid = -1;
  }
}

void Stack::start(const std::string& name) {
  Process p;
  p.name = name;
  p.log_path = log_dir_ + "/" + name + ".log";
  p.pid = spawn(bin(name), {}, env_, p.log_path + ".out", p.log_path);
  procs_[name] = p;
  const int port = name == "ingest-gateway" ? ingest_port_ : name == "lead-store" ? leads_port_ : extractor_port_;
  wait_ready(name, port);
}

void Stack::stop(const std::string& name) {
  auto it = procs_.find(name);
  if (it == procs_.end() || it->second.pid <= 0) return;
  ::kill(it->second.pid, SIGTERM);
  int status = 0;
  ::waitpid(it->second.pid, &status, 0);
  it->second.pid = -1;
}

std::string Stack::log_tail(const std::string& name, std::size_t bytes) const {
  auto it = procs_.find(name);
  if (it == procs_.end()) return {};
  auto text = read_file(it->second.log_path);
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

void Stack::wait_ready(const std::string& name, int port) {
  const bool ready = testing::wait_until(
      [&] {
        try {
          return httpclient::request("GET", "http://127.0.0.1:" + std::to_string(port) + "/readyz", {}, {},
                                     std::chrono::milliseconds(500))
                     .status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      std::chrono::seconds(30));
  INFO(name << " log:\n" << log_tail(name));
  REQUIRE(ready);
}

std::string Stack::leadctl(const std::vector<std::string>& args) const {
  const auto out = log_dir_ + "/leadctl.out";
  const pid_t pid = spawn(bin("leadctl"), args, env_, out, log_dir_ + "/leadctl.err");
  int status = 0;
  ::waitpid(pid, &status, 0);
  INFO("leadctl stderr: " << read_file(log_dir_ + "/leadctl.err"));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return read_file(out);
}

std::string Stack::token(const std::string& tenant, const std::string& role) const {
  auto t = leadctl({"token", "--tenant", tenant, "--role", role});
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

std::vector<std::string> Stack::read_topic(const std::string& topic, std::chrono::milliseconds settle) const {
  auto c = reader(testing::kafka_brokers());
  std::vector<RdKafka::TopicPartition*> parts{
      RdKafka::TopicPartition::create(prefix_ + topic, 0, RdKafka::Topic::OFFSET_BEGINNING)};
  c->assign(parts);
  std::vector<std::string> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool eof = false;
  while (!eof && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(c->consume(static_cast<int>(settle.count())));
    if (m->err() == RdKafka::ERR_NO_ERROR) {
      out.emplace_back(static_cast<const char*>(m->payload()), m->len());
    } else if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      eof = true;
    }
  }
  c->close();
  RdKafka::TopicPartition::destroy(parts);
  return out;
}

long long Stack::topic_size(const std::string& topic) const {
  auto c = reader(testing::kafka_brokers());
  int64_t lo = 0;
  int64_t hi = 0;
  const auto err = c->query_watermark_offsets(prefix_ + topic, 0, &lo, &hi, 5000);
  c->close();
  REQUIRE(err == RdKafka::ERR_NO_ERROR);
  return hi;
}

httpclient::ClientResponse Stack::post_whatsapp(const std::string& body, bool sign) const {
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
  if (sign) headers.emplace_back("X-Hub-Signature-256", "sha256=" + auth::hmac_sha256_hex(kAppSecret, body));
  return httpclient::request("POST", ingest_url() + "/webhooks/whatsapp", headers, body);
}

double scrape_metric(const std::string& base_url, const std::string& series) {
  auto r = httpclient::request("GET", base_url + "/metrics");
  REQUIRE(r.status == 200);
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

}  // namespace leadpipe::e2e
