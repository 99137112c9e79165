-- lead-store: the system of record for leads.

CREATE TABLE leads (
  id               uuid PRIMARY KEY,
  tenant           text NOT NULL,
  name             text,
  phone            text,            -- E.164, the cross-source identity key
  email            text,            -- trimmed, lower-case
  program          text,
  stage            text NOT NULL,
  source           text NOT NULL,   -- first source: whatsapp, vendor, campaign, csv, manual, call
  channel          text,
  score            integer,
  tier             text,
  score_reasons    jsonb NOT NULL DEFAULT '[]',
  intents          jsonb NOT NULL DEFAULT '[]',
  capture_confidence jsonb NOT NULL DEFAULT '{}',  -- field → confidence of its current value
  assigned_to      text,
  version          integer NOT NULL DEFAULT 1,
  stage_changed_at timestamptz NOT NULL DEFAULT now(),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz
);
-- One lead per person: the phone is unique per tenant among live leads.
CREATE UNIQUE INDEX leads_tenant_phone ON leads (tenant, phone)
  WHERE phone IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX leads_tenant_email ON leads (tenant, email) WHERE email IS NOT NULL;
-- Keyset pagination for the board: newest first.
CREATE INDEX leads_tenant_created ON leads (tenant, created_at DESC, id DESC);

-- (tenant, channel, external user id) → lead; every source a lead came from.
CREATE TABLE lead_identities (
  tenant      text NOT NULL,
  channel     text NOT NULL,
  external_id text NOT NULL,
  lead_id     uuid NOT NULL REFERENCES leads (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, channel, external_id)
);
CREATE INDEX lead_identities_lead ON lead_identities (lead_id);

-- Capture metadata: when each field was detected, from which message and layer.
CREATE TABLE lead_captures (
  id              bigserial PRIMARY KEY,
  lead_id         uuid NOT NULL REFERENCES leads (id),
  field           text NOT NULL,
  value           text NOT NULL,
  source_event_id text NOT NULL,
  message_id      text,
  layer           text NOT NULL,
  confidence      double precision NOT NULL,
  detected_at     timestamptz NOT NULL,
  applied         boolean NOT NULL,   -- whether it became the lead's current value
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_captures_lead ON lead_captures (lead_id, id);

-- Timeline: every touch on a lead, in order.
CREATE TABLE lead_activities (
  id         bigserial PRIMARY KEY,
  lead_id    uuid NOT NULL REFERENCES leads (id),
  kind       text NOT NULL,
  actor      text NOT NULL,
  payload    jsonb NOT NULL DEFAULT '{}',
  event_id   text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_activities_lead ON lead_activities (lead_id, id);

CREATE TABLE processed_events (
  consumer     text NOT NULL,
  event_id     text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

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
