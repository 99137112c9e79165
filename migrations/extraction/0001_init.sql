-- contact-extractor: per-conversation slot-filling state, processed ids, outbox.

-- One row per (tenant, channel, user): what has been captured, what is awaited.
CREATE TABLE conversations (
  tenant      text NOT NULL,
  channel     text NOT NULL,
  external_id text NOT NULL,
  state       jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, channel, external_id)
);

-- Idempotent consumer: event ids recorded in the same transaction as the effect.
CREATE TABLE processed_events (
  consumer     text NOT NULL,
  event_id     text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

-- Transactional outbox (libs/outbox): contact.extracted is written here in the
-- same transaction as the state change, and the relay publishes it.
CREATE TABLE outbox (
  id           bigserial PRIMARY KEY,
  topic        text NOT NULL,
  key          text NOT NULL,
  payload      text NOT NULL,
  headers      jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
