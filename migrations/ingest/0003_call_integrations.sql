-- Telephony / voice-AI integrations that post finished calls to
-- POST /webhooks/calls. Each signs its requests with its own secret
-- (HMAC-SHA256 over "<timestamp>.<body>"), so the secret itself must be kept
-- to verify signatures: it lives only here (the ingest_gateway role's schema),
-- is printed once by `leadctl calls integration create`, and is never logged.
CREATE TABLE call_integrations (
  integration_id text PRIMARY KEY CHECK (integration_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  tenant         text NOT NULL,
  provider       text,
  secret         text NOT NULL CHECK (length(secret) >= 32),
  created_at     timestamptz NOT NULL DEFAULT now(),
  revoked_at     timestamptz
);
CREATE INDEX call_integrations_tenant ON call_integrations (tenant);
