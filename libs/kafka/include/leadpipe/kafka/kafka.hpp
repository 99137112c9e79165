#pragma once
// Umbrella header of the Kafka library.
#include "leadpipe/kafka/admin.hpp"
#include "leadpipe/kafka/client.hpp"
#include "leadpipe/kafka/consumer.hpp"
#include "leadpipe/kafka/producer.hpp"
