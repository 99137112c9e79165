// contact-extractor end to end through Kafka: produces N ingest.whatsapp.inbound
// events onto a unique topic prefix, starts the real service binary on a fresh
// database of the test PostgreSQL, and measures events/s until N
// contact.extracted events are on the output topic.
//
//   extractor-e2e-bench [N=5000] [CONVERSATIONS=N/4]
//   env: EXTRACTOR_BIN (default: next to this binary), LEADPIPE_TEST_PG_URL / LEADPIPE_TEST_KAFKA
// Needs deploy/local/test-infra.sh start.
#include <utility>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/kafka/kafka.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/testing/infra.hpp>

using namespace leadpipe;
using Clock = std::chrono::steady_clock;

namespace {

const char* const kTexts[] = {
    "halo kak, mau tanya biaya kuliah S1 manajemen",
    "nama saya Budi Santoso, WA 0812-3456-7890",
    "my name is Priya Sharma, email priya.sharma at gmail dot com",
    "meu nome é Ana Paula e meu celular é 0812 9988 7766",
    "oke kak terima kasih, saya mau daftar minggu ini",
    "Rina",
    "berapa harga formulirnya? Rp 350.000 ya?",
    "ini email sy: dewi.lestari@yahoo.co.id",
    "I'm interested in the nursing program, can I visit tomorrow?",
    "myself Rahul Verma, call me on +91 98450 62719",
};

std::string rfc3339_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o.push_back('\\');
    o.push_back(c);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  log::init("extractor-e2e-bench", log::Level::warn);
  const long n = argc > 1 ? std::stol(argv[1]) : 5000;
  const long conversations = argc > 2 ? std::stol(argv[2]) : std::max(1L, n / 4);
  const char* env_bin = std::getenv("EXTRACTOR_BIN");
  const std::string bin = env_bin ? env_bin
                                  : (std::filesystem::canonical("/proc/self/exe").parent_path().parent_path() /
                                     "bin" / "contact-extractor")
                                        .string();
  if (!std::filesystem::exists(bin)) {
    std::cerr << "contact-extractor binary not found at " << bin << " (set EXTRACTOR_BIN)\n";
    return 2;
  }

  const std::string db = testing::create_database("bench");
  const std::string prefix = testing::unique_name("bench") + ".";
  kafka::ClientConfig client{.brokers = testing::kafka_brokers(), .client_id = "extractor-bench", .topic_prefix = prefix};
  std::vector<std::string> topics;
  for (auto t : {events::topics::ingest_whatsapp_inbound, events::topics::outreach_sent,
                 events::topics::ingest_call_completed, events::topics::contact_extracted,
                 events::topics::outreach_requested}) {
    topics.emplace_back(t);
    topics.push_back(std::string(t) + ".dlq");
  }
  kafka::create_topics(client, topics, 1);

  // 1. The backlog: N inbound events over `conversations` senders.
  const auto t_produce = Clock::now();
  {
    kafka::Producer producer({.client = client}, log::root());
    std::vector<kafka::Message> batch;
    for (long i = 0; i < n; ++i) {
      const std::string wa = "62811" + std::to_string(1000000 + i % conversations);
      const std::string wamid = "wamid.bench." + std::to_string(i);
      const std::string data = R"({"channel":"whatsapp","phone_number_id":"109876543210987","wa_id":")" + wa +
                               R"(","message_id":")" + wamid + R"(","timestamp":")" + rfc3339_now() +
                               R"(","type":"text","text":")" + json_escape(kTexts[i % std::size(kTexts)]) + R"("})";
      auto ev = events::make(std::string(events::topics::ingest_whatsapp_inbound), "/bench", "bench", wa, data);
      batch.push_back({std::string(events::topics::ingest_whatsapp_inbound), "bench:" + wa, events::to_json(ev), {}});
      if (batch.size() == 1000 || i + 1 == n) {
        for (const auto& r : producer.send_all_sync(std::move(batch))) {
          if (!r.ok) {
            std::cerr << "produce failed: " << r.error << "\n";
            return 1;
          }
        }
        batch.clear();
      }
    }
  }
  const double produce_s = std::chrono::duration<double>(Clock::now() - t_produce).count();

  // 2. The service, on the backlog.
  const std::string log_path = "/tmp/" + prefix + "contact-extractor.log";
  std::vector<std::string> env_s = {"KAFKA_BROKERS=" + testing::kafka_brokers(), "KAFKA_TOPIC_PREFIX=" + prefix,
                                    "EXTRACTOR_PG_URL=" + db, "EXTRACTOR_PORT=0", "LOG_LEVEL=warn",
                                    "LEADPIPE_CONFIG_FILE=", "EXTRACTOR_PG_POOL_SIZE=2"};
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = bin;
  char* args[] = {arg0.data(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  const auto t_start = Clock::now();
  if (posix_spawn(&pid, bin.c_str(), &fa, nullptr, args, envp.data()) != 0) {
    std::cerr << "cannot start " << bin << "\n";
    return 1;
  }
  posix_spawn_file_actions_destroy(&fa);

  // 3. Count contact.extracted.
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", testing::kafka_brokers(), err);
  conf->set("group.id", testing::unique_name("bench_reader"), err);
  conf->set("enable.auto.commit", "false", err);
  conf->set("log_level", "3", err);
  std::unique_ptr<RdKafka::KafkaConsumer> reader(RdKafka::KafkaConsumer::create(conf.get(), err));
  std::vector<RdKafka::TopicPartition*> parts{
      RdKafka::TopicPartition::create(prefix + std::string(events::topics::contact_extracted), 0,
                                      RdKafka::Topic::OFFSET_BEGINNING)};
  reader->assign(parts);
  long seen = 0;
  Clock::time_point first{}, last{};
  const auto deadline = Clock::now() + std::chrono::seconds(60 + n / 50);
  while (seen < n && Clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(reader->consume(200));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    last = Clock::now();
    if (seen++ == 0) first = last;
  }
  reader->close();
  RdKafka::TopicPartition::destroy(parts);
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  const double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

  if (seen < n) {
    std::cerr << "only " << seen << " of " << n << " contact.extracted seen (log: " << log_path << ")\n";
    return 1;
  }
  const double total_s = std::chrono::duration<double>(last - t_start).count();
  const double steady_s = std::chrono::duration<double>(last - first).count();
  std::printf(
      "extractor end-to-end (Kafka + PostgreSQL, 1 partition, pool 2): %ld inbound events in %ld conversations -> "
      "%ld contact.extracted; produce %.2fs; from process start %.2fs = %.0f events/s; steady (first to last output) "
      "%.2fs = %.0f events/s; service CPU %.2fs = %.0f events per CPU-second\n",
      n, conversations, seen, produce_s, total_s, n / total_s, steady_s, (n - 1) / std::max(steady_s, 1e-9), cpu,
      n / std::max(cpu, 1e-9));
  std::filesystem::remove(log_path);
  return 0;
}
