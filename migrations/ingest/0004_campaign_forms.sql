-- Website campaign forms with WhatsApp OTP: only what the channel needs to
-- work (who may call from which origin, pending codes, rate-limit windows,
-- verified phones, and how far each prospect got per campaign so an
-- application never downgrades). Times are written by the gateway from its
-- (injectable) clock, never by now(), so TTL logic is testable without sleeping.

-- A tenant's website: CORS origins allowed to call the public form API, and
-- the WhatsApp template outreach uses for OTPs (NULL: the gateway's default).
CREATE TABLE campaign_sites (
  tenant          text PRIMARY KEY,
  allowed_origins text[] NOT NULL DEFAULT '{}',
  otp_template    text,
  otp_language    text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- At most one pending code per tenant, campaign and phone; only an HMAC of it.
CREATE TABLE otp_codes (
  tenant     text NOT NULL,
  campaign   text NOT NULL,
  phone      text NOT NULL,
  code_hash  text NOT NULL,
  sent_at    timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  attempts   int NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, campaign, phone)
);

-- Sends, for the resend cooldown and the per-phone / per-IP windows. Rows
-- older than the window are pruned whenever a subject sends again.
CREATE TABLE otp_sends (
  id      bigserial PRIMARY KEY,
  tenant  text NOT NULL,
  scope   text NOT NULL CHECK (scope IN ('phone', 'ip')),
  subject text NOT NULL,
  sent_at timestamptz NOT NULL
);
CREATE INDEX otp_sends_subject ON otp_sends (tenant, scope, subject, sent_at);

-- Phones verified for a campaign (send-otp short-circuits while valid).
CREATE TABLE otp_verified (
  tenant      text NOT NULL,
  campaign    text NOT NULL,
  phone       text NOT NULL,
  verified_at timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, campaign, phone)
);

-- How far a prospect got per campaign: flags only ever go from false to true.
-- The hashes identify the last content of each form (idempotent re-submits).
CREATE TABLE campaign_forms (
  tenant           text NOT NULL,
  campaign         text NOT NULL,
  phone            text NOT NULL,
  did_interest     boolean NOT NULL DEFAULT false,
  did_application  boolean NOT NULL DEFAULT false,
  interest_hash    text,
  application_hash text,
  updated_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant, campaign, phone)
);
