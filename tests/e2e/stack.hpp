#pragma once
// A whole Leadpipe stack for one end-to-end test: a fresh database on the
// test PostgreSQL, a unique topic prefix on the test Kafka, and the real
// service binaries from build/bin started as child processes on free ports.
// Each Stack is isolated from every other by those names, so tests need no
// ordering and leave a developer's dev stack alone.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <leadpipe/httpclient/client.hpp>

namespace leadpipe::e2e {

struct Process {
  std::string name;
  pid_t pid = -1;
  std::string log_path;
};

class Stack {
 public:
  // Starts ingest-gateway, contact-extractor and lead-store; waits for /readyz.
  // `extra_env` is added to (and overrides) every service's environment.
  explicit Stack(std::map<std::string, std::string> extra_env = {});
  ~Stack();  // SIGTERM, wait; prints log tails if a test failed

  std::string ingest_url() const { return "http://127.0.0.1:" + std::to_string(ingest_port_); }
  std::string leads_url() const { return "http://127.0.0.1:" + std::to_string(leads_port_); }
  const std::string& db_url() const { return db_url_; }
  const std::string& prefix() const { return prefix_; }
  const std::map<std::string, std::string>& env() const { return env_; }

  // Runs build/bin/leadctl with the stack's environment; returns stdout.
  std::string leadctl(const std::vector<std::string>& args) const;
  std::string token(const std::string& tenant, const std::string& role) const;

  // All values on a topic (unprefixed name) from the beginning.
  std::vector<std::string> read_topic(const std::string& topic,
                                      std::chrono::milliseconds settle = std::chrono::milliseconds(300)) const;
  // Messages ever written to a topic (high watermark of its one partition).
  long long topic_size(const std::string& topic) const;

  // POSTs a WhatsApp webhook body signed with the stack's app secret.
  httpclient::ClientResponse post_whatsapp(const std::string& body, bool sign = true) const;

  void stop(const std::string& name);
  void start(const std::string& name);
  std::string log_tail(const std::string& name, std::size_t bytes = 4000) const;

 private:
  void wait_ready(const std::string& name, int port);
  void stop_all();  // SIGTERM every running service and reap it

  std::string db_url_;
  std::string prefix_;
  int ingest_port_ = 0;
  int leads_port_ = 0;
  int extractor_port_ = 0;
  std::map<std::string, std::string> env_;
  std::map<std::string, Process> procs_;
  std::string log_dir_;
};

std::string read_file(const std::string& path);
std::string sample(const std::string& relative);  // under ../shared/samples
// The value of `series` (name{labels} as exposed) in the /metrics of the
// service at base_url (e.g. stack.leads_url()); 0 when absent.
double scrape_metric(const std::string& base_url, const std::string& series);

}  // namespace leadpipe::e2e
