-- contact-extractor: per-tenant configuration, LLM budget counters, slot prompts.

-- One row per tenant that differs from the defaults (region ID, no program
-- vocabulary, default keyword lists, LLM off, prompting off, 6 h state TTL).
-- `settings` is the JSON document `leadctl extractor config set` writes
-- (services/contact-extractor/README.md, "Per-tenant configuration").
CREATE TABLE extraction.tenant_settings (
  tenant     text PRIMARY KEY,
  settings   jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- LLM calls per tenant and UTC day (the per-tenant daily budget).
CREATE TABLE extraction.llm_usage (
  tenant text NOT NULL,
  day    date NOT NULL,
  calls  integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, day)
);

-- Slot prompts sent (outreach.requested purpose slot_prompt): at most one per
-- slot per conversation within the tenant's state TTL.
CREATE TABLE extraction.slot_prompts (
  tenant      text NOT NULL,
  channel     text NOT NULL,
  external_id text NOT NULL,
  slot        text NOT NULL,
  prompted_at timestamptz NOT NULL DEFAULT now(),
  request_id  text NOT NULL,
  PRIMARY KEY (tenant, channel, external_id, slot)
);
