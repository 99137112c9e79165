#pragma once
// Umbrella header: CloudEvents envelope, ids, schemas and topic names.
#include "leadpipe/events/cloud_event.hpp"
#include "leadpipe/events/schema.hpp"
#include "leadpipe/events/topics.hpp"
