// Creates every topic of a catalogue file (deploy/local/topics.txt) in one
// JVM with Kafka's AdminClient, idempotently: existing topics are kept, and
// grown when the catalogue asks for more partitions than they have.
//
// Run with the JDK's source launcher and the broker jars (deploy/local/topics.sh):
//   java -cp '.local/kafka/libs/*' deploy/local/kafka/CreateTopics.java \
//        --bootstrap-server 127.0.0.1:59092 --file deploy/local/topics.txt \
//        [--replication-factor 1] [--prefix PREFIX]
// PREFIX (KAFKA_TOPIC_PREFIX of the services) is prepended to every name.
//
// Exit status: 0 all topics present with at least the catalogue's partition
// count, 1 on any failure, 2 on bad usage.

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.TopicExistsException;

public class CreateTopics {
  record Catalogue(int partitions, Set<String> topics) {}

  static Catalogue parse(Path file, String prefix) throws IOException {
    int partitions = -1;
    Set<String> topics = new LinkedHashSet<>();
    int lineNo = 0;
    for (String raw : Files.readAllLines(file)) {
      ++lineNo;
      String line = raw.strip();
      int hash = line.indexOf('#');
      if (hash >= 0) line = line.substring(0, hash).strip();
      if (line.isEmpty()) continue;
      if (line.startsWith("PARTITIONS=")) {
        try {
          partitions = Integer.parseInt(line.substring("PARTITIONS=".length()).strip());
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(file + ":" + lineNo + ": PARTITIONS must be a number");
        }
        if (partitions < 1) throw new IllegalArgumentException(file + ":" + lineNo + ": PARTITIONS must be >= 1");
        continue;
      }
      // Kafka's own rule: [a-zA-Z0-9._-], at most 249 characters.
      String name = prefix + line;
      if (!name.matches("[A-Za-z0-9._-]{1,249}")) {
        throw new IllegalArgumentException(file + ":" + lineNo + ": invalid topic name '" + name + "'");
      }
      topics.add(name);
    }
    if (partitions < 0) throw new IllegalArgumentException(file + ": no PARTITIONS= line");
    return new Catalogue(partitions, topics);
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = null;
    Path file = null;
    short replication = 1;
    String prefix = "";
    for (int i = 0; i < args.length; ++i) {
      String a = args[i];
      if (i + 1 >= args.length) usage("missing value for " + a);
      switch (a) {
        case "--bootstrap-server" -> bootstrap = args[++i];
        case "--file" -> file = Path.of(args[++i]);
        case "--replication-factor" -> replication = Short.parseShort(args[++i]);
        case "--prefix" -> prefix = args[++i];
        default -> usage("unknown argument " + a);
      }
    }
    if (bootstrap == null || file == null) usage("--bootstrap-server and --file are required");

    Catalogue cat;
    try {
      cat = parse(file, prefix);
    } catch (IllegalArgumentException | IOException e) {
      System.err.println("CreateTopics: " + e.getMessage());
      System.exit(1);
      return;
    }

    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "leadpipe-create-topics");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
    int failures = 0;
    int created = 0;
    int grown = 0;
    try (Admin admin = Admin.create(props)) {
      List<NewTopic> wanted = new ArrayList<>();
      for (String t : cat.topics()) wanted.add(new NewTopic(t, cat.partitions(), replication));
      Map<String, KafkaFuture<Void>> results = admin.createTopics(wanted).values();
      List<String> existing = new ArrayList<>();
      for (var e : results.entrySet()) {
        try {
          e.getValue().get(60, TimeUnit.SECONDS);
          ++created;
        } catch (ExecutionException ex) {
          if (ex.getCause() instanceof TopicExistsException) {
            existing.add(e.getKey());
          } else {
            System.err.println("CreateTopics: " + e.getKey() + ": " + ex.getCause());
            ++failures;
          }
        }
      }
      // Existing topics: grow them if the catalogue's count went up.
      if (!existing.isEmpty()) {
        Map<String, TopicDescription> described =
            admin.describeTopics(existing).allTopicNames().get(60, TimeUnit.SECONDS);
        Map<String, NewPartitions> grow = new HashMap<>();
        for (var d : described.values()) {
          int have = d.partitions().size();
          if (have < cat.partitions()) {
            grow.put(d.name(), NewPartitions.increaseTo(cat.partitions()));
          } else if (have > cat.partitions()) {
            System.err.println("CreateTopics: note: " + d.name() + " has " + have
                + " partitions, more than the catalogue's " + cat.partitions() + " (Kafka cannot shrink)");
          }
        }
        if (!grow.isEmpty()) {
          for (var e : admin.createPartitions(grow).values().entrySet()) {
            try {
              e.getValue().get(60, TimeUnit.SECONDS);
              ++grown;
            } catch (ExecutionException ex) {
              System.err.println("CreateTopics: " + e.getKey() + ": " + ex.getCause());
              ++failures;
            }
          }
        }
      }
    }
    System.out.printf("topics: %d in catalogue, %d created, %d grown to %d partitions, %d failed%n",
        cat.topics().size(), created, grown, cat.partitions(), failures);
    System.exit(failures == 0 ? 0 : 1);
  }

  static void usage(String why) {
    System.err.println("CreateTopics: " + why);
    System.err.println("usage: CreateTopics --bootstrap-server HOST:PORT --file topics.txt [--replication-factor N] [--prefix P]");
    System.exit(2);
  }
}
