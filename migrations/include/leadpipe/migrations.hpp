#pragma once
// Migrations of every schema, compiled in (migrations/<schema>/NNNN_*.sql).
#include <leadpipe/embedded.hpp>

LEADPIPE_DECLARE_EMBEDDED(ingest_migrations)
LEADPIPE_DECLARE_EMBEDDED(extraction_migrations)
LEADPIPE_DECLARE_EMBEDDED(leads_migrations)
